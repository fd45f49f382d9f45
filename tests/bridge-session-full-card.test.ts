// The session number's file on a full card, after an upgrade and on a damaged card. A full card has
// no block for a new file: the number was written as a temp file renamed over the old, so a full
// card kept the uplink from connecting (central saw the office offline exactly when its card
// needed someone) and the embedded broker, which takes a number at start, kept the daemon from
// starting. It is now written in place, into one of two slots of a file made once.
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  LEGACY_SESSION_FILE,
  readSessionSlots,
  SESSION_BLOCK,
  SESSION_FILE,
  SESSION_FILE_BYTES,
  SessionCounter,
} from '../bridge/uplink/session.ts';
import { nodeFs, type StoreFs } from '../device/store/fs.ts';
import { logger, tempDir, testConfig, waitFor } from './bridge-helpers.ts';
import { bootDaemon } from './helpers/boot.ts';
import { centralBroker } from './helpers/central-broker.ts';
import { Clock } from './helpers/office.ts';
import { captureLogger } from './hw-fakes.ts';

const ENOSPC = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });

/** The real file system, whose card can be full: no new file gets a block (a temp file's write,
 * an append, a file made longer), while a write inside a file's blocks still lands. */
function cardFs(): { fs: StoreFs; card: { full: boolean } } {
  const card = { full: false };
  const fs: StoreFs = {
    ...nodeFs,
    async createExclusive(file, mode) {
      const h = await nodeFs.createExclusive(file, mode);
      return {
        write: (data) => (card.full ? Promise.reject(ENOSPC()) : h.write(data)),
        datasync: () => h.datasync(),
        close: () => h.close(),
      };
    },
    async openAppend(file) {
      const h = await nodeFs.openAppend(file);
      return {
        write: (data) => (card.full ? Promise.reject(ENOSPC()) : h.write(data)),
        datasync: () => h.datasync(),
        close: () => h.close(),
      };
    },
    async openPreallocated(file, bytes) {
      if (card.full && ((await nodeFs.size(file)) ?? 0) < bytes) throw ENOSPC();
      return nodeFs.openPreallocated!(file, bytes);
    },
  };
  return { fs, card };
}

/** The number each slot of the file holds as written (NaN for one that is not a slot line). */
function slotsOf(file: string): number[] {
  const buf = readFileSync(file);
  return [0, 1].map((k) => {
    const m = /"session":(\d+)/.exec(buf.subarray(k * 512, (k + 1) * 512).toString('latin1'));
    return m ? Number(m[1]) : Number.NaN;
  });
}

/** Flips a bit of a slot's CRC. */
function spoil(file: string, slot: number): void {
  const buf = readFileSync(file);
  buf.writeUInt8(buf.readUInt8(slot * 512 + 3) ^ 0x01, slot * 512 + 3);
  writeFileSync(file, buf);
}

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

describe('the session number on a full card', () => {
  it('goes on across blocks and restarts once its file exists', async () => {
    const dir = tempDir();
    const { fs, card } = cardFs();
    const first = new SessionCounter({ dir, fs, logger });
    await first.load();
    expect(await first.next()).toBe(1);

    card.full = true;
    let last = 1;
    for (let restart = 0; restart < 3; restart++) {
      const c = new SessionCounter({ dir, fs, logger });
      await c.load();
      for (let i = 0; i < SESSION_BLOCK + 1; i++) {
        const n = await c.next();
        expect(n).toBeGreaterThan(last);
        last = n;
      }
    }
    // the file never grew, and no failed write left anything behind (the old file's copy, for an
    // older release, was written while there was room)
    expect(statSync(join(dir, SESSION_FILE)).size).toBe(SESSION_FILE_BYTES);
    expect(readdirSync(dir).sort()).toEqual([SESSION_FILE, LEGACY_SESSION_FILE].sort());
    const after = new SessionCounter({ dir, fs: nodeFs, logger });
    await after.load();
    expect(await after.next()).toBeGreaterThan(last);
  });

  it('starts the daemon with its embedded broker, and the uplink tells central the office is online', async () => {
    const central = await centralBroker();
    cleanup.push(central.close);
    const dataDir = tempDir();
    cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
    const { fs, card } = cardFs();
    const config = testConfig({ uplink: { url: central.url, reconnectMinMs: 20, reconnectMaxMs: 100 } });
    const start = async () => {
      const b = await bootDaemon({ config, dataDir, clock: new Clock(), storeFs: fs, features: ['mqtt'] });
      const uplink = b.daemon.parts.bridge!.parts.uplink!;
      await waitFor(() => uplink.connected(), 10_000, 'uplink');
      return { b, session: uplink.session };
    };

    const before = await start();
    await before.b.stop();
    await waitFor(() => central.presence().at(-1)?.online === false, 5000, 'offline');

    card.full = true;
    const after = await start();
    try {
      expect(after.session).toBeGreaterThan(before.session);
      await waitFor(() => central.presence().at(-1)?.online === true, 5000, 'online again');
      expect(central.presence().at(-1)?.session).toBe(after.session);
    } finally {
      await after.b.stop();
    }
  }, 30_000);
});

