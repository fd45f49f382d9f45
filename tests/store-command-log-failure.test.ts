// A full or failing card under the command log: a refused write is reported (the device status)
// and does not stay broken until a restart. The next sync cuts the file back to its last whole
// line and writes the lines it lacks again, so a retry of any of those commands still gets its
// first answer, and the file reads back whole.
import { appendFile, mkdtemp, readdir, readFile, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CommandLog, type CommandRecord, type JournaledCommand } from '../device/store/command-log.ts';
import { type FileHandleLike, nodeFs, type StoreFs } from '../device/store/fs.ts';
import { bootDaemon } from './helpers/boot.ts';
import { debugLog } from './helpers/satellite-link.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'beonho-cmdlog-fail-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The real file system, whose appends can be made to fail as a full card does: half the line
 * reaches the file, then ENOSPC; and whose fdatasync can fail (EIO), losing what it did not write
 * as Linux may (the pages are dropped: a later fdatasync succeeds without them). */
function failingFs(): { fs: StoreFs; card: { full: boolean; ioError: boolean; snapshotsFull: boolean } } {
  const card = { full: false, ioError: false, snapshotsFull: false };
  const fs: StoreFs = {
    ...nodeFs,
    // a snapshot's temp file, where a full card refuses it
    async createExclusive(file, mode) {
      if (card.snapshotsFull && path.basename(file).startsWith('snapshot-'))
        throw Object.assign(new Error('ENOSPC: no space left on device, open'), { code: 'ENOSPC' });
      return nodeFs.createExclusive(file, mode);
    },
    async openAppend(file) {
      const h = await nodeFs.openAppend(file);
      let durable = (await nodeFs.size(file)) ?? 0;
      const wrapped: FileHandleLike = {
        async write(data) {
          if (card.full) {
            await appendFile(file, data.subarray(0, Math.floor(data.length / 2)));
            throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
          }
          await h.write(data);
        },
        async datasync() {
          if (card.ioError) {
            await truncate(file, durable);
            throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
          }
          await h.datasync();
          durable = (await nodeFs.size(file)) ?? 0;
        },
        close: () => h.close(),
      };
      return wrapped;
    },
  };
  return { fs, card };
}

const answer = (id: string): CommandRecord => ({
  id,
  digest: `d-${id}`,
  type: 'counter.next',
  outcome: { kind: 'answer', result: { id, ok: false, error: { code: 'no-waiting-ticket' } } },
});

const DAY = '2026-12-01';
const logDir = () => path.join(dir, 'commands');

