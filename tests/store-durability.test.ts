// The store's promises where a review found them broken: the backlog central has not received
// survives a restart's first snapshot, nothing reaches the outbox before it is durable, a journal
// that does not continue its snapshot is refused, a full card keeps the office issuing, and an
// answer that changed nothing waits for the state it was read from.
import { mkdtemp, readdir, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodeFs, type StoreFs } from '../device/store/fs.ts';
import { encodeRecord } from '../device/store/journal.ts';
import type { ActionResult } from '../device/queue/actions.ts';
import { bootDaemon } from './helpers/boot.ts';
import { openDurable } from './helpers/durable.ts';
import { Clock, testConfig } from './helpers/office.ts';

let dir: string;
const config = testConfig();
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'beonho-durability-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const journalDir = () => path.join(dir, 'state', 'journal');
const segments = async () => (await readdir(journalDir())).filter((f) => f.startsWith('journal-')).sort();
const issue = { type: 'ticket.issue', service: 'resident', channel: 'kiosk' } as const;

/** A file system whose fdatasync of journal records waits while `hold` is set. */
function holdingFs(): { fs: StoreFs; hold: () => () => void } {
  let held: Promise<void> | null = null;
  const fs: StoreFs = {
    ...nodeFs,
    async openPreallocated(file, bytes) {
      const { file: slot, zeroed } = await nodeFs.openPreallocated!(file, bytes);
      const datasync = async () => {
        if (held) await held;
        await slot.datasync();
      };
      return { zeroed, file: { writeAt: slot.writeAt, close: slot.close, datasync } };
    },
  };
  return {
    fs,
    hold: () => {
      let release!: () => void;
      held = new Promise((r) => {
        release = r;
      });
      return () => {
        held = null;
        release();
      };
    },
  };
}

describe('the backlog central has not received', () => {
  it('survives a restart whose first action snapshots and prunes before the bridge opens its cursor', async () => {
    const clock = new Clock();
    const q = await openDurable({ config, dir, clock, snapshotEvery: 10 });
    const cur = q.store.outbox.cursor('uplink');
    await q.execute({ type: 'day.open' });
    for (let i = 0; i < 100; i++) await q.execute(issue);
    cur.ack(5);
    await cur.flush();
    // a record after the last snapshot, then the power cut: the restart snapshots at its first append
    await q.execute(issue);
    await q.store.release();
    const again = await openDurable({ config, dir, clock, snapshotEvery: 10 });
    await again.execute(issue); // the day roll's tick comes before the bridge starts
    await again.store.checkpoint();
    const c2 = again.store.outbox.cursor('uplink');
    const rest = await c2.read(c2.acked(), 10_000);
    expect(rest[0]!.seq).toBe(6);
    expect(rest.map((e) => e.seq)).toEqual(rest.map((_, i) => 6 + i));
    expect(rest.at(-1)!.seq).toBe(again.engine.state.seq);
    await again.store.close();
  });

  it('once the parts have started, a cursor none of them opened no longer holds the journal back', async () => {
    const clock = new Clock();
    const q = await openDurable({ config, dir, clock, snapshotEvery: 10 });
    q.store.outbox.cursor('uplink');
    await q.execute({ type: 'day.open' });
    await q.store.close();
    const again = await openDurable({ config, dir, clock, snapshotEvery: 10 });
    for (let i = 0; i < 100; i++) await again.execute(issue);
    await again.store.checkpoint();
    // not settled: the uplink's cursor, at 0, keeps every segment
    expect((await segments())[0]).toBe('journal-000000000001.log');
    again.store.outbox.settle();
    for (let i = 0; i < 30; i++) await again.execute(issue);
    await again.store.close();
    expect((await segments())[0]).not.toBe('journal-000000000001.log');
  });
});