describe('the session file', () => {
  it('takes over the number of the file it replaced, and keeps that file up to date for an older release', async () => {
    const dir = tempDir();
    const legacy = () =>
      (JSON.parse(readFileSync(join(dir, LEGACY_SESSION_FILE), 'utf8')) as { session: number }).session;
    writeFileSync(join(dir, LEGACY_SESSION_FILE), JSON.stringify({ session: 250 }));
    const c = new SessionCounter({ dir, fs: nodeFs, logger });
    await c.load();
    expect(await c.next()).toBe(251);
    expect(readSessionSlots(readFileSync(join(dir, SESSION_FILE)))?.session).toBe(250 + SESSION_BLOCK);
    expect(statSync(join(dir, SESSION_FILE)).mode & 0o777).toBe(0o600);
    // an older release put back reads the old file only: it goes on above every number handed out
    for (let i = 0; i < SESSION_BLOCK; i++) await c.next();
    expect(legacy()).toBe(250 + 2 * SESSION_BLOCK);
    // and went on there, past the new file: the newer release, back again, goes on above it
    writeFileSync(join(dir, LEGACY_SESSION_FILE), JSON.stringify({ session: 5000 }));
    const again = new SessionCounter({ dir, fs: nodeFs, logger });
    await again.load();
    expect(await again.next()).toBe(5001);
  });

  it('goes on above every number handed out when one slot is spoiled, whichever it is', async () => {
    for (const spoil of [0, 1]) {
      const dir = tempDir();
      const c = new SessionCounter({ dir, fs: nodeFs, logger });
      await c.load();
      let last = 0;
      // three blocks: the slots hold the second's and the third's ceilings
      for (let i = 0; i < 2 * SESSION_BLOCK + 5; i++) last = await c.next();
      const file = join(dir, SESSION_FILE);
      const buf = readFileSync(file);
      buf.writeUInt8(buf.readUInt8(spoil * (SESSION_FILE_BYTES / 2) + 3) ^ 0x01, spoil * (SESSION_FILE_BYTES / 2) + 3); // a bit of its CRC
      writeFileSync(file, buf);
      const log = captureLogger();
      const after = new SessionCounter({ dir, fs: nodeFs, logger: log.logger });
      await after.load();
      expect(after.current(), `slot ${spoil}`).toBeGreaterThanOrEqual(last);
      expect(await after.next()).toBeGreaterThan(last);
      expect(log.lines.filter((l) => l.code === 'session-file-damaged')).toEqual([]);
    }
  });

  it('keeps its slots one block apart after a start from a spoiled slot or from the old file, so rot of the newest never goes back', async () => {
    for (const start of ['a spoiled slot', 'the old file ahead'] as const) {
      const dir = tempDir();
      const file = join(dir, SESSION_FILE);
      const c = new SessionCounter({ dir, fs: nodeFs, logger });
      await c.load();
      for (let i = 0; i < SESSION_BLOCK + 5; i++) await c.next();
      if (start === 'a spoiled slot') spoil(file, slotsOf(file).indexOf(Math.min(...slotsOf(file))));
      else writeFileSync(join(dir, LEGACY_SESSION_FILE), JSON.stringify({ session: 5000 }));
      const after = new SessionCounter({ dir, fs: nodeFs, logger });
      await after.load();
      // past one block: its ceiling is the first write since the start
      let last = 0;
      for (let i = 0; i < 5; i++) last = await after.next();
      const [a, b] = slotsOf(file);
      expect(Math.abs(a! - b!), start).toBe(SESSION_BLOCK);
      spoil(file, slotsOf(file).indexOf(Math.max(a!, b!)));
      // the old file's copy is not there to fall back on (a full card did not let it be written)
      rmSync(join(dir, LEGACY_SESSION_FILE), { force: true });
      const rotted = new SessionCounter({ dir, fs: nodeFs, logger });
      await rotted.load();
      expect(rotted.current(), start).toBeGreaterThanOrEqual(last);
    }
  });

  it('gives up a reservation queued behind one that failed, and numbers on from the durable ceiling', async () => {
    const dir = tempDir();
    let fail = false;
    const flaky: StoreFs = {
      ...nodeFs,
      async openPreallocated(f, bytes) {
        const opened = await nodeFs.openPreallocated!(f, bytes);
        const inner = opened.file;
        // one write fails; the next would land
        const writeAt = (data: Uint8Array, at: number) => {
          if (!fail) return inner.writeAt(data, at);
          fail = false;
          return Promise.reject(new Error('EIO: i/o error, write'));
        };
        return { ...opened, file: { ...inner, writeAt } };
      },
    };
    const c = new SessionCounter({ dir, fs: flaky, logger });
    await c.load();
    for (let i = 0; i < SESSION_BLOCK; i++) await c.next(); // the file made whole, ceiling 100
    fail = true;
    // two blocks asked for at once: the second's write is queued behind the first's, which fails
    const asked = await Promise.allSettled(Array.from({ length: SESSION_BLOCK + 50 }, () => c.next()));
    expect(asked.filter((r) => r.status === 'fulfilled')).toEqual([]);
    expect(await c.next()).toBe(SESSION_BLOCK + 1);
    expect(slotsOf(join(dir, SESSION_FILE)).sort((x, y) => x - y)).toEqual([SESSION_BLOCK, 2 * SESSION_BLOCK]);
  });

  it('goes on from the clock when both slots are spoiled, and writes them again in place', async () => {
    const dir = tempDir();
    const file = join(dir, SESSION_FILE);
    writeFileSync(file, Buffer.alloc(SESSION_FILE_BYTES, 0x41));
    const log = captureLogger();
    const c = new SessionCounter({ dir, fs: nodeFs, logger: log.logger, now: () => 1_795_000_000_123 });
    await c.load();
    expect(await c.next()).toBe(1_795_000_001);
    expect(log.lines.filter((l) => l.code === 'session-file-damaged')).toHaveLength(1);
    expect(readSessionSlots(readFileSync(file))?.session).toBeGreaterThanOrEqual(1_795_000_001);
  });
});
