// Power cuts under the MQTT bridge's own files and the outbox cursors: a cut before each step of
// their durable writes (create the temp file, write, fsync, rename, fsync the directory) must leave
// a file that parses and holds the old content or the new, and a restart must go on from there:
// the session number never goes back, no remembered command result is lost, no cursor moves back
// behind a position it made durable.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { CommandMemory } from '../bridge/commands/memory.ts';
import type { CommandResult } from '../bridge/contract/types.ts';
import { SessionCounter } from '../bridge/uplink/session.ts';
import { isDurableTemp, removeLeftovers, type StoreFs } from '../device/store/fs.ts';
import { openDurable } from './helpers/durable.ts';
import { LossyFs } from './helpers/lossy-fs.ts';
import { Clock, testConfig } from './helpers/office.ts';
import { CutFs, cutModels } from './support/cut-fs.ts';

const DIR = '/data';
const logger = pino({ level: 'silent' });

async function freshDisk(rand: () => number): Promise<LossyFs> {
  const disk = new LossyFs(rand);
  await disk.mkdirp(DIR);
  return disk;
}

/** Runs `work` with the power cut before its step `cutAt`, or after its last step when it has
 * fewer. Returns whether the cut came while it ran. */
async function cutDuring(disk: LossyFs, cutAt: number, work: (fs: CutFs) => Promise<void>): Promise<boolean> {
  const fs = new CutFs(disk, cutAt, { armed: false });
  await work(fs).catch((err: unknown) => {
    if (!fs.cut) throw err;
  });
  if (!fs.cut) disk.crash();
  return fs.cut;
}

/** Tries a cut at every step of a piece of work until one comes after its end: the step count. */
async function everyCut(run: (cutAt: number) => Promise<boolean>): Promise<number> {
  for (let cutAt = 1; cutAt <= 1000; cutAt++) if (!(await run(cutAt))) return cutAt - 1;
  throw new Error('the work never finishes');
}

/** What start-up does before anything reads: remove what the interrupted write left. */
async function restartCleanup(disk: LossyFs, dir: string): Promise<void> {
  const removed = await removeLeftovers(disk, [dir]);
  expect(removed.files).toBeLessThanOrEqual(1);
  expect((await disk.list(dir)).filter(isDurableTemp)).toEqual([]);
}

describe('power cuts under the session number', () => {
  for (const model of cutModels()) {
    it(`never goes back, and its file always parses (${model.name})`, async () => {
      const file = `${DIR}/mqtt-session.json`;
      const steps = await everyCut(async (cutAt) => {
        const disk = await freshDisk(model.rand);
        const before = new SessionCounter({ dir: DIR, fs: disk });
        await before.load();
        for (let i = 0; i < 4; i++) await before.next();
        let acked = 4;
        const cut = await cutDuring(disk, cutAt, async (fs) => {
          const c = new SessionCounter({ dir: DIR, fs });
          await c.load();
          fs.arm();
          for (let i = 0; i < 3; i++) acked = await c.next();
        });
        const on = (JSON.parse((await disk.readFile(file))!.toString('utf8')) as { session: number }).session;
        // the last number handed out, or the one whose write the cut interrupted
        expect([acked, acked + 1], `cut at step ${cutAt}`).toContain(on);

        await restartCleanup(disk, DIR);
        const after = new SessionCounter({ dir: DIR, fs: disk });
        await after.load();
        expect(after.current()).toBeGreaterThanOrEqual(acked);
        expect(await after.next()).toBeGreaterThan(acked);
        return cut;
      });
      // 3 writes of 5 steps: create, write, fsync, rename, fsync of the directory
      expect(steps).toBe(15);
    });
  }
});

