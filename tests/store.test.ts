// The store on the real file system: recovery from damaged files, schema versions, the outbox.
import { mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isDurableTemp, nodeFs, type StoreFs, writeDurable } from '../device/store/fs.ts';
import { Store } from '../device/store/store.ts';
import { openDurable } from './helpers/durable.ts';
import { Clock, testConfig } from './helpers/office.ts';

let dir: string;
const config = testConfig();
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'beonho-store-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function day(n: number, snapshotEvery = 10) {
  const clock = new Clock();
  const q = await openDurable({ config, dir, clock, snapshotEvery });
  await q.execute({ type: 'day.open' });
  for (let i = 0; i < n; i++) await q.execute({ type: 'ticket.issue', service: 'resident', channel: 'kiosk' });
  await q.execute({ type: 'counter.next', counter: '1' });
  return { q, clock };
}

const stateDir = () => path.join(dir, 'state');
const snapshots = async () => (await readdir(stateDir())).filter((f) => f.startsWith('snapshot-')).sort();

describe('recovery', () => {
  it('a restart resumes exactly where it stopped, after a clean stop and after a kill', async () => {
    const { q, clock } = await day(25);
    const before = structuredClone(q.engine.state);
    // no close(): as if killed (release lets go of the files once the snapshot under way is written)
    await q.store.release();
    const again = await openDurable({ config, dir, clock });
    expect(again.engine.state).toEqual(before);
    expect(again.recovered).toEqual([]);
    await again.store.close();
    const third = await openDurable({ config, dir, clock });
    expect(third.engine.state).toEqual(before);
    const r = await third.execute({ type: 'ticket.issue', service: 'resident', channel: 'kiosk' });
    expect(r.ok && r.ticket?.number).toBe('1026');
    // the first action after a start writes a snapshot in the background: close waits for it
    await third.store.close();
  });

  for (const [name, damage] of [
    ['empty', (f: string) => writeFile(f, '')],
    ['truncated', (f: string) => truncate(f, 40)],
    ['garbage', (f: string) => writeFile(f, Buffer.alloc(300, 0))],
    [
      'a flipped byte',
      async (f: string) => {
        const b = await readFile(f);
        b[b.length - 5] = (b[b.length - 5] ?? 0) ^ 0x20;
        await writeFile(f, b);
      },
    ],
  ] as const) {
    it(`falls back to the previous snapshot generation when the newest is ${name}, and reports it`, async () => {
      const { q, clock } = await day(45);
      await q.store.close();
      const before = structuredClone(q.engine.state);
      const snaps = await snapshots();
      expect(snaps.length).toBeGreaterThanOrEqual(2);
      await damage(path.join(stateDir(), snaps.at(-1)!));
      const again = await openDurable({ config, dir, clock });
      expect(again.engine.state).toEqual(before);
      expect(again.recovered.join('\n')).toMatch(/snapshot-\d+\.json: .*fell back/);
      await again.store.close();
    });
  }

  it('a torn journal tail (power cut mid-append) is cut off and reported; the rest stays', async () => {
    const { q, clock } = await day(5, 1000);
    await q.store.release(); // the power cut
    const seq = q.engine.state.seq;
    const journalDir = path.join(stateDir(), 'journal');
    const seg = path.join(journalDir, (await readdir(journalDir))[0]!);
    // the torn record lands where the records end: over the segment's preallocated zeros
    const bytes = await readFile(seg);
    const end = bytes.indexOf(0) < 0 ? bytes.length : bytes.indexOf(0);
    const torn = Buffer.from('1234abcd {"e":[{"seq":');
    await writeFile(seg, Buffer.concat([bytes.subarray(0, end), torn, bytes.subarray(end + torn.length)]));
    const again = await openDurable({ config, dir, clock });
    expect(again.engine.state.seq).toBe(seq);
    expect(again.recovered.join()).toMatch(/torn last record/);
    const r = await again.execute({ type: 'ticket.issue', service: 'resident', channel: 'kiosk' });
    expect(r.ok && r.ticket?.number).toBe('1006');
    // the first action after a start writes a snapshot in the background: wait for it
    await again.store.close();
    const third = await openDurable({ config, dir, clock });
    expect(third.recovered).toEqual([]);
    expect(third.engine.state.tickets['1006']).toBeDefined();
    await third.store.close();
  });

  it('garbage instead of every snapshot and journal start refuses to start rather than reset the day', async () => {
    const { q, clock } = await day(45);
    await q.store.close();
    for (const s of await snapshots()) await writeFile(path.join(stateDir(), s), 'garbage');
    await expect(openDurable({ config, dir, clock })).rejects.toMatchObject({ code: 'state-unrecoverable' });
  });

  it('a state written by a newer version is refused and left untouched', async () => {
    const { q, clock } = await day(12);
    await q.store.close();
    const snap = path.join(stateDir(), (await snapshots()).at(-1)!);
    const text = (await readFile(snap, 'utf8')).replace('"schema":1', '"schema":99');
    await writeFile(snap, text);
    await expect(openDurable({ config, dir, clock })).rejects.toMatchObject({ code: 'state-too-new' });
    expect(await readFile(snap, 'utf8')).toBe(text);
  });

  // An SD card cloned from the office set up first (its test day, maybe its offline backlog) to
  // another office whose config was edited: the state and the journal are the first office's.
  // Opened, the new office numbered on from the test day and sent the first office's undelivered
  // events to central under its own topic (their payload still naming the first office).
  for (const [name, kill] of [
    ['after a clean stop (a snapshot)', false],
    ['after a kill (the journal alone)', true],
  ] as const) {
    it(`a data dir of another office is refused and left untouched, ${name}`, async () => {
      const { q, clock } = await day(3, kill ? 1000 : 10);
      if (kill) await q.store.release();
      else await q.store.close();
      const before = await readdir(stateDir(), { recursive: true });
      const other = testConfig({ office: { id: 'singok3', name: '신곡3동', timeZone: 'Asia/Seoul' } });
      await expect(openDurable({ config: other, dir, clock })).rejects.toMatchObject({
        code: 'state-other-office',
        message: expect.stringMatching(/"singok2".*"singok3"/),
      });
      expect(await readdir(stateDir(), { recursive: true })).toEqual(before);
      // the office it belongs to still opens it
      const again = await openDurable({ config, dir, clock });
      expect(again.engine.state.services.resident?.lastIssued).toBe(1003);
      await again.store.close();
    });
  }

  it('keeps a bounded number of generations and prunes the journal behind them', async () => {
    const { q } = await day(200, 10);
    await q.store.close();
    expect((await snapshots()).length).toBe(3);
    const segs = await readdir(path.join(stateDir(), 'journal'));
    expect(segs.length).toBeLessThanOrEqual(5);
  });
});

