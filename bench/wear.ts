// SD-card wear: bytes written to the data dir per issued ticket over a simulated busy day
// (1,500 tickets, every one called and completed, four counters), measured by the store's own
// counters and cross-checked against the files' sizes. Baseline in the same run: what lowdb's
// JSONFile would write for the same day (the whole state per change).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { validateConfig } from '../device/config/load.ts';
import { simulatorDefault } from '../device/config/default.ts';
import { QueueEngine } from '../device/queue/engine.ts';
import type { Action } from '../device/queue/actions.ts';
import { Store } from '../device/store/store.ts';

/** Bytes this process caused to be sent to the block layer (Linux), or null elsewhere. */
async function ioWriteBytes(): Promise<number | null> {
  const text = await readFile('/proc/self/io', 'utf8').catch(() => null);
  const m = text ? /^write_bytes:\s+(\d+)/m.exec(text) : null;
  return m ? Number(m[1]) : null;
}

export interface WearBench {
  tickets: number;
  /** what the kernel sent to the device for us, per ticket (page granularity), when known */
  blockBytesPerTicket: number | null;
  bytesPerTicket: number;
  lowdbBytesPerTicket: number;
}

export async function run(log: (line: string) => void = console.log): Promise<WearBench> {
  const root = await mkdtemp(path.join(path.resolve(import.meta.dirname, '..'), '.bench-wear-'));
  try {
    const config = validateConfig(simulatorDefault);
    const store = new Store({
      dir: root,
      snapshotEvery: config.store.snapshotEvery,
      outboxMaxEvents: config.store.outboxMaxEvents,
    });
    const { state } = await store.open(config);
    let t = Date.parse('2026-11-26T09:00:00+09:00');
    let id = 0;
    const engine = new QueueEngine(config, { now: () => t, newId: () => `w${String(++id).padStart(26, '0')}` }, state);
    store.attach(() => engine.state);
    let lowdbBytes = 0;
    const exec = async (a: Action) => {
      const r = engine.execute(a);
      if (r.ok && r.events.length > 0) {
        await store.append(r.events);
        lowdbBytes += Buffer.byteLength(JSON.stringify(engine.state));
      }
      return r;
    };
    const outbox = store.outbox.cursor('uplink');
    const ioBefore = await ioWriteBytes();
    await exec({ type: 'day.open' });
    const services = ['resident', 'resident', 'seal', 'passport', 'welfare'];
    let issued = 0;
    for (let i = 0; i < 1500; i++) {
      t += 20_000;
      const r = await exec({
        type: 'ticket.issue',
        service: services[i % services.length]!,
        channel: i % 5 ? 'kiosk' : 'online',
      });
      if (r.ok) issued++;
      if (i % 2 === 0) for (const c of ['1', '2', '3', '4']) await exec({ type: 'counter.next', counter: c });
      // central acknowledges as it goes, as a live uplink does
      outbox.ack(engine.state.seq);
    }
    await store.close();
    const ioAfter = await ioWriteBytes();
    const bytes = store.stats().bytesWritten;
    const res = {
      tickets: issued,
      bytesPerTicket: bytes / issued,
      blockBytesPerTicket: ioBefore !== null && ioAfter !== null ? (ioAfter - ioBefore) / issued : null,
      lowdbBytesPerTicket: lowdbBytes / issued,
    };
    log(`wear: a busy day of ${issued} tickets (all called and completed)`);
    log(
      `  bytes written to the data dir per ticket: ${res.bytesPerTicket.toFixed(0)} B (journal + snapshots + outbox cursor)`,
    );
    if (res.blockBytesPerTicket !== null) {
      log(
        `  sent to the block device per ticket (/proc/self/io, page-sized writes): ${(res.blockBytesPerTicket / 1024).toFixed(1)} KiB`,
      );
    }
    log(
      `  baseline, whole state rewritten per change (lowdb JSONFile): ${res.lowdbBytesPerTicket.toFixed(0)} B per ticket (${(res.lowdbBytesPerTicket / res.bytesPerTicket).toFixed(0)}x more)`,
    );
    return res;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
