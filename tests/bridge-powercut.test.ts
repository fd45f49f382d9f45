// Power cuts under the MQTT bridge's own files, a command's path and the outbox cursors: a cut
// before each step of their durable writes (create the temp file, write, fsync, rename, fsync the
// directory, an append) must leave files that parse, and a restart must go on from there: the
// session number never goes back, every command acknowledged before the cut gets its first answer
// again and no command gets a second ticket, no cursor moves back behind a position it made durable.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { CommandResult } from '../bridge/contract/types.ts';
import { readSessionSlots, SESSION_BLOCK, SessionCounter } from '../bridge/uplink/session.ts';
import { isDurableTemp, removeLeftovers } from '../device/store/fs.ts';
import { openCommandOffice, ticketsByRef } from './helpers/command-office.ts';
import { openDurable } from './helpers/durable.ts';
import { LossyFs } from './helpers/lossy-fs.ts';
import { Clock, testConfig } from './helpers/office.ts';
import { CutFs, cutModels } from './support/cut-fs.ts';

const silent = pino({ level: 'silent' });

const DIR = '/data';

async function freshDisk(rand: () => number, preallocate = false): Promise<LossyFs> {
  const disk = new LossyFs(rand, { preallocate });
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
  // Written whole (a temp file and a rename) where the disk cannot write in place, and into one of
  // its two slots where it can (as on the device, where a full card has no room for a temp file).
  // each ceiling: the file's write (whole: create, write, fsync, rename, fsync of the directory; in
  // place: open, write, fsync), then the old file's copy for an older release, whole
  for (const [how, preallocate, stepsPerWrite] of [
    ['whole file', false, 5 + 5],
    ['in place', true, 3 + 5],
  ] as const) {
    for (const model of cutModels()) {
      it(`never goes back, and its file always reads (${how}, ${model.name})`, async () => {
        const file = `${DIR}/mqtt-session`;
        const steps = await everyCut(async (cutAt) => {
          const disk = await freshDisk(model.rand, preallocate);
          const before = new SessionCounter({ dir: DIR, fs: disk, logger: silent });
          await before.load();
          for (let i = 0; i < SESSION_BLOCK - 2; i++) await before.next();
          let acked = SESSION_BLOCK - 2;
          // across two blocks: two writes of the file's ceiling
          const cut = await cutDuring(disk, cutAt, async (fs) => {
            const c = new SessionCounter({ dir: DIR, fs, logger: silent });
            await c.load();
            fs.arm();
            for (let i = 0; i < SESSION_BLOCK + 3; i++) acked = await c.next();
          });
          const on = readSessionSlots((await disk.readFile(file))!)!.session;
          // never below a number handed out: the ceiling of its block, or of the next one whose
          // write the cut interrupted
          expect(on, `cut at step ${cutAt}`).toBeGreaterThanOrEqual(acked);
          expect(on, `cut at step ${cutAt}`).toBeLessThan(acked + 2 * SESSION_BLOCK);

          await restartCleanup(disk, DIR);
          const after = new SessionCounter({ dir: DIR, fs: disk, logger: silent });
          await after.load();
          expect(after.current()).toBeGreaterThanOrEqual(acked);
          expect(await after.next()).toBeGreaterThan(acked);
          return cut;
        });
        expect(steps).toBe(2 * stepsPerWrite);
      });
    }
  }
});

describe("power cuts on a command's path", () => {
  // Central's commands, in the order they are sent: online tickets (journaled with their id), a
  // refusal and a no-op (their answers written to the command log and fsync'd), and notices that
  // fill the journal so snapshots are written and old segments pruned while the commands run.
  const issue = (id: string) => ({ id, type: 'ticket.issue', service: 'passport', channel: 'online', ref: `r-${id}` });
  const work: Array<Record<string, unknown>> = [
    issue('b'),
    { id: 'refused', type: 'counter.recall', counter: '1' },
    issue('c'),
    { id: 'noop', type: 'service.accepting', service: 'resident', accepting: true },
    ...Array.from({ length: 14 }, (_, i) => ({ id: `n${i}`, type: 'notice.set', text: `공지 ${i}` })),
    issue('d'),
    issue('e'),
  ];
  const all = [issue('a'), ...work];
  const config = testConfig({ mqtt: { enabled: false } });

  async function check(label: string, concurrent: boolean, model: { rand: () => number }): Promise<number> {
    return everyCut(async (cutAt) => {
      const disk = await freshDisk(model.rand);
      const clock = new Clock();
      const acked = new Map<string, CommandResult>();
      const fs = new CutFs(disk, cutAt, { armed: false });
      const first = await openCommandOffice({ config, dir: DIR, fs, clock, snapshotEvery: 2 });
      await first.send({ id: 'open', type: 'day.open' });
      acked.set('a', await first.send(all[0]!));
      fs.arm();
      const ack = (cmd: Record<string, unknown>, r: CommandResult) => {
        // an internal-error is what a dying process answers: it never reaches central
        if (!fs.cut && !(!r.ok && r.error.code === 'internal-error')) acked.set(cmd.id as string, r);
      };
      if (concurrent) await Promise.all(work.map((cmd) => first.send(cmd).then((r) => ack(cmd, r))));
      else for (const cmd of work) ack(cmd, await first.send(cmd));
      const cut = fs.cut;
      fs.powerOff();
      await first.store.release();

      // central retries every command, the acknowledged ones too (their results may have been lost)
      const again = await openCommandOffice({ config, dir: DIR, fs: disk, clock, snapshotEvery: 2 });
      expect((await disk.list(DIR)).filter(isDurableTemp)).toEqual([]);
      const retried = new Map<string, CommandResult>();
      for (const cmd of all) retried.set(cmd.id as string, await again.send(cmd));
      const where = `${label}, cut at step ${cutAt}`;
      for (const [id, r] of acked) expect(retried.get(id), `${id}: ${where}`).toEqual(r);
      const tickets = ticketsByRef(again);
      for (const cmd of all.filter((c) => c.type === 'ticket.issue')) {
        const r = retried.get(cmd.id as string)!;
        const numbers = tickets.get(cmd.ref as string) ?? [];
        expect(numbers, `one ticket for ${cmd.id as string}: ${where}`).toHaveLength(1);
        expect(r.ok && r.result.ticket?.number, `${cmd.id as string}: ${where}`).toBe(numbers[0]);
      }
      await again.store.release();

      // and once more after a restart: every answer is settled now
      const third = await openCommandOffice({ config, dir: DIR, fs: disk, clock, snapshotEvery: 2 });
      for (const cmd of all)
        expect(await third.send(cmd), `${cmd.id as string}: ${where}`).toEqual(retried.get(cmd.id as string));
      await third.store.release();
      return cut;
    });
  }

  for (const model of cutModels()) {
    it(`answers every acknowledged command alike and issues one ticket per command (${model.name})`, async () => {
      const steps = await check(model.name, false, model);
      expect(steps).toBeGreaterThan(40);
    });
  }

  it('the same with the commands arriving together (group commit), wherever the cut', async () => {
    for (const model of cutModels()) await check(`together, ${model.name}`, true, model);
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