describe('memory', () => {
  // lowdb's `data` is the store's way to the snapshot files: a day's snapshot is hundreds of
  // kilobytes of text (and the one read at start, a second copy of the state), kept for nothing
  const held = (q: { store: Store }): unknown => (q.store as unknown as { db: { data: unknown } }).db.data;

  it('keeps no copy of a snapshot it wrote, nor of the one it started from', async () => {
    const { q } = await day(35, 10);
    await q.store.close();
    expect((await snapshots()).length).toBeGreaterThan(0);
    expect(held(q)).toBeNull();
    const before = structuredClone(q.engine.state);
    const again = await openDurable({ config, dir, clock: new Clock(), snapshotEvery: 10 });
    expect(again.engine.state).toEqual(before);
    expect(held(again)).toBeNull();
    await again.store.close();
  });
});

describe('letting go of the files', () => {
  // A snapshot is written in the background, after the append that triggered it has resolved. A
  // test that removes the directory right after release() or close() must not race it (ENOTEMPTY).
  for (const how of ['release', 'close'] as const) {
    it(`${how}() waits for a snapshot still being written`, async () => {
      let reached!: () => void;
      const atRename = new Promise<void>((r) => (reached = r));
      let letGo!: () => void;
      const gate = new Promise<void>((r) => (letGo = r));
      const fs: StoreFs = {
        ...nodeFs,
        async rename(from, to) {
          if (path.basename(to).startsWith('snapshot-')) {
            reached();
            await gate;
          }
          return nodeFs.rename(from, to);
        },
      };
      const q = await openDurable({ config, dir, fs, clock: new Clock(), snapshotEvery: 10 });
      await q.execute({ type: 'day.open' });
      for (let i = 0; i < 10; i++) await q.execute({ type: 'ticket.issue', service: 'resident', channel: 'kiosk' });
      await atRename; // the snapshot waits at its rename; every append has resolved
      let done = false;
      const letting = q.store[how]().then(() => {
        done = true;
      });
      // time enough for a release that does not wait to close its files and resolve
      for (let i = 0; i < 50 && !done; i++) await new Promise((r) => setImmediate(r));
      expect(done).toBe(false);
      letGo();
      await letting;
      expect((await readdir(stateDir())).filter((f) => isDurableTemp(f))).toEqual([]);
      expect((await snapshots()).length).toBeGreaterThanOrEqual(1);
    });
  }
});

