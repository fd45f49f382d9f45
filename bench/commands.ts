// Online tickets through central's command path (validation, the queue, the journal's fsync, the
// command log) against kiosk tickets (the queue and the journal's fsync), one after the other on
// the same disk in the same run: commands per second, latency, bytes written per online ticket,
// whether it slows down once thousands of ids are remembered, and a burst of commands arriving
// together (the embedded broker pipelines them). Baseline in the same run: the former design, which
// rewrote its 2,000-entry memory file (temp file, fsync, rename, fsync of the directory) per command.
import { mkdtemp, rm } from 'node:fs/promises';
import * as path from 'node:path';
import type { CommandResult } from '../bridge/contract/types.ts';
import { simulatorDefault } from '../device/config/default.ts';
import { validateConfig } from '../device/config/load.ts';
import { nodeFs, writeDurable } from '../device/store/fs.ts';
import { openDurableOffice, sequentialIds } from './lib/durable-office.ts';
import { ms, now, ratio, summarize } from './stats.ts';
import { isMainModule } from '../device/util/main-module.ts';

const PAIRS = 1000;
const FILL = 3000;
const LATE_PAIRS = 500;
const BURST = 200;
const OLD_MEMORY = 2000;
const OLD_RUNS = 200;

function config() {
  // ranges wide enough for a day of 1,500 kiosk and 4,700 online tickets
  return validateConfig({
    ...simulatorDefault,
    services: [
      { id: 'resident', name: '주민등록', numbers: { from: 1, to: 4999 } },
      { id: 'passport', name: '여권', numbers: { from: 5000, to: 9999 } },
    ],
    counters: [{ id: '1', name: '1번 창구', services: ['resident', 'passport'] }],
    dispenser: { buttons: [] },
  });
}

async function office(dir: string) {
  const { store, queue, clock, command } = await openDurableOffice({
    dir,
    config: config(),
    start: Date.parse('2026-11-26T08:00:00+09:00'),
    newId: sequentialIds('b'),
    // No snapshots: they cost the same whichever channel a ticket came from (bench/queue.ts and
    // bench/wear.ts include them), and here they would land on one ticket or another at random.
    snapshotEvery: 1_000_000_000,
  });
  let n = 0;
  const online = (): Promise<CommandResult> => {
    n++;
    clock.t += 200;
    return command({
      id: `c-${n}`,
      type: 'ticket.issue',
      service: 'passport',
      channel: 'online',
      ref: `web-${n.toString(36)}`,
    });
  };
  const kiosk = async () => {
    clock.t += 200;
    const r = await queue.execute({ type: 'ticket.issue', service: 'resident', channel: 'kiosk' });
    if (!r.ok) throw new Error(r.error.code);
  };
  // The journal's bytes are counted when its fsync returns; a command-log line is written after
  // that, in the background: counted apart and put on the online tickets that cause them.
  const journalBytes = () => store.stats().bytesWritten - store.commands.bytesWritten;
  return { store, queue, online, kiosk, journalBytes, logBytes: () => store.commands.bytesWritten };
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = now();
  await fn();
  return now() - start;
}

function mustBeOk(r: CommandResult): void {
  if (!r.ok) throw new Error(`command refused: ${r.error.code}`);
}

/** The former handler: the queue's fsync, then the whole 2,000-entry memory file written durably. */
async function formerDesign(dir: string): Promise<{ perCommand: number[]; bytesPerCommand: number }> {
  const o = await office(path.join(dir, 'former'));
  await o.queue.execute({ type: 'day.open' });
  const entries: Array<[string, { result: CommandResult; digest: string }]> = [];
  const sample = await o.online();
  for (let i = 0; i < OLD_MEMORY; i++)
    entries.push([`old-${i}`, { result: { ...sample, id: `old-${i}` }, digest: 'AAAAAAAAAAAAAAAA' }]);
  const file = path.join(dir, 'former', 'mqtt-commands.json');
  const perCommand: number[] = [];
  let bytes = 0;
  for (let i = 0; i < OLD_RUNS; i++) {
    perCommand.push(
      await timed(async () => {
        const r = await o.online();
        entries.push([r.id ?? '', { result: r, digest: 'AAAAAAAAAAAAAAAA' }]);
        entries.shift();
        const buf = Buffer.from(JSON.stringify({ v: 1, entries }), 'utf8');
        bytes += buf.length;
        await writeDurable(nodeFs, file, buf, { mode: 0o600 });
      }),
    );
  }
  await o.store.close();
  return { perCommand, bytesPerCommand: bytes / OLD_RUNS };
}

