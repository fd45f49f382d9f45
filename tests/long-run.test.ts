// What grows over months of running on a 512 MB board with a small SD card: each case runs the
// operation many times (or once past a failure) and checks that a count stays bounded: files in a
// data dir, entries a store keeps. Counts, not RSS: nothing here depends on the machine's speed.
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Client } from 'aedes';
import aedesPersistence from 'aedes-persistence';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RateLimitedLog } from '../device/util/rate-limited-log.ts';
import { type QueuePersistence, Sessions } from '../bridge/broker/sessions.ts';
import pino from 'pino';
import { SimPrinter } from '../display/printer/sim-printer.ts';
import { nodeFs, type StoreFs } from '../device/store/fs.ts';
import { openDurable } from './helpers/durable.ts';
import { Clock, testConfig } from './helpers/office.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'beonho-long-run-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const enospc = () => Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
const issue = { type: 'ticket.issue', service: 'resident', channel: 'kiosk' } as const;

describe('the journal on the card', () => {
  it('is pruned again once an outbox cursor can be written again after a failed write', async () => {
    // The card refuses the cursor's temp file for a while (full, or a transient error), then
    // takes it again, as when the logs that filled it are rotated away.
    let full = false;
    const fs: StoreFs = {
      ...nodeFs,
      async createExclusive(file, mode) {
        if (full && path.basename(file).startsWith('cursor-')) throw enospc();
        return nodeFs.createExclusive(file, mode);
      },
    };
    const q = await openDurable({ config: testConfig(), dir, fs, clock: new Clock(), snapshotEvery: 10 });
    const cursor = q.store.outbox.cursor('uplink');
    q.store.outbox.settle();
    await q.execute({ type: 'day.open' });
    full = true;
    for (let i = 0; i < 5; i++) await q.execute(issue);
    cursor.ack(q.engine.state.seq);
    await expect(cursor.flush()).rejects.toThrow(/ENOSPC/);
    full = false;
    // central acknowledges everything as it comes: every segment behind the snapshots may go
    for (let i = 0; i < 200; i++) {
      await q.execute(issue);
      cursor.ack(q.engine.state.seq);
    }
    await cursor.flush();
    await q.store.checkpoint();
    const segments = (await readdir(path.join(dir, 'state', 'journal'))).filter((n) => n.endsWith('.log'));
    // three snapshot generations and the segments after the oldest, not one per 10 records since
    expect(segments.length).toBeLessThanOrEqual(4);
    expect(q.store.lastSnapshotError).toBeNull();
    await q.store.close();
  });
});

describe('the embedded broker, one session after another', () => {
  it('lets go of the QoS 2 publishes a persistent session left unreleased once it expires', async () => {
    vi.useFakeTimers();
    try {
      type Incoming = QueuePersistence & {
        incomingStorePacket(c: { id: string }, p: unknown): Promise<void>;
        incomingGetPacket(c: { id: string }, p: { messageId: number }): Promise<unknown>;
      };
      const p = (aedesPersistence as unknown as () => Incoming)();
      const expired: string[] = [];
      const sessions = new Sessions(
        { maxQueued: 10, expiryMs: 60_000, perAccount: 8 },
        { dropped: () => undefined, expired: (id) => expired.push(id) },
      );
      sessions.wrap(p);
      // An account whose password sits in a public room: sessions of fresh ids, each left with a
      // connection's worth of QoS 2 publishes whose PUBREL never comes, never resumed.
      const ids = Array.from({ length: 50 }, (_, i) => `sat-${i}`);
      const inflight = 16;
      for (const id of ids) {
        const c = { id, clean: false } as Client;
        sessions.opened(c, 'sat');
        for (let m = 1; m <= inflight; m++) {
          await p.incomingStorePacket(
            { id },
            { cmd: 'publish', topic: 'x', payload: Buffer.alloc(1024), qos: 2, retain: false, messageId: m },
          );
        }
        sessions.closed(c, 'sat');
      }
      await vi.advanceTimersByTimeAsync(60_001);
      expect(expired).toHaveLength(ids.length);
      let held = 0;
      for (const id of ids) {
        for (let m = 1; m <= inflight; m++) {
          held += await p.incomingGetPacket({ id }, { messageId: m }).then(
            () => 1,
            () => 0,
          );
        }
      }
      expect(held).toBe(0);
      sessions.close();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('the log of a broker a stranger hammers', () => {
  it('sums up a refusal that goes on for days in a few lines an hour, counting every one', async () => {
    vi.useFakeTimers();
    try {
      const lines: Array<{ code?: string; suppressed?: number; msg: string }> = [];
      const log = new RateLimitedLog(pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l)) }));
      // a client retrying a wrong password twice a second, for three days
      const attempts = 3 * 24 * 3600 * 2;
      for (let i = 0; i < attempts; i++) {
        log.warn('mqtt-auth-bad-password', { clientId: 'x' }, 'connection refused');
        await vi.advanceTimersByTimeAsync(500);
      }
      // the stranger gives up: what was left is summed up, and after a quiet window the next
      // refusal is news again, logged in full
      await vi.advanceTimersByTimeAsync(2 * 3_600_000);
      log.warn('mqtt-auth-bad-password', { clientId: 'y' }, 'connection refused');
      expect(lines.at(-1)).toMatchObject({ clientId: 'y', msg: 'connection refused' });
      expect(lines.at(-1)!.suppressed).toBeUndefined();
      const counted = lines.reduce((n, l) => n + (l.suppressed ?? 1), 0);
      expect(counted).toBe(attempts + 1);
      // an hour's summary once it has gone on for a while: not one line pair per 10 s (51,840)
      expect(lines.length).toBeLessThanOrEqual(3 * 24 + 10);
      log.close();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("the simulator's printer (the config's default)", () => {
  it('keeps only the newest tickets on the card, those an older version left included', async () => {
    const tickets = path.join(dir, 'sim', 'tickets');
    await mkdir(tickets, { recursive: true });
    // what an older version left: a file per ticket of days gone
    for (let i = 0; i < 10; i++) {
      const old = path.join(tickets, `2026-11-${10 + i}-${1001 + i}.png`);
      await writeFile(old, 'png');
      await utimes(old, 1_700_000_000 + i, 1_700_000_000 + i);
    }
    const printer = new SimPrinter(tickets, pino({ level: 'silent' }), 5);
    const image = { width: 8, height: 8, data: new Uint8Array(8 * 8 * 4) };
    const numbers = Array.from({ length: 30 }, (_, i) => String(1001 + i));
    for (const number of numbers) await printer.print({ image, day: '2026-11-26', number });
    // a reprint of a number already on the card is one file, the newest
    await printer.print({ image, day: '2026-11-26', number: '1026' });
    await printer.close();
    expect((await readdir(tickets)).sort()).toEqual(
      ['1027', '1028', '1029', '1030', '1026'].map((n) => `2026-11-26-${n}.png`).sort(),
    );
  });
});
