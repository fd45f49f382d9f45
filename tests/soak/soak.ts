// The power-cut soak (docs/soak.md): the real daemon, its uplink to a real mosquitto, a simulated
// central sending online tickets and calls through that broker, and the power cut N times at
// seeded random moments: while it runs, during start-up, during a command backlog, and across
// midnight (Asia/Seoul, with libfaketime). The oracle (oracle.ts) judges what central saw.
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { localTime } from '../../device/util/time.ts';
import { Central } from './central.ts';
import { PoweredDaemon } from './daemon.ts';
import { fakeTimeEnv, findLibfaketime, nextMidnight } from './faketime.ts';
import { Mosquitto } from '../../bench/lib/mosquitto.ts';
import { check, type OracleStats, type PrintedTicket, type Violation, type ViolationKind } from './oracle.ts';
import { Rng } from './prng.ts';

export type CutKind = 'running' | 'startup' | 'backlog' | 'midnight';

export interface SoakOptions {
  cuts: number;
  seed: number;
  /** keep the work dir (data dir, daemon log, broker log) for a post-mortem */
  keep: boolean;
  /** central's commands per second */
  rate: number;
  /** kiosk presses per second, through the daemon's terminal */
  kioskRate: number;
  /** central resends a command with no result after retryMs, doubling up to retryMaxMs; 0 never
   * resends (then every command the broker accepted must be answered without help) */
  retryMs: number;
  retryMaxMs: number;
  /** a 'running' cut comes up to this long after the daemon said ready */
  maxRunMs: number;
  /** at the end, how long to wait for every answer and every event */
  settleMs: number;
  /** store.snapshotEvery of the soak's office: small, so snapshots and journal pruning happen
   * between cuts, as they do in an office over days */
  snapshotEvery: number;
  /** 'auto': midnight cuts when libfaketime is installed; 'required': fail without it */
  faketime: 'auto' | 'required' | 'off';
  logLevel: string;
  /** progress lines */
  progress: (line: string) => void;
}

export const DEFAULTS: Omit<SoakOptions, 'cuts' | 'seed'> = {
  keep: false,
  rate: 8,
  kioskRate: 1,
  retryMs: 5000,
  retryMaxMs: 30_000,
  maxRunMs: 5000,
  settleMs: 90_000,
  snapshotEvery: 100,
  faketime: 'auto',
  logLevel: 'warn',
  progress: () => undefined,
};

export interface SoakReport {
  seed: number;
  cuts: Record<CutKind, number>;
  /** start-up cuts that came before the daemon said ready */
  cutsBeforeReady: number;
  /** backlog cuts: commands queued at the broker when the daemon came back (central's count) */
  backlogMax: number;
  midnights: { crossed: number; note: string | null };
  commands: { sent: number; attempts: number; acceptedByBroker: number; p50Ms: number; p99Ms: number; maxMs: number };
  printedKiosk: number;
  /** the data dir after the last stop: power cuts must not leave litter that grows */
  dataDir: { files: number; bytes: number };
  stats: OracleStats;
  violations: Violation[];
  durationMs: number;
  workDir: string | null;
}

const OFFICE = 'singok2';
const TZ = 'Asia/Seoul';
const READY_TIMEOUT_MS = 60_000;

/** The order of cut kinds, from the seed alone. The first power-on is a plain run (its connection
 * creates the device's session at the broker); every kind occurs at least once when there is room. */