export interface CommandsBench {
  kioskP50: number;
  kioskP99: number;
  onlineP50: number;
  onlineP99: number;
  kioskPerSec: number;
  onlinePerSec: number;
  /** online / kiosk tickets per second (goal: close to 1: one fsync each) */
  onlineVsKiosk: number;
  /** p50 of online tickets once 4,000+ ids are remembered, over the first 1,000 */
  lateVsEarly: number;
  burstPerSec: number;
  bytesPerOnline: number;
  bytesPerKiosk: number;
  formerPerSec: number;
  formerBytesPerCommand: number;
}

export async function run(log: (line: string) => void = console.log): Promise<CommandsBench> {
  const root = await mkdtemp(
    path.join(process.env.BEONHO_BENCH_DIR ?? path.resolve(import.meta.dirname, '..'), '.bench-commands-'),
  );
  try {
    const o = await office(path.join(root, 'now'));
    await o.queue.execute({ type: 'day.open' });
    for (let i = 0; i < 50; i++) mustBeOk(await o.online()); // warm the code paths
    const kiosk: number[] = [];
    const online: number[] = [];
    let kioskBytes = 0;
    let onlineBytes = 0;
    const pair = async (into: { kiosk: number[]; online: number[] }) => {
      let b = o.journalBytes();
      into.kiosk.push(await timed(o.kiosk));
      kioskBytes += o.journalBytes() - b;
      b = o.journalBytes();
      into.online.push(await timed(async () => mustBeOk(await o.online())));
      onlineBytes += o.journalBytes() - b;
    };
    await o.store.commands.sync();
    const logBefore = o.logBytes();
    for (let i = 0; i < PAIRS; i++) await pair({ kiosk, online });
    await o.store.commands.sync();
    onlineBytes += o.logBytes() - logBefore;
    for (let i = 0; i < FILL; i++) mustBeOk(await o.online());
    const late = { kiosk: [] as number[], online: [] as number[] };
    const counted = { onlineBytes, kioskBytes };
    for (let i = 0; i < LATE_PAIRS; i++) await pair(late);
    ({ onlineBytes, kioskBytes } = counted);
    const start = now();
    const burst = await Promise.all(Array.from({ length: BURST }, () => o.online()));
    const burstPerSec = BURST / ((now() - start) / 1000);
    for (const r of burst) mustBeOk(r);
    const remembered = o.store.commands.size;
    await o.store.close();
    const former = await formerDesign(root);

    const k = summarize([...kiosk, ...late.kiosk]);
    const c = summarize([...online, ...late.online]);
    const f = summarize(former.perCommand);
    const res: CommandsBench = {
      kioskP50: k.p50,
      kioskP99: k.p99,
      onlineP50: c.p50,
      onlineP99: c.p99,
      kioskPerSec: 1000 / k.mean,
      onlinePerSec: 1000 / c.mean,
      onlineVsKiosk: k.mean / c.mean,
      lateVsEarly: summarize(late.online).p50 / summarize(online).p50,
      burstPerSec,
      bytesPerOnline: onlineBytes / PAIRS,
      bytesPerKiosk: kioskBytes / PAIRS,
      formerPerSec: 1000 / f.mean,
      formerBytesPerCommand: former.bytesPerCommand,
    };
    log('commands: online tickets through the command path vs kiosk tickets, one after the other, same disk, same run');
    log(
      `  kiosk ticket (queue + journal fsync)        p50 ${ms(k.p50)}  p99 ${ms(k.p99)}  ${res.kioskPerSec.toFixed(0)}/s`,
    );
    log(
      `  online ticket (command, durable, answered)  p50 ${ms(c.p50)}  p99 ${ms(c.p99)}  ${res.onlinePerSec.toFixed(0)}/s (${res.onlineVsKiosk.toFixed(2)}x the kiosk rate)`,
    );
    log(
      `  with ${remembered.toLocaleString('en')} ids remembered: the last online tickets' p50 is ${ratio(summarize(late.online).p50, summarize(online).p50)} the first ones'`,
    );
    log(`  a burst of ${BURST} commands arriving together (group commit): ${burstPerSec.toFixed(0)}/s`);
    log(
      `  bytes written per online ticket: ${res.bytesPerOnline.toFixed(0)} B (journal record + command-log line); per kiosk ticket: ${res.bytesPerKiosk.toFixed(0)} B (journal record)`,
    );
    log(
      `  former design (2,000-entry memory file rewritten durably per command): ${res.formerPerSec.toFixed(0)}/s, p50 ${ms(f.p50)}, ${(res.formerBytesPerCommand / 1024).toFixed(0)} KiB per command (now ${ratio(res.onlinePerSec, res.formerPerSec)} faster)`,
    );
    return res;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

if (isMainModule(import.meta.url)) await run();