describe('power cuts under the command memory', () => {
  const result = (id: string): CommandResult => ({ v: 1, id, ok: true, result: { seq: id.charCodeAt(0) } });
  const file = `${DIR}/mqtt-commands.json`;
  const memory = (fs: StoreFs) => new CommandMemory({ path: file, limit: 3, logger, fs });
  const onDisk = async (disk: LossyFs) =>
    (JSON.parse((await disk.readFile(file))!.toString('utf8')) as { entries: Array<[string, unknown]> }).entries.map(
      ([id]) => id,
    );

  for (const model of cutModels()) {
    it(`holds the old set or the new, and loses no result it acknowledged (${model.name})`, async () => {
      // the sets the file goes through: [a b], then c, d, e remembered one after the other (limit 3)
      const sets = [
        ['a', 'b'],
        ['a', 'b', 'c'],
        ['b', 'c', 'd'],
        ['c', 'd', 'e'],
      ];
      const steps = await everyCut(async (cutAt) => {
        const disk = await freshDisk(model.rand);
        const before = memory(disk);
        await before.load();
        for (const id of ['a', 'b']) await before.remember(id, result(id), 'd');
        let acked = 0;
        const cut = await cutDuring(disk, cutAt, async (fs) => {
          const m = memory(fs);
          await m.load();
          fs.arm();
          for (const id of ['c', 'd', 'e']) {
            await m.remember(id, result(id), 'd');
            acked++;
          }
        });
        expect([sets[acked], sets[acked + 1] ?? sets[acked]], `cut at step ${cutAt}`).toContainEqual(
          await onDisk(disk),
        );

        await restartCleanup(disk, DIR);
        const after = memory(disk);
        await after.load();
        for (const id of ['c', 'd', 'e'].slice(0, acked))
          expect(after.get(id)?.result, `${id}, cut at step ${cutAt}`).toEqual(result(id));
        return cut;
      });
      expect(steps).toBe(15);
    });
  }

  it('remembers concurrent results together and loses none it acknowledged, wherever the cut', async () => {
    for (const model of cutModels()) {
      await everyCut(async (cutAt) => {
        const disk = await freshDisk(model.rand);
        const acked: string[] = [];
        const cut = await cutDuring(disk, cutAt, async (fs) => {
          const m = memory(fs);
          await m.load();
          fs.arm();
          await Promise.all(['a', 'b', 'c'].map((id) => m.remember(id, result(id), 'd').then(() => acked.push(id))));
        });
        const text = (await disk.readFile(file))?.toString('utf8');
        if (text !== undefined) JSON.parse(text);
        await restartCleanup(disk, DIR);
        const after = memory(disk);
        await after.load();
        for (const id of acked) expect(after.get(id), `${id}, cut at step ${cutAt}`).toBeDefined();
        return cut;
      });
    }
  });
});

describe('power cuts under an outbox cursor', () => {
  for (const model of cutModels()) {
    it(`never moves back behind a position it made durable, and its file parses (${model.name})`, async () => {
      const config = testConfig();
      const clock = new Clock();
      const cursorFile = `${DIR}/state/outbox/cursor-uplink.json`;
      const steps = await everyCut(async (cutAt) => {
        const disk = await freshDisk(model.rand);
        const first = await openDurable({ config, dir: DIR, fs: disk, clock });
        const c0 = first.store.outbox.cursor('uplink');
        await first.execute({ type: 'day.open' });
        for (let i = 0; i < 30; i++)
          await first.execute({ type: 'ticket.issue', service: 'resident', channel: 'kiosk' });
        await c0.flush();
        await first.store.release();
        const last = first.engine.state.seq;
        const positions = [10, 20, last];

        let acked = 0;
        const cut = await cutDuring(disk, cutAt, async (fs) => {
          const q = await openDurable({ config, dir: DIR, fs, clock });
          const cursor = q.store.outbox.cursor('uplink');
          fs.arm();
          for (const seq of positions) {
            cursor.ack(seq);
            await cursor.flush();
            acked = seq;
          }
        });
        const data = JSON.parse((await disk.readFile(cursorFile))!.toString('utf8')) as { acked: number };
        const next = positions.find((p) => p > acked) ?? acked;
        expect([acked, next], `cut at step ${cutAt}`).toContain(data.acked);

        await restartCleanup(disk, `${DIR}/state/outbox`);
        const again = await openDurable({ config, dir: DIR, fs: disk, clock });
        const cursor = again.store.outbox.cursor('uplink');
        expect(cursor.acked()).toBeGreaterThanOrEqual(acked);
        // and it goes on: the events after its position are still there to publish
        const rest = await cursor.read(cursor.acked(), 100);
        expect(rest.map((e) => e.seq)).toEqual(rest.map((_, i) => cursor.acked() + 1 + i));
        expect(cursor.acked() + rest.length).toBe(last);
        await again.store.close();
        return cut;
      });
      expect(steps).toBe(15);
    });
  }
});