describe('the command log on a full card', () => {
  it('reports the failure, then recovers by itself: the torn line is cut and every line written', async () => {
    const { fs, card } = failingFs();
    let told = 0;
    const log = new CommandLog(fs, logDir(), () => told++);
    await log.open([]);
    await log.record(answer('a'), DAY);
    expect(log.lastError).toBeNull();

    card.full = true;
    await expect(log.record(answer('b'), DAY)).rejects.toThrow(/command log write failed: ENOSPC/);
    expect(log.lastError).toMatch(/ENOSPC/);
    expect(told).toBe(1);
    // still full: the next one fails too, and is not written after the torn tail
    await expect(log.record(answer('c'), DAY)).rejects.toThrow(/ENOSPC/);
    // every id is remembered meanwhile (a retry gets its answer from memory)
    expect(['a', 'b', 'c'].map((id) => log.get(id)?.id)).toEqual(['a', 'b', 'c']);

    card.full = false;
    await log.record(answer('d'), DAY);
    expect(log.lastError).toBeNull();
    expect(told).toBe(2);
    await log.close();

    // read back from disk: whole lines only, every command once
    const file = path.join(logDir(), `commands-${DAY}.log`);
    const text = await readFile(file, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const again = new CommandLog(nodeFs, logDir());
    const opened = await again.open([]);
    expect(opened.problems).toEqual([]);
    expect(['a', 'b', 'c', 'd'].map((id) => again.get(id)?.id)).toEqual(['a', 'b', 'c', 'd']);
    expect(text.trim().split('\n')).toHaveLength(4);
    await again.close();
    expect(await readdir(logDir())).toEqual([`commands-${DAY}.log`]);
  });

  it('a failed fdatasync is reported, and the lines it may have lost are written again', async () => {
    const { fs, card } = failingFs();
    const log = new CommandLog(fs, logDir());
    await log.open([]);
    await log.record(answer('a'), DAY);
    card.ioError = true;
    await expect(log.record(answer('b'), DAY)).rejects.toThrow(/command log sync failed: EIO/);
    expect(log.lastError).toMatch(/EIO/);
    // the card dropped b's line with the failed fdatasync
    expect(await readFile(path.join(logDir(), `commands-${DAY}.log`), 'utf8')).not.toContain('"i":"b"');
    card.ioError = false;
    await log.sync();
    expect(log.lastError).toBeNull();
    await log.close();
    const again = new CommandLog(nodeFs, logDir());
    expect((await again.open([])).problems).toEqual([]);
    expect(['a', 'b'].map((id) => again.get(id)?.id)).toEqual(['a', 'b']);
    const text = await readFile(path.join(logDir(), `commands-${DAY}.log`), 'utf8');
    expect(text.trim().split('\n')).toHaveLength(2);
    await again.close();
  });
});

describe('a start on a full card', () => {
  // A power cut loses the command log's deferred lines (the journal holds those commands); the
  // start puts them back. On a full card that write fails, and open() threw, so the daemon could
  // not start at all (exit 1, restarted by systemd, failing again) while the journal's preallocated
  // segment still had room for tickets: a full card must stop snapshots, not the office.
  it('opens, remembers the commands the journal holds, and writes their lines once there is room', async () => {
    const { fs, card } = failingFs();
    const log = new CommandLog(fs, logDir());
    await log.open([]);
    await log.record(answer('a'), DAY);
    await log.release();

    card.full = true;
    const journaled = ['j1', 'j2'].map((id, i) => ({
      id,
      digest: `d-${id}`,
      type: 'notice.set',
      events: [
        {
          v: 1,
          office: 'o',
          seq: 10 + i,
          id: `e${i}`,
          at: `${DAY}T10:00:0${i}.000+09:00`,
          type: 'notice.changed',
          notice: id,
        },
      ] as unknown as JournaledCommand['events'],
    }));
    const reopened = new CommandLog(fs, logDir());
    const opened = await reopened.open(journaled);
    expect(opened.reconciled).toBe(2);
    expect(opened.problems.join('\n')).toMatch(/command log cannot be written.*ENOSPC/);
    expect(reopened.lastError).toMatch(/ENOSPC/);
    expect(['a', 'j1', 'j2'].map((id) => reopened.get(id)?.id)).toEqual(['a', 'j1', 'j2']);
    // still full: a sync (what a prune waits for) keeps failing, so no journal segment goes
    await expect(reopened.sync()).rejects.toThrow(/ENOSPC/);

    card.full = false;
    await reopened.sync();
    expect(reopened.lastError).toBeNull();
    await reopened.close();
    const again = new CommandLog(nodeFs, logDir());
    expect((await again.open([])).problems).toEqual([]);
    expect(['a', 'j1', 'j2'].map((id) => again.get(id)?.outcome.kind)).toEqual(['answer', 'done', 'done']);
    await again.close();
  });
});

describe('the device status', () => {
  it("shows a failing command log as the store's error, and clears it once the log recovers", async () => {
    const { fs, card } = failingFs();
    const { lines, logger } = debugLog();
    const b = await bootDaemon({ storeFs: fs, features: ['health'], logger });
    try {
      const storeStatus = async () => (await b.daemon.parts.health!.current()).components.store;
      expect((await storeStatus())?.lastError ?? null).toBeNull();
      card.full = true;
      // an answer to central (a refused command) is the log's own durable write
      await expect(b.daemon.store.commands.record(answer('x'), DAY)).rejects.toThrow(/ENOSPC/);
      expect(await storeStatus()).toMatchObject({ lastError: 'command-log-failed' });
      card.full = false;
      await b.daemon.store.commands.record(answer('y'), DAY);
      expect((await storeStatus())?.lastError ?? null).toBeNull();
      // and in the log, where an alert reads it: once as it fails, once as it recovers
      expect(lines.filter((l) => l.code === 'command-log-failed').map((l) => l.level)).toEqual([50, 30]);
    } finally {
      await b.stop();
    }
  });

  it("shows a snapshot that cannot be written as the store's error, in the log too, until one is", async () => {
    const { fs, card } = failingFs();
    const { lines, logger } = debugLog();
    const b = await bootDaemon({ storeFs: fs, features: ['health'], logger });
    try {
      const storeStatus = async () => (await b.daemon.parts.health!.current()).components.store;
      await b.daemon.queue.execute({ type: 'ticket.issue', service: 'resident', channel: 'kiosk' });
      card.snapshotsFull = true;
      await b.daemon.store.checkpoint();
      await b.daemon.store.checkpoint();
      expect(await storeStatus()).toMatchObject({
        lastError: 'snapshot-failed',
        lastSnapshotError: expect.stringMatching(/ENOSPC/),
      });
      card.snapshotsFull = false;
      await b.daemon.queue.execute({ type: 'ticket.issue', service: 'resident', channel: 'kiosk' });
      await b.daemon.store.checkpoint();
      expect((await storeStatus())?.lastError ?? null).toBeNull();
      // said once as it failed (not at each retry), once as it worked again
      const said = lines.filter((l) => l.code === 'snapshot-failed');
      expect(said.map((l) => l.level)).toEqual([40, 30]);
      expect(said[0]!.msg).toMatch(/nothing is lost/);
    } finally {
      await b.stop();
    }
  });
});
