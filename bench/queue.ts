// Ticket issue cost with the durable store, against the floor (one fsync of a small file on the
// same disk) and against lowdb's own JSONFile adapter, all measured in this run.
// Goals (issue 3): p99 within 2x of one fsync; the 1,000th ticket of a day about the cost of the 10th.
import { mkdtemp, open, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { Low } from 'lowdb';
import { JSONFile } from 'lowdb/node';
import { QueueEngine } from '../device/queue/engine.ts';
import type { ActionResult } from '../device/queue/actions.ts';
import type { QueueEvent, QueueState } from '../device/queue/types.ts';
import { openJournal, sequentialIds, twoServiceConfig } from './lib/durable-office.ts';
import { ms, now, ratio, summarize } from './stats.ts';
import { isMainModule } from '../device/util/main-module.ts';

const TICKETS = 1010;
const DAYS = 3;

function eventsOf(r: ActionResult): QueueEvent[] {
  if (!r.ok) throw new Error(r.error.code);
  return r.events;
}

async function bareFsync(dir: string, n: number): Promise<number[]> {
  const fh = await open(path.join(dir, 'fsync-probe'), 'a');
  const out: number[] = [];
  const line = Buffer.alloc(120, 0x61);
  for (let i = 0; i < n; i++) {
    const t = now();
    await fh.write(line);
    await fh.datasync();
    out.push(now() - t);
  }
  await fh.close();
  return out;
}

/** Tickets issued one at a time; before each, one bare fdatasync of a small append to a probe file
 * in the same directory, so the baseline sees the same disk at the same moments. */
async function durableDays(
  dir: string,
): Promise<{ all: number[]; probe: number[]; byIndex: number[][]; burstPerSec: number }> {
  const { store, engine, clock } = await openJournal({
    dir,
    // two services of about 5,000 numbers each, so a day can hold 1,010 tickets
    config: twoServiceConfig(),
    start: Date.parse('2026-11-26T08:00:00+09:00'),
    newId: sequentialIds('b'),
  });
  store.attach(() => engine.state);
  const all: number[] = [];
  const probe: number[] = [];
  const probeFile = await open(path.join(dir, 'fsync-probe'), 'a');
  const line = Buffer.alloc(120, 0x61);
  const byIndex: number[][] = Array.from({ length: TICKETS }, () => []);
  for (let d = 0; d < DAYS; d++) {
    await store.append(eventsOf(engine.execute({ type: 'day.open' })));
    for (let i = 0; i < TICKETS; i++) {
      const p0 = now();
      await probeFile.write(line);
      await probeFile.datasync();
      probe.push(now() - p0);
      const start = now();
      const r = engine.execute({ type: 'ticket.issue', service: i % 2 ? 'resident' : 'seal', channel: 'kiosk' });
      if (!r.ok) throw new Error(r.error.code);
      await store.append(r.events);
      const dt = now() - start;
      all.push(dt);
      byIndex[i]!.push(dt);
      clock.t += 1000;
    }
    clock.t += 24 * 3600_000;
  }
  // a burst: 200 presses at once, written with group commit
  await store.append(eventsOf(engine.execute({ type: 'day.open' })));
  const start = now();
  await Promise.all(
    Array.from({ length: 200 }, (_, i) => {
      const r = engine.execute({ type: 'ticket.issue', service: i % 2 ? 'resident' : 'seal', channel: 'kiosk' });
      return r.ok ? store.append(r.events) : Promise.resolve();
    }),
  );
  const burstPerSec = 200 / ((now() - start) / 1000);
  await store.close();
  await probeFile.close();
  return { all, probe, byIndex, burstPerSec };
}

async function naiveLowdb(dir: string): Promise<{ all: number[]; byIndex: number[][] }> {
  const cfg = twoServiceConfig();
  const db = new Low<QueueState | null>(new JSONFile(path.join(dir, 'db.json')), null);
  let t = Date.parse('2026-11-26T08:00:00+09:00');
  let id = 0;
  const engine = new QueueEngine(cfg, { now: () => t, newId: () => `n${++id}` });
  const all: number[] = [];
  const byIndex: number[][] = Array.from({ length: TICKETS }, () => []);
  engine.execute({ type: 'day.open' });
  for (let i = 0; i < TICKETS; i++) {
    const start = now();
    engine.execute({ type: 'ticket.issue', service: i % 2 ? 'resident' : 'seal', channel: 'kiosk' });
    db.data = engine.state;
    await db.write();
    const dt = now() - start;
    all.push(dt);
    byIndex[i]!.push(dt);
    t += 1000;
  }
  return { all, byIndex };
}

function around(byIndex: number[][], center: number): number {
  return summarize(byIndex.slice(center - 5, center + 5).flat()).p50;
}

export interface QueueBench {
  fsyncP50: number;
  fsyncP99: number;
  issueP50: number;
  issueP99: number;
  p99VsFsync: number;
  perSecSequential: number;
  burstPerSec: number;
  ratio1000vs10: number;
  lowdbP50: number;
  lowdbP99: number;
  lowdbRatio1000vs10: number;
}

export async function run(log: (line: string) => void = console.log): Promise<QueueBench> {
  const root = await mkdtemp(
    path.join(process.env.BEONHO_BENCH_DIR ?? path.resolve(import.meta.dirname, '..'), '.bench-queue-'),
  );
  try {
    await bareFsync(root, 200); // warm the disk and the code paths
    const durable = await durableDays(path.join(root, 'durable'));
    const fsync = summarize(durable.probe);
    const issue = summarize(durable.all);
    const lowdb = await naiveLowdb(root);
    const low = summarize(lowdb.all);
    const res: QueueBench = {
      fsyncP50: fsync.p50,
      fsyncP99: fsync.p99,
      issueP50: issue.p50,
      issueP99: issue.p99,
      p99VsFsync: issue.p99 / fsync.p99,
      perSecSequential: 1000 / issue.mean,
      burstPerSec: durable.burstPerSec,
      ratio1000vs10: around(durable.byIndex, 1000) / around(durable.byIndex, 10),
      lowdbP50: low.p50,
      lowdbP99: low.p99,
      lowdbRatio1000vs10: around(lowdb.byIndex, 1000) / around(lowdb.byIndex, 10),
    };
    log('queue: ticket issue with the durable store (journal + fdatasync), same disk, same run');
    log(
      `  baseline: one fdatasync of a small append, interleaved with the tickets   p50 ${ms(fsync.p50)}  p99 ${ms(fsync.p99)}`,
    );
    log(
      `  issue one ticket (durable)                  p50 ${ms(issue.p50)} (${ratio(issue.p50, fsync.p50)} fsync)  p99 ${ms(issue.p99)} (${ratio(issue.p99, fsync.p99)} fsync; goal <= 2x)`,
    );
    log(
      `  throughput: one at a time ${res.perSecSequential.toFixed(0)}/s; a burst of 200 presses (group commit) ${res.burstPerSec.toFixed(0)}/s`,
    );
    log(`  1,000th vs 10th ticket of a day: ${res.ratio1000vs10.toFixed(2)}x (goal <= 1.2)`);
    log(
      `  lowdb JSONFile (whole state per ticket, no fsync): p50 ${ms(low.p50)}  p99 ${ms(low.p99)}; 1,000th vs 10th ${res.lowdbRatio1000vs10.toFixed(2)}x`,
    );
    return res;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

if (isMainModule(import.meta.url)) await run();