describe('outbox', () => {
  it('keeps undelivered events across restarts, in order, and drops them only after ack', async () => {
    const clock = new Clock();
    const q = await openDurable({ config, dir, clock, snapshotEvery: 10 });
    const cur = q.store.outbox.cursor('uplink');
    await q.execute({ type: 'day.open' });
    for (let i = 0; i < 60; i++) await q.execute({ type: 'ticket.issue', service: 'seal', channel: 'kiosk' });
    const first = await cur.read(0, 1000);
    expect(first.map((e) => e.seq)).toEqual(first.map((_, i) => i + 1));
    cur.ack(30);
    await cur.flush();
    // killed here: restart, the cursor resumes after 30 and the events come from disk
    await q.store.release();
    const again = await openDurable({ config, dir, clock, snapshotEvery: 10 });
    const c2 = again.store.outbox.cursor('uplink');
    expect(c2.acked()).toBe(30);
    const rest = await c2.read(c2.acked(), 1000);
    expect(rest[0]!.seq).toBe(31);
    expect(rest.at(-1)!.seq).toBe(q.engine.state.seq);
    expect(rest.map((e) => e.seq)).toEqual(rest.map((_, i) => 31 + i));
    await again.store.close();
  });

  it('when a cursor falls too far behind, the oldest events are dropped and counted', async () => {
    const clock = new Clock();
    const q = await openDurable({ config, dir, clock, snapshotEvery: 10, outboxMaxEvents: 1000 });
    const cur = q.store.outbox.cursor('uplink');
    await q.execute({ type: 'day.open' });
    for (let i = 0; i < 1400; i++)
      await q.execute({ type: 'ticket.issue', service: i % 2 ? 'resident' : 'seal', channel: 'kiosk' });
    await q.store.close();
    const seq = q.engine.state.seq;
    expect(seq).toBeGreaterThan(1000);
    expect(cur.dropped().count).toBe(seq - 1000);
    expect(cur.acked()).toBe(seq - 1000);
    const again = await openDurable({ config, dir, clock, snapshotEvery: 10, outboxMaxEvents: 1000 });
    const events = await again.store.outbox.cursor('uplink').read(seq - 1000, 5000);
    expect(events[0]!.seq).toBe(seq - 999);
    expect(events).toHaveLength(1000);
    await again.store.close();
  });
});

describe('outbox cursors of sinks turned off', () => {
  it('a cursor not opened in this run does not hold the journal back', async () => {
    const clock = new Clock();
    const first = await openDurable({ config, dir, clock, snapshotEvery: 10 });
    first.store.outbox.cursor('uplink');
    await first.execute({ type: 'day.open' });
    await first.store.close();
    // the uplink is gone from the config: its cursor stays at 0, but once the daemon's parts have
    // started without opening it, the journal is pruned anyway
    const second = await openDurable({ config, dir, clock, snapshotEvery: 10 });
    second.store.outbox.settle();
    for (let i = 0; i < 200; i++) await second.execute({ type: 'ticket.issue', service: 'resident', channel: 'kiosk' });
    await second.store.close();
    const segs = await readdir(path.join(stateDir(), 'journal'));
    expect(segs.length).toBeLessThanOrEqual(5);
    expect(second.store.outbox.cursor('uplink').acked()).toBe(0);
  });
});

describe('leftovers of durable writes cut short', () => {
  it('are removed at open, counted with their size; real files of the same prefix stay', async () => {
    const { q } = await day(25);
    await q.store.close();
    const outboxDir = path.join(stateDir(), 'outbox');
    const [snap] = await snapshots();
    const litter = [
      path.join(stateDir(), `${snap}.tmp-4242-7`),
      path.join(stateDir(), 'snapshot-000000000099.json.tmp-1-1'),
      path.join(outboxDir, 'cursor-uplink.json.tmp-4242-8'),
      path.join(dir, 'mqtt-session.json.tmp-4242-9'),
      // the bridge's own pattern before it wrote through writeDurable (an upgraded device)
      path.join(dir, 'mqtt-commands.json.4242.3.tmp'),
    ];
    for (const [i, f] of litter.entries()) await writeFile(f, Buffer.alloc(100 * (i + 1), 1));
    const real = [
      path.join(stateDir(), snap!),
      path.join(dir, 'mqtt-commands.json'),
      path.join(dir, 'mqtt-session.json'),
      path.join(dir, 'notes.tmp'),
      path.join(outboxDir, 'cursor-uplink.json'),
    ];
    for (const f of real.slice(1)) await writeFile(f, '{"acked":0,"dropped":0,"droppedThrough":0}');

    const store = new Store({ dir, snapshotEvery: 10, outboxMaxEvents: 1000 });
    const opened = await store.open(config);
    expect(opened.leftovers).toEqual({ files: 5, bytes: 100 + 200 + 300 + 400 + 500 });
    for (const f of litter) await expect(stat(f), f).rejects.toMatchObject({ code: 'ENOENT' });
    for (const f of real) expect((await stat(f)).isFile(), f).toBe(true);
    expect(opened.state).toEqual(q.engine.state);
    await store.close();
    // nothing left the second time
    const again = new Store({ dir, snapshotEvery: 10, outboxMaxEvents: 1000 });
    expect((await again.open(config)).leftovers).toEqual({ files: 0, bytes: 0 });
    await again.close();
  });

  it('a durable write takes another name when a leftover already has the one it picked', async () => {
    const target = path.join(dir, 'f.json');
    // leftovers with the names this process picks next (at boot, a pid is often the same again)
    const taken: string[] = [];
    const fs: StoreFs = {
      ...nodeFs,
      async createExclusive(file, mode) {
        if (taken.length < 3) {
          taken.push(file);
          await writeFile(file, 'old');
        }
        return nodeFs.createExclusive(file, mode);
      },
    };
    await writeDurable(fs, target, Buffer.from('new'));
    expect(await readFile(target, 'utf8')).toBe('new');
    expect(taken.every((f) => isDurableTemp(path.basename(f)))).toBe(true);
    expect(new Set(taken).size).toBe(3);
    for (const f of taken) expect(await readFile(f, 'utf8')).toBe('old');
  });
});