describe('the outbox', () => {
  it('never hands out an event whose record is written but not yet fdatasync-ed', async () => {
    const clock = new Clock();
    const { fs, hold } = holdingFs();
    const q = await openDurable({ config, dir, fs, clock, snapshotEvery: 1000 });
    q.store.outbox.cursor('uplink').ack(0);
    await q.execute({ type: 'day.open' });
    for (let i = 0; i < 10; i++) await q.execute(issue);
    await q.store.close();
    // after a restart the cursor reads from disk, where the page cache shows unsynced records
    const again = await openDurable({ config, dir, fs, clock, snapshotEvery: 1000 });
    const cur = again.store.outbox.cursor('uplink');
    const release = hold();
    const pending = again.execute(issue);
    await new Promise((r) => setTimeout(r, 50));
    const durable = cur.lastSeq();
    expect(again.engine.state.seq).toBeGreaterThan(durable);
    const got = await cur.read(0, 500);
    expect(got.at(-1)!.seq).toBe(durable);
    release();
    await pending;
    expect((await cur.read(0, 500)).at(-1)!.seq).toBe(again.engine.state.seq);
    await again.store.close();
  });
});

describe('a journal that does not continue its snapshot', () => {
  async function stoppedDay(tickets: number, snapshotEvery = 1000) {
    const clock = new Clock();
    const q = await openDurable({ config, dir, clock, snapshotEvery });
    await q.execute({ type: 'day.open' });
    for (let i = 0; i < tickets; i++) await q.execute(issue);
    await q.store.close();
    return { clock, seq: q.engine.state.seq };
  }
  const twelve = (n: number) => String(n).padStart(12, '0');

  it('is refused when the only snapshot is damaged and the journal is the empty segment after it', async () => {
    const { clock, seq } = await stoppedDay(20);
    const state = path.join(dir, 'state');
    const snaps = (await readdir(state)).filter((f) => f.startsWith('snapshot-'));
    expect(snaps).toEqual([`snapshot-${twelve(seq)}.json`]);
    expect(await segments()).toEqual([`journal-${twelve(seq + 1)}.log`]);
    await writeFile(path.join(state, snaps[0]!), 'garbage');
    const err = await openDurable({ config, dir, clock }).catch((e: Error & { code?: string }) => e);
    expect(err).toMatchObject({ code: 'state-unrecoverable' });
    expect((err as Error).message).toContain(`events 1 to ${seq} are missing`);
    // and left as it was, for a person to look at
    expect(await readFile(path.join(state, snaps[0]!), 'utf8')).toBe('garbage');
  });

  it('is refused when a segment in the middle is missing', async () => {
    const clock = new Clock();
    const q = await openDurable({ config, dir, clock, snapshotEvery: 10 });
    q.store.outbox.cursor('uplink'); // at 0: every segment is kept
    await q.execute({ type: 'day.open' });
    for (let i = 0; i < 40; i++) await q.execute(issue);
    await q.store.release();
    const segs = await segments();
    expect(segs.length).toBeGreaterThanOrEqual(3);
    for (const f of (await readdir(path.join(dir, 'state'))).filter((f) => f.startsWith('snapshot-')))
      await unlink(path.join(dir, 'state', f));
    await unlink(path.join(journalDir(), segs[1]!));
    await expect(openDurable({ config, dir, clock })).rejects.toMatchObject({
      code: 'state-unrecoverable',
      message: expect.stringMatching(/the journal jumps from event \d+ to \d+/),
    });
  });

  it('holding an event this version does not know is refused as written by a newer version', async () => {
    const { clock, seq } = await stoppedDay(3);
    const seg = path.join(journalDir(), (await segments()).at(-1)!);
    const at = new Date(clock.now()).toISOString();
    const record = encodeRecord([{ seq: seq + 1, at, type: 'queue.teleported' } as never]);
    await writeFile(seg, record);
    await expect(openDurable({ config, dir, clock })).rejects.toMatchObject({
      code: 'state-too-new',
      message: expect.stringMatching(/"queue\.teleported"/),
    });
  });
});