export function planCuts(n: number, rng: Rng, midnight: boolean): CutKind[] {
  const weights: Array<[CutKind, number]> = [
    ['running', 0.45],
    ['startup', 0.2],
    ['backlog', 0.2],
    ...(midnight ? [['midnight', 0.15] as [CutKind, number]] : []),
  ];
  const total = weights.reduce((s, [, w]) => s + w, 0);
  const plan: CutKind[] = [];
  for (let i = 0; i < n; i++) {
    if (i === 0) {
      plan.push('running');
      continue;
    }
    let r = rng.next() * total;
    let kind: CutKind = 'running';
    for (const [k, w] of weights) {
      r -= w;
      if (r < 0) {
        kind = k;
        break;
      }
    }
    plan.push(kind);
  }
  const free = Array.from({ length: Math.max(0, n - 1) }, (_, i) => i + 1);
  for (const [kind] of weights) {
    if (plan.includes(kind) || free.length === 0) continue;
    const at = free.splice(Math.floor(rng.next() * free.length), 1)[0]!;
    plan[at] = kind;
  }
  return plan;
}

function officeConfig(o: SoakOptions, brokerUrl: string): Record<string, unknown> {
  return {
    office: { id: OFFICE, name: '신곡2동 행정복지센터', timeZone: TZ },
    device: { id: 'main' },
    // Wide ranges: central's steady stream of online tickets must not run a day's numbers out.
    // `seal` is issued only at the kiosk, so the terminal's `ticket N (seal)` lines are the
    // tickets the kiosk printed.
    services: [
      { id: 'resident', name: '주민등록', numbers: { from: 10001, to: 49999 }, avgMinutes: 4 },
      { id: 'passport', name: '여권', numbers: { from: 50001, to: 89999 }, avgMinutes: 8 },
      { id: 'seal', name: '인감/제증명', numbers: { from: 1001, to: 9999 }, avgMinutes: 3 },
    ],
    counters: [
      { id: '1', name: '1번 창구', services: ['resident', 'seal'] },
      { id: '2', name: '2번 창구', services: ['passport', 'resident', 'seal'] },
      { id: '3', name: '3번 창구', services: ['passport', 'resident'] },
    ],
    dispenser: { buttons: [{ id: 'seal', service: 'seal', label: '인감/제증명' }] },
    store: { snapshotEvery: o.snapshotEvery },
    outputs: { audio: { driver: 'none' }, board: { driver: 'none' }, printer: { driver: 'none' } },
    mqtt: {
      broker: { enabled: false },
      uplink: {
        url: brokerUrl,
        username: 'dev-singok2',
        password: 'dev-pw',
        reconnectMinMs: 100,
        reconnectMaxMs: 1000,
      },
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** Resolves true when p settles within ms, false otherwise. */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((r) => {
    timer = setTimeout(() => r(false), Math.max(0, ms));
  });
  const done = await Promise.race([p.then(() => true), timeout]);
  clearTimeout(timer);
  return done;
}

async function sizeOf(dir: string): Promise<{ files: number; bytes: number }> {
  const out = { files: 0, bytes: 0 };
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    out.files++;
    out.bytes += (await stat(join(e.parentPath, e.name))).size;
  }
  return out;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function runSoak(opts: Partial<SoakOptions> & { cuts: number; seed: number }): Promise<SoakReport> {
  const o: SoakOptions = { ...DEFAULTS, ...opts };
  const started = Date.now();
  const root = new Rng(o.seed);
  const planRng = root.fork();
  const trafficRng = root.fork();
  const lib = o.faketime === 'off' ? null : findLibfaketime();
  if (o.faketime === 'required' && !lib)
    throw new Error('libfaketime is not installed but the soak requires it: apt-get install -y faketime');
  const midnightNote =
    lib === null ? `not exercised: ${o.faketime === 'off' ? 'faketime off' : 'libfaketime not installed'}` : null;
  const plan = planCuts(o.cuts, planRng, lib !== null);

  const work = await mkdtemp(join(tmpdir(), 'beonho-soak-'));
  const dataDir = join(work, 'data');
  await mkdir(join(work, 'broker'));
  // Central's broker, with an ACL like central's (the device may touch only its own office's tree).
  // It is never cut: the soak cuts the device's power, not central's.
  const broker = new Mosquitto(
    [
      { username: 'dev-singok2', password: 'dev-pw', acl: [`topic readwrite beonho/v1/${OFFICE}/#`] },
      { username: 'central', password: 'central-pw', acl: ['topic readwrite beonho/v1/#'] },
    ],
    {
      dir: join(work, 'broker'),
      settings: [
        // the device's session (its cmd subscription) must outlive every power cut: commands sent
        // while it is down wait here, which is the backlog the soak wants
        'persistent_client_expiration 1d',
        'max_queued_messages 1000000',
        'max_queued_bytes 0',
        `log_dest file ${join(work, 'broker', 'mosquitto.log')}`,
        'log_type error',
        'log_type warning',
        'log_type notice',
      ],
    },
  );
  const central = new Central({
    username: 'central',
    password: 'central-pw',
    office: OFFICE,
    rng: trafficRng,
    retryMs: o.retryMs,
    retryMaxMs: o.retryMaxMs,
  });
  const log: WriteStream = createWriteStream(join(work, 'daemon.log'), { flags: 'a' });
  const printed: PrintedTicket[] = [];
  const failures: Violation[] = [];
  const cuts: Record<CutKind, number> = { running: 0, startup: 0, backlog: 0, midnight: 0 };
  let cutsBeforeReady = 0;
  let backlogMax = 0;
  let crossed = 0;
  let offsetMs = 0;
  const readyTimes: number[] = [];
  let daemon: PoweredDaemon | null = null;
  let run = 0;
  let dataDirSize = { files: 0, bytes: 0 };

  const fakeNow = (): number => Date.now() + offsetMs;
  const readyEstimate = (): number => {
    const recent = readyTimes.slice(-10).sort((a, b) => a - b);
    return recent.length ? recent[Math.floor(recent.length / 2)]! : 2000;
  };
  const configFile = join(work, 'config.yaml');

  const powerOn = (): PoweredDaemon => {
    run++;
    const day = lib ? localTime(fakeNow(), TZ).iso : 'real clock';
    log.write(`--- power-on ${run} (daemon clock ${day}) ---\n`);
    const d = new PoweredDaemon({
      config: configFile,
      dataDir,
      logLevel: o.logLevel,
      env: lib ? fakeTimeEnv(lib, offsetMs) : {},
      log,
      onLine: (line) => {
        const m = /^ticket (\S+) \(seal[,)]/.exec(line);
        if (m) printed.push({ number: m[1]!, service: 'seal' });
      },
    });
    const thisRun = run;
    let kiosk: NodeJS.Timeout | null = null;
    void d.ready.then(() => {
      readyTimes.push(d.readyAt! - d.spawnedAt);
      if (o.kioskRate > 0 && d.alive()) kiosk = setInterval(() => d.send('press seal'), 1000 / o.kioskRate);
    });
    void d.exited.then(() => {
      if (kiosk) clearInterval(kiosk);
      if (!d.cut)
        failures.push({
          kind: 'daemon-failed',
          detail: `power-on ${thisRun} exited by itself (code ${d.exitCode}, signal ${d.exitSignal}): ${d.tail().trim().split('\n').at(-1) ?? ''}`,
        });
    });
    daemon = d;
    return d;
  };

  /** Waits for the terminal's ready line; a daemon that never gets there is a failure. */
  const ready = async (d: PoweredDaemon): Promise<boolean> => {
    if (await within(Promise.race([d.ready, d.exited]), READY_TIMEOUT_MS)) return d.readyAt !== null;
    failures.push({ kind: 'daemon-failed', detail: `power-on ${run} not ready within ${READY_TIMEOUT_MS / 1000} s` });
    return false;
  };

  try {
    await broker.start();
    await central.connect(broker.url());
    await writeFile(configFile, stringify(officeConfig(o, broker.url())));
    o.progress(
      `soak: seed ${o.seed}, ${o.cuts} cuts, central ${o.rate}/s, kiosk ${o.kioskRate}/s, broker ${broker.url()}, work ${work}` +
        (midnightNote ? `; midnight ${midnightNote}` : ''),
    );

    for (let k = 0; k < plan.length; k++) {
      const kind = plan[k]!;
      let d: PoweredDaemon;
      let killAt: () => Promise<void>;
      let midnightReal = 0;
      if (k === 0) {
        // The first power-on: central starts sending once the device's session exists at the broker.
        d = powerOn();
        const session = central.session;
        if (!(await ready(d)) || !(await within(central.online(session), READY_TIMEOUT_MS)))
          throw new Error(`the daemon did not come up and connect to the broker:\n${d.tail()}`);
        central.startTraffic({ rate: o.rate, services: ['resident', 'passport'], counters: ['1', '2', '3'] });
        killAt = () => sleep(planRng.between(100, o.maxRunMs));
      } else {
        // power off for a while: in a backlog cut long enough for commands to pile up at the broker
        await sleep(kind === 'backlog' ? planRng.between(2000, 6000) : planRng.between(50, 800));
        if (kind === 'midnight' && lib) {
          // power comes back shortly before the next midnight of the daemon's clock
          const lead = readyEstimate() + planRng.between(500, 4000);
          const target = nextMidnight(fakeNow(), TZ) - lead;
          const jump = Math.ceil((target - fakeNow()) / 1000) * 1000;
          if (jump > 0) offsetMs += jump;
          midnightReal = nextMidnight(fakeNow(), TZ) - offsetMs;
        }
        backlogMax = Math.max(backlogMax, central.unanswered());
        const session = central.session;
        d = powerOn();
        switch (kind) {
          case 'startup':
            // mostly before ready: start-up takes about the estimate, sometimes less
            killAt = () => sleep(planRng.between(0, 0.8 * readyEstimate()));
            break;
          case 'backlog': {
            // many commands in flight: cut within a moment of the link coming up
            const delay = planRng.between(0, 1200);
            killAt = async () => {
              await within(Promise.race([central.online(session), d.exited]), READY_TIMEOUT_MS);
              await sleep(delay);
            };
            break;
          }
          case 'midnight': {
            // mostly a daemon running across midnight; sometimes a cut just before it, so the
            // next power-on is the first of the new date
            const delay = planRng.next() < 0.2 ? planRng.between(-1500, 0) : planRng.between(500, 8000);
            killAt = () => sleep(midnightReal + delay - Date.now());
            break;
          }
          default: {
            const delay = planRng.between(100, o.maxRunMs);
            killAt = async () => {
              if (await ready(d)) await sleep(delay);
            };
          }
        }
      }
      await Promise.race([killAt(), d.exited]);
      if (kind === 'startup' && d.readyAt === null) cutsBeforeReady++;
      // ran across midnight: ready before it, cut after it
      if (kind === 'midnight' && d.readyAt !== null && d.readyAt < midnightReal && Date.now() > midnightReal) crossed++;
      await d.powerCut();
      cuts[kind]++;
      if (plan.length <= 100 || (k + 1) % 10 === 0 || k + 1 === plan.length)
        o.progress(
          `cut ${k + 1}/${plan.length} (${kind}) ${Date.now() - d.spawnedAt} ms after power-on${d.readyAt === null ? ', before ready' : ''}` +
            `${lib ? ` at ${localTime(fakeNow(), TZ).iso.slice(0, 19)}` : ''}: ${central.events.length} events, ${central.commands.size} commands, ${central.unanswered()} awaiting a result`,
        );
    }

    // The last power-on: no more commands, every retry answered, every event delivered.
    central.stopTraffic();
    await sleep(planRng.between(50, 800));
    // not just before a midnight: with no more commands, the day would roll only at the next tick
    const toMidnight = nextMidnight(fakeNow(), TZ) - fakeNow();
    if (lib && toMidnight < 10_000) await sleep(toMidnight + 500);
    const d = powerOn();
    if (await ready(d)) {
      const deadline = Date.now() + o.settleMs;
      while (Date.now() < deadline) {
        const s = central.stateSeq;
        if (central.unanswered() === 0 && s !== null && central.contiguousSeq() >= s) break;
        await sleep(200);
      }
    }
    await d.stop(15_000);
    await sleep(500); // what was in flight on the broker
    dataDirSize = await sizeOf(dataDir);
  } finally {
    central.stopTraffic();
    if (daemon && (daemon as PoweredDaemon).alive()) await (daemon as PoweredDaemon).powerCut();
    await central.close();
    await broker.stop();
    await new Promise((r) => log.end(r));
    if (!o.keep) await rm(work, { recursive: true, force: true });
  }

  const verdict = check({
    events: central.events,
    results: central.results,
    commands: central.sentCommands(),
    printed,
    finalStateSeq: central.stateSeq,
    timeZone: TZ,
  });
  const lat = central.latencies().sort((a, b) => a - b);
  const sent = central.sentCommands();
  return {
    seed: o.seed,
    cuts,
    cutsBeforeReady,
    backlogMax,
    midnights: { crossed, note: midnightNote },
    commands: {
      sent: sent.length,
      attempts: sent.reduce((s, c) => s + c.attempts, 0),
      acceptedByBroker: central.acceptedByBroker(),
      p50Ms: percentile(lat, 50),
      p99Ms: percentile(lat, 99),
      maxMs: lat.at(-1) ?? 0,
    },
    printedKiosk: printed.length,
    dataDir: dataDirSize,
    stats: verdict.stats,
    violations: [...failures, ...verdict.violations],
    durationMs: Date.now() - started,
    workDir: o.keep ? work : null,
  };
}

/** The summary a person reads; the last line says PASS or FAIL. */
export function formatReport(r: SoakReport, examples = 3): string {
  const byKind = new Map<ViolationKind, Violation[]>();
  for (const v of r.violations) byKind.set(v.kind, [...(byKind.get(v.kind) ?? []), v]);
  const s = r.stats;
  const lines = [
    `power-cut soak, seed ${r.seed}, ${(r.durationMs / 1000).toFixed(0)} s`,
    `  cuts:       ${Object.values(r.cuts).reduce((a, b) => a + b, 0)} (running ${r.cuts.running}, start-up ${r.cuts.startup} of which ${r.cutsBeforeReady} before ready, backlog ${r.cuts.backlog} (up to ${r.backlogMax} commands waiting), midnight ${r.cuts.midnight} (${r.midnights.crossed} crossed${r.midnights.note ? `; ${r.midnights.note}` : ''}))`,
    `  commands:   ${r.commands.sent} sent (${r.commands.attempts} publishes, ${r.commands.acceptedByBroker} accepted by the broker), ${s.answered} answered, ${s.retried} sent more than once (no result within the retry timeout); first send to result p50 ${r.commands.p50Ms} ms, p99 ${r.commands.p99Ms} ms, max ${r.commands.maxMs} ms`,
    `  tickets:    ${s.ticketsIssued.online} online issued (${s.acknowledgedTickets} acknowledged), ${s.ticketsIssued.kiosk} kiosk issued (${r.printedKiosk} printed)`,
    `  events:     ${s.events} (last seq ${s.lastSeq}, ${s.repeats} repeats) over ${s.days.length} day(s)${s.days.length ? ` (${s.days[0]}${s.days.length > 1 ? ` to ${s.days.at(-1)}` : ''})` : ''}`,
    `  data dir:   ${r.dataDir.files} files, ${(r.dataDir.bytes / 1024).toFixed(0)} KiB at the end`,
  ];
  if (r.workDir) lines.push(`  kept:       ${r.workDir}`);
  if (byKind.size === 0) lines.push('  violations: none', 'PASS');
  else {
    lines.push(`  violations: ${r.violations.length}`);
    for (const [kind, vs] of byKind) {
      lines.push(`    ${kind}: ${vs.length}`);
      for (const v of vs.slice(0, examples)) lines.push(`      ${v.detail}`);
    }
    lines.push('FAIL');
  }
  return lines.join('\n');
}