describe('a full card', () => {
  const enospc = () => Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });

  /** No room for a new segment's zeros, a snapshot or a cursor; the current segment's own room
   * made in advance still takes records. */
  function fullCardFs(): { fs: StoreFs; fill: () => void } {
    let full = false;
    const fs: StoreFs = {
      ...nodeFs,
      async openPreallocated(file, bytes) {
        if (full && ((await nodeFs.size(file)) ?? 0) < bytes) {
          // as the real call fails: the file made, some zeros written, then no room
          await writeFile(file, Buffer.alloc(4096), { flag: 'a' });
          throw enospc();
        }
        return nodeFs.openPreallocated!(file, bytes);
      },
      async createExclusive(file, mode) {
        if (full) throw enospc();
        return nodeFs.createExclusive(file, mode);
      },
    };
    return { fs, fill: () => (full = true) };
  }

  it('keeps the office issuing in the current segment, says so, and leaves no half-made segment', async () => {
    const clock = new Clock();
    const { fs, fill } = fullCardFs();
    const q = await openDurable({ config, dir, fs, clock, snapshotEvery: 20 });
    await q.execute({ type: 'day.open' });
    for (let i = 0; i < 25; i++) await q.execute(issue);
    await q.store.checkpoint();
    const before = await segments();
    fill();
    const numbers: string[] = [];
    for (let i = 0; i < 60; i++) {
      const r = await q.execute(issue);
      if (r.ok) numbers.push(r.ticket!.number);
    }
    expect(numbers).toHaveLength(60);
    expect(q.store.lastSnapshotError).toMatch(/journal rotation failed: ENOSPC/);
    expect(await segments()).toEqual(before);
    const seq = q.engine.state.seq;
    await q.store.release();
    // a restart on the same full card resumes where it stopped and issues the next number
    const again = await openDurable({ config, dir, fs, clock, snapshotEvery: 20 });
    expect(again.engine.state.seq).toBe(seq);
    const next = await again.execute(issue);
    expect(next.ok && next.ticket!.number).toBe(String(Number(numbers.at(-1)) + 1));
    await again.store.release();
  });

  it('a restart whose last segment was cut short while being made appends to it instead', async () => {
    const clock = new Clock();
    const { fs, fill } = fullCardFs();
    const q = await openDurable({ config, dir, fs, clock, snapshotEvery: 1000 });
    await q.execute({ type: 'day.open' });
    for (let i = 0; i < 5; i++) await q.execute(issue);
    const seq = q.engine.state.seq;
    await q.store.release();
    // the power was cut while the segment's zeros were being written: it is shorter than made
    const seg = path.join(journalDir(), (await segments()).at(-1)!);
    const text = (await readFile(seg)).subarray(0, 8192);
    await truncate(seg, 8192);
    expect(text.indexOf(0)).toBeGreaterThan(0);
    fill();
    const again = await openDurable({ config, dir, fs, clock, snapshotEvery: 1000 });
    for (let i = 0; i < 3; i++) expect((await again.execute(issue)).ok).toBe(true);
    expect(again.engine.state.seq).toBeGreaterThan(seq);
    const after = again.engine.state.seq;
    await again.store.release();
    const third = await openDurable({ config, dir, clock, snapshotEvery: 1000 });
    expect(third.recovered).toEqual([]);
    expect(third.engine.state.seq).toBe(after);
    await third.store.release();
  });
});

describe('an answer that changed nothing', () => {
  it("a refusal read from a state not yet durable is not answered before it is (the daemon's queue)", async () => {
    const { fs, hold } = holdingFs();
    const { daemon, stop } = await bootDaemon({ storeFs: fs, features: [] });
    try {
      await daemon.queue.execute({ type: 'day.open' });
      const release = hold();
      const closing = daemon.queue.execute({ type: 'day.close' });
      let answer: ActionResult | null = null;
      const refused = daemon.queue.execute(issue).then((r) => {
        answer = r;
      });
      await new Promise((r) => setTimeout(r, 50));
      // the day's close is applied in memory and its record waits for the disk: no answer yet
      expect(answer).toBeNull();
      release();
      await Promise.all([closing, refused]);
      expect(answer).toMatchObject({ ok: false, error: { code: 'day-closed' } });
    } finally {
      await stop();
    }
  });

  it('waits until the appends before it are durable', async () => {
    const clock = new Clock();
    const { fs, hold } = holdingFs();
    const q = await openDurable({ config, dir, fs, clock, snapshotEvery: 1000 });
    await q.execute({ type: 'day.open' });
    const release = hold();
    const closing = q.execute({ type: 'day.close' });
    let answered = false;
    const refusal = q.store.whenDurable().then(() => {
      answered = true;
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(answered).toBe(false);
    release();
    await Promise.all([closing, refusal]);
    expect(answered).toBe(true);
    await q.store.close();
  });
});
