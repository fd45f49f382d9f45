// Fleet benchmark (`npm run bench -- fleet`): N simulated offices in one process, each the daemon as
// production builds it (device/app.ts, features ['mqtt'], its own store in a temp dir: outbox
// drain, state coalescing, status, commands), over a synthetic day, against mosquitto and against
// a 3-node RabbitMQ cluster, with one central subscriber on beonho/v1/+/… (the simulated
// central's reader, sim/central/reader.ts, which also serves its page).
//
// The day is time-compressed (FLEET_SPEEDUP, 10 by default): every office's clock runs that much
// faster and so does its work. An office gets a ticket every 20-60 simulated seconds (a tenth of
// them online tickets from central, through the broker), its four counters call the next every
// 60-200 simulated seconds (now and then a recall or a no-show), and `ticket.near` follows by
// itself. So the broker carries ten times an office's real traffic: the latency is measured
// under that load, and the per-office rate is given both as measured and as it would be at real
// speed (event-driven messages divided by the speed-up, timer-driven ones not).
//
// Then a reconnect storm, twice: with the uplink's jitter and without (Math.random pinned to 1,
// so every office waits exactly the same backoff): mosquitto is stopped for FLEET_DOWN_MS and
// started again; on the cluster a node is killed and its third of the fleet moves to the next
// node of its list. Time until every office is back, the peak of connections per 100 ms, and the
// oracle: central's view has no seq gap and every online ticket was issued once.
//
//   FLEET_OFFICES=300 FLEET_SPEEDUP=10 FLEET_SECONDS=120 FLEET_BROKERS=mosquitto,rabbitmq
//   FLEET_PAGE=8090 (keep the central page on that port)   FLEET_SCREENSHOT=file.png (of that page)
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import type { Daemon } from '../device/app.ts';
import { simulatorDefault } from '../device/config/default.ts';
import { validateConfig } from '../device/config/load.ts';
import type { Bridge } from '../bridge/index.ts';
import { type Central, startCentral } from '../sim/central/main.ts';
import { Mosquitto, mosquittoAvailable } from './lib/mosquitto.ts';
import { tempDir } from './lib/mqtt-client.ts';
import { buildBenchDaemon } from './lib/office.ts';
import { centralUser, officeUser, RabbitCluster, rabbitmqAvailable } from './lib/rabbitmq.ts';
import { summarize } from './stats.ts';
import { isMainModule } from '../device/util/main-module.ts';

const DAY0 = Date.parse('2026-11-26T09:00:00+09:00');
const SERVICES: Array<[string, number]> = [
  ['resident', 0.5],
  ['seal', 0.25],
  ['passport', 0.15],
  ['welfare', 0.1],
];
const COUNTERS = ['1', '2', '3', '4'];
/** central's password on the benchmark's brokers */
export const CENTRAL_PW = 'central-pw';

export interface FleetOptions {
  offices: number;
  speedup: number;
  /** the steady-state window, real seconds */
  seconds: number;
  /** how long mosquitto stays down in the storm, ms */
  downMs: number;
  /** the central page's port (0: any) */
  pagePort: number;
  storm: boolean;
  log?: (line: string) => void;
}

export function fleetOptions(env: NodeJS.ProcessEnv = process.env): FleetOptions {
  return {
    offices: Number(env.FLEET_OFFICES ?? 300),
    speedup: Number(env.FLEET_SPEEDUP ?? 10),
    seconds: Number(env.FLEET_SECONDS ?? 120),
    downMs: Number(env.FLEET_DOWN_MS ?? 5000),
    pagePort: Number(env.FLEET_PAGE ?? 0),
    storm: env.FLEET_STORM !== '0',
  };
}

/** mulberry32: the workload is the same in every run and does not touch Math.random (the storm
 * without jitter pins Math.random). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function officeId(i: number): string {
  return `o${String(i + 1).padStart(3, '0')}`;
}

export function officePassword(id: string): string {
  return `${id}-pw`;
}

export interface FleetOffice {
  id: string;
  daemon: Daemon;
  bridge: Bridge;
  /** real times (performance.now) the uplink came up, newest last */
  connects: number[];
}

/** The fleet: N daemons in this process, each with its own data dir, uplinked to `urls(i)`. */
export class Fleet {
  readonly offices: FleetOffice[] = [];
  readonly root = tempDir('beonho-fleet-');
  /** office:seq -> real time the event was durable and on the bus */
  readonly emitted = new Map<string, number>();
  private readonly t0 = performance.now();
  private timers = new Set<NodeJS.Timeout>();
  private running = false;
  private onlineN = 0;
  /** online tickets asked of central: id -> office, ref, whether its result came */
  readonly online = new Map<string, { office: string; ref: string; ok: boolean }>();

  constructor(private readonly o: { speedup: number; central: Central; urls: (i: number) => string[] }) {}

  now = (): number => DAY0 + (performance.now() - this.t0) * this.o.speedup;

  async start(n: number): Promise<void> {
    const logger = pino({ level: process.env.BENCH_LOG ?? 'silent' });
    for (let i = 0; i < n; i++) {
      const id = officeId(i);
      const config = validateConfig({
        ...simulatorDefault,
        office: { ...simulatorDefault.office, id, name: `가상${i + 1}동 행정복지센터` },
        mqtt: {
          broker: { enabled: false },
          uplink: {
            url: this.o.urls(i),
            username: id,
            password: officePassword(id),
            // RabbitMQ 3.10 refuses MQTT 5; one protocol for both brokers keeps the figures comparable
            protocolVersion: 4,
          },
        },
      });
      const daemon = buildBenchDaemon(config, { dataDir: path.join(this.root, id), now: this.now, logger });
      await daemon.start();
      const office: FleetOffice = { id, daemon, bridge: daemon.parts.bridge!, connects: [] };
      daemon.bus.on('linkChanged', office, ({ online }) => {
        if (online) office.connects.push(performance.now());
      });
      daemon.bus.on('queueEvents', office, ({ events }) => {
        const t = performance.now();
        for (const e of events) this.emitted.set(`${id}:${e.seq}`, t);
      });
      if (!daemon.queue.state().open) await daemon.queue.execute({ type: 'day.open' });
      this.offices.push(office);
    }
  }

  connected(): number {
    return this.offices.filter((o) => o.bridge.parts.uplink?.connected()).length;
  }

  /** The day's work: arrivals, counters calling, a few online tickets through central. */
  startLoad(seed = 1): void {
    this.running = true;
    const sim = (sec: number) => (sec * 1000) / this.o.speedup;
    for (const [k, office] of this.offices.entries()) {
      const rnd = prng(seed * 100_003 + k);
      const q = office.daemon.queue;
      const pick = (): string => {
        let r = rnd();
        for (const [s, w] of SERVICES) {
          r -= w;
          if (r <= 0) return s;
        }
        return 'resident';
      };
      const arrive = (): void =>
        this.later(sim(20 + rnd() * 40), async () => {
          if (rnd() < 0.1) this.onlineTicket(office.id, pick());
          else await q.execute({ type: 'ticket.issue', service: pick(), channel: 'kiosk', priority: rnd() < 0.05 });
          arrive();
        });
      const serve = (counter: string): void =>
        this.later(sim(60 + rnd() * 140), async () => {
          const r = rnd();
          if (r < 0.04) await q.execute({ type: 'counter.skip', counter });
          else {
            if (r < 0.08) await q.execute({ type: 'counter.recall', counter });
            await q.execute({ type: 'counter.next', counter });
          }
          serve(counter);
        });
      arrive();
      for (const c of COUNTERS) serve(c);
    }
  }

  stopLoad(): void {
    this.running = false;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  /** Every event of every office has reached central (its seq), and every online ticket answered. */
  async drained(timeoutMs: number): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    const views = this.o.central.reader.offices;
    for (;;) {
      const behind = this.offices.filter((o) => (views.get(o.id)?.lastSeq ?? -1) < o.daemon.queue.state().seq).length;
      const pending = [...this.online.values()].filter((t) => !t.ok).length;
      if (behind === 0 && pending === 0) return true;
      if (Date.now() > end) return false;
      await sleep(100);
    }
  }

  async stop(): Promise<void> {
    this.stopLoad();
    for (const o of this.offices) await o.daemon.stop().catch(() => undefined);
    rmSync(this.root, { recursive: true, force: true });
  }

  private later(ms: number, fn: () => Promise<void>): void {
    if (!this.running) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (this.running) fn().catch((err: unknown) => process.stderr.write(`fleet: ${String(err)}\n`));
    }, ms);
    this.timers.add(t);
  }

  /** An online ticket from central, retried with the same id until answered (idempotent). */
  private onlineTicket(office: string, service: string): void {
    const n = ++this.onlineN;
    const id = `fleet-${n.toString(36)}`;
    const ref = `on-${n.toString(36)}`;
    this.online.set(id, { office, ref, ok: false });
    const attempt = (): void => {
      this.o.central.reader.command(office, { id, type: 'ticket.issue', service, channel: 'online', ref }, 10_000).then(
        (r) => {
          // A refusal (a service closed) is an answer too; the oracle counts issued tickets.
          this.online.get(id)!.ok = true;
          if (!r.ok && r.error.code === 'internal-error') setTimeout(attempt, 1000);
        },
        () => setTimeout(attempt, 1000),
      );
    };
    attempt();
  }
}

// ---- the broker's process: RSS and CPU from /proc ----

const TICKS = 100; // USER_HZ on Linux

export interface ProcSample {
  at: number;
  rssBytes: number;
  /** CPU ticks per process: a process that appears later (a restarted broker) counts from its start */
  ticks: Map<number, number>;
}

export function sample(pids: number[]): ProcSample {
  let rss = 0;
  const ticks = new Map<number, number>();
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks.set(pid, Number(f[11]) + Number(f[12])); // utime, stime
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) rss += Number(m[1]) * 1024;
    } catch {}
  }
  return { at: performance.now(), rssBytes: rss, ticks };
}

/** CPU time between two samples, ms, of the processes alive at the second. */
export function cpuMs(a: ProcSample, b: ProcSample): number {
  let t = 0;
  for (const [pid, ticks] of b.ticks) t += ticks - (a.ticks.get(pid) ?? 0);
  return (t / TICKS) * 1000;
}

/** CPU between two samples, in % of one core. */
export function cpuPct(a: ProcSample, b: ProcSample): number {
  return (cpuMs(a, b) / (b.at - a.at)) * 100;
}

function mosquittoPids(m: Mosquitto): number[] {
  const conf = `${m.dir}/mosquitto.conf`;
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(conf)) out.push(Number(name));
    } catch {}
  }
  return out;
}

// ---- one broker, start to finish ----

export interface Target {
  name: 'mosquitto' | 'rabbitmq';
  officeUrls(i: number): string[];
  centralUrls(): string[];
  pids(): number[];
  /** the storm: take (part of) the broker away, return what to wait for and how to bring it back */
  storm(
    fleet: Fleet,
    round: number,
  ): Promise<{ affected: FleetOffice[]; revive: () => Promise<void>; downFor: number }>;
  destroy(): Promise<void>;
}

/** A mosquitto with central's account and one account per office, each writing only under its own
 * office and reading only its own commands. */
export async function mosquittoTarget(n: number, downMs: number): Promise<Target> {
  if (!mosquittoAvailable()) throw new Error('the fleet benchmark needs mosquitto: apt-get install -y mosquitto');
  const users = [
    { username: 'central', password: CENTRAL_PW, acl: ['topic readwrite beonho/v1/#'] },
    ...Array.from({ length: n }, (_, i) => {
      const id = officeId(i);
      return {
        username: id,
        password: officePassword(id),
        acl: [`topic write beonho/v1/${id}/#`, `topic read beonho/v1/${id}/cmd`],
      };
    }),
  ];
  const m = new Mosquitto(users);
  await m.start();
  return {
    name: 'mosquitto',
    officeUrls: () => [m.url()],
    centralUrls: () => [m.url()],
    pids: () => mosquittoPids(m),
    async storm(fleet) {
      await m.stop();
      return {
        affected: fleet.offices,
        downFor: downMs,
        revive: () => m.start(),
      };
    },
    destroy: () => m.destroy(),
  };
}

async function rabbitTarget(n: number): Promise<Target> {
  if (!rabbitmqAvailable())
    throw new Error('the fleet benchmark needs rabbitmq-server: apt-get install -y rabbitmq-server');
  const cluster = new RabbitCluster({
    // central's one subscription carries the whole fleet: RabbitMQ's default of 10 unacknowledged
    // deliveries holds it to one round trip per 10 messages (docs/scale.md)
    prefetch: Number(process.env.FLEET_RMQ_PREFETCH ?? 100),
    users: [
      centralUser('central', CENTRAL_PW),
      ...Array.from({ length: n }, (_, i) => officeUser(officeId(i), officePassword(officeId(i)))),
    ],
  });
  await cluster.start();
  const urls = cluster.urls();
  // Each office starts on "its" node (a third each) and knows the others in order.
  const rotate = (k: number) => urls.map((_, j) => urls[(k + j) % urls.length]!);
  return {
    name: 'rabbitmq',
    officeUrls: (i) => rotate(i % urls.length),
    // central reads on node 2
    centralUrls: () => rotate(1),
    pids: () => cluster.processIds(),
    async storm(fleet, round) {
      // Round 1 kills node 1, round 2 node 3: each holds a third of the fleet then (node 1's
      // third moved to node 2 in round 1; node 3's never moved). Central reads on node 2.
      const node = round === 1 ? 1 : 3;
      const affected = fleet.offices.filter((_, i) => i % urls.length === node - 1);
      await cluster.kill(node);
      return { affected, downFor: 0, revive: () => cluster.restart(node) };
    },
    destroy: () => cluster.destroy(),
  };
}

export interface StormResult {
  jitter: boolean;
  affected: number;
  /** from the broker back (mosquitto) or the node's death (cluster) until every office is back */
  allBackMs: number;
  p50BackMs: number;
  /** most connections completed in one 100 ms slot */
  peakPer100ms: number;
  /** CPU the broker spent from its restart (or the node's death) until every office was back */
  brokerCpuMs: number;
}

export interface BrokerResult {
  broker: string;
  offices: number;
  speedup: number;
  connectAllMs: number;
  window: { seconds: number; simulatedMinutes: number };
  /** messages the offices publish through the broker, per office per second */
  perOffice: {
    measured: number;
    realSpeed: number;
    commandsIn: number;
    bytes: Record<string, number>;
    byKind: Record<string, number>;
  };
  latencyMs: { p50: number; p99: number; n: number };
  broker_: {
    idleRssMiB: number;
    rssMiB: number;
    rssMiBPer100: number;
    cpuPct: number;
    idleCpuPct: number;
    cpuPctPer100: number;
    cpuPctPer100RealSpeed: number;
  };
  benchProcess: { cpuPct: number; rssMiB: number };
  storms: StormResult[];
  oracle: {
    gaps: number;
    missing: number;
    /** events that came after a later one of their office (and filled their hole) */
    late: number;
    duplicatesDropped: number;
    onlineTickets: number;
    onlineIssuedTwice: number;
    onlineUnanswered: number;
    drained: boolean;
  };
  centralUrl: string;
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`fleet: timed out waiting for ${what}`);
    await sleep(50);
  }
}

export async function runBroker(name: 'mosquitto' | 'rabbitmq', opts: FleetOptions): Promise<BrokerResult> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const n = opts.offices;
  const target = name === 'mosquitto' ? await mosquittoTarget(n, opts.downMs) : await rabbitTarget(n);
  let central: Central | null = null;
  let fleet: Fleet | null = null;
  try {
    const ids = Array.from({ length: n }, (_, i) => officeId(i));
    central = await startCentral(
      {
        port: opts.pagePort,
        mqttUrl: target.centralUrls(),
        mqttUser: 'central',
        mqttPassword: CENTRAL_PW,
        clientId: 'fleet-central',
        offices: ids,
      },
      pino({ level: process.env.BENCH_LOG ?? 'warn' }),
    );
    const c = central;
    await until(() => c.reader.isConnected(), 30_000, 'central');
    log(`${name}: central page ${central.url}`);
    // one ticket.issued per online ref at central (its view dedupes repeats by seq)
    const issuedRefs = new Map<string, number>();
    central.reader.onEvent((v, ev) => {
      if (ev.type === 'ticket.issued' && ev.ticket.ref)
        issuedRefs.set(`${v.id}:${ev.ticket.ref}`, (issuedRefs.get(`${v.id}:${ev.ticket.ref}`) ?? 0) + 1);
    });
    if (process.env.FLEET_DEBUG) {
      const last = new Map<string, number>();
      central.reader.onEvent((v, ev) => {
        const l = last.get(v.id);
        if (l !== undefined && ev.seq !== l + 1)
          log(
            `${name}: ${v.id} seq ${ev.seq} after ${l} (${ev.seq < l ? 'late' : 'gap'}) at ${Math.round(performance.now())}`,
          );
        if (l === undefined || ev.seq > l) last.set(v.id, ev.seq);
      });
    }
    const latencies: number[] = [];
    let measuring = false;
    central.reader.onEvent((v, ev) => {
      const key = `${v.id}:${ev.seq}`;
      const t = fleet?.emitted.get(key);
      if (t === undefined) return;
      fleet!.emitted.delete(key);
      if (measuring) latencies.push(performance.now() - t);
    });
    await sleep(2000);
    const idle0 = sample(target.pids());
    await sleep(3000);
    const idle1 = sample(target.pids());

    fleet = new Fleet({ speedup: opts.speedup, central, urls: (i) => target.officeUrls(i) });
    const f = fleet;
    const t0 = performance.now();
    await fleet.start(n);
    await until(() => f.connected() === n, 120_000, 'every office connected');
    const connectAllMs = performance.now() - t0;
    log(`${name}: ${n} offices connected in ${Math.round(connectAllMs)} ms`);
    fleet.startLoad();
    await sleep(10_000); // past the first burst (state and status of every office on connect)

    const counts0 = { ...central.reader.counts };
    const bytes0 = { ...central.reader.bytes };
    const cmd0 = fleet.online.size;
    const s0 = sample(target.pids());
    const me0 = process.cpuUsage();
    const w0 = performance.now();
    measuring = true;
    await sleep(opts.seconds * 1000);
    measuring = false;
    const windowSec = (performance.now() - w0) / 1000;
    const s1 = sample(target.pids());
    const me1 = process.cpuUsage(me0);
    const counts1 = { ...central.reader.counts };
    const bytes1 = { ...central.reader.bytes };
    const d = (k: keyof typeof counts0) => counts1[k] - counts0[k];
    const total = d('events') + d('state') + d('status') + d('cmd/result');
    const eventDriven = d('events') + d('state') + d('cmd/result');
    const lat = summarize(latencies);
    const idleCpu = cpuPct(idle0, idle1);
    const cpu = cpuPct(s0, s1);
    log(
      `${name}: ${(total / windowSec / n).toFixed(2)} msg/s per office at x${opts.speedup}; latency p50 ${lat.p50.toFixed(0)} ms p99 ${lat.p99.toFixed(0)} ms; broker ${Math.round(s1.rssBytes / 1048576)} MiB, ${cpu.toFixed(0)}% CPU`,
    );

    if (process.env.FLEET_SCREENSHOT) await screenshotPage(central.url, process.env.FLEET_SCREENSHOT);

    const storms: StormResult[] = [];
    if (opts.storm) {
      for (const [round, jitter] of [
        [1, true],
        [2, false],
      ] as const) {
        storms.push(await storm(target, fleet, round, jitter, log));
        await sleep(5000);
      }
    }

    fleet.stopLoad();
    const drained = await fleet.drained(180_000);
    const views = [...central.reader.offices.values()].filter((v) => ids.includes(v.id));
    const online = [...fleet.online.values()];
    const result: BrokerResult = {
      broker: name,
      offices: n,
      speedup: opts.speedup,
      connectAllMs: Math.round(connectAllMs),
      window: { seconds: Math.round(windowSec), simulatedMinutes: Math.round((windowSec * opts.speedup) / 60) },
      perOffice: {
        measured: round2(total / windowSec / n),
        realSpeed: round2((eventDriven / opts.speedup + d('status')) / windowSec / n),
        commandsIn: round2((fleet.online.size - cmd0) / windowSec / n),
        /** mean payload bytes of each kind */
        bytes: Object.fromEntries(
          (['events', 'state', 'status', 'cmd/result'] as const).map((k) => [
            k,
            d(k) > 0 ? Math.round((bytes1[k] - bytes0[k]) / d(k)) : 0,
          ]),
        ),
        byKind: Object.fromEntries(
          (['events', 'state', 'status', 'cmd/result'] as const).map((k) => [k, round2(d(k) / windowSec / n)]),
        ),
      },
      latencyMs: { p50: Math.round(lat.p50), p99: Math.round(lat.p99), n: lat.n },
      broker_: {
        idleRssMiB: Math.round(idle1.rssBytes / 1048576),
        rssMiB: Math.round(s1.rssBytes / 1048576),
        rssMiBPer100: round2(((s1.rssBytes - idle1.rssBytes) / 1048576 / n) * 100),
        cpuPct: round2(cpu),
        idleCpuPct: round2(idleCpu),
        cpuPctPer100: round2(((cpu - idleCpu) / n) * 100),
        cpuPctPer100RealSpeed: round2(((cpu - idleCpu) / n / opts.speedup) * 100),
      },
      benchProcess: {
        cpuPct: Math.round(((me1.user + me1.system) / 1e6 / windowSec) * 100),
        rssMiB: Math.round(process.memoryUsage().rss / 1048576),
      },
      storms,
      oracle: {
        gaps: views.reduce((s, v) => s + v.gaps, 0),
        missing: views.reduce((s, v) => s + v.missing, 0),
        late: views.reduce((s, v) => s + v.late, 0),
        duplicatesDropped: views.reduce((s, v) => s + v.duplicates, 0),
        onlineTickets: online.length,
        onlineIssuedTwice: [...issuedRefs.values()].filter((x) => x > 1).length,
        onlineUnanswered: online.filter((t) => !t.ok).length,
        drained,
      },
      centralUrl: central.url,
    };
    return result;
  } finally {
    await fleet?.stop();
    await central?.close();
    await target.destroy();
  }
}

async function storm(
  target: Target,
  fleet: Fleet,
  round: number,
  jitter: boolean,
  log: (l: string) => void,
): Promise<StormResult> {
  const random = Math.random;
  // Without jitter: every office draws the same "random" share, so all wait exactly alike.
  if (!jitter) Math.random = () => 1;
  try {
    const before = new Map(fleet.offices.map((o) => [o.id, o.connects.length]));
    let cpu0 = sample(target.pids());
    const { affected, revive, downFor } = await target.storm(fleet, round);
    const tDown = performance.now();
    log(`${target.name}: storm ${round} at ${Math.round(tDown)}`);
    await until(() => affected.every((o) => !o.bridge.parts.uplink!.connected()), 60_000, 'the offices to notice');
    let t0 = tDown;
    if (downFor > 0) {
      await sleep(downFor);
      await revive();
      t0 = performance.now();
      cpu0 = sample(target.pids());
    }
    await until(
      () => affected.every((o) => o.bridge.parts.uplink!.connected() && o.connects.length > before.get(o.id)!),
      180_000,
      'every office back',
    );
    const back = affected.map((o) => o.connects.at(-1)! - t0).sort((a, b) => a - b);
    const cpu1 = sample(target.pids());
    if (downFor === 0) await revive(); // the dead node comes back (nobody moves back to it)
    const slots = new Map<number, number>();
    for (const t of back) slots.set(Math.floor(t / 100), (slots.get(Math.floor(t / 100)) ?? 0) + 1);
    const r: StormResult = {
      jitter,
      affected: affected.length,
      allBackMs: Math.round(Math.max(0, back.at(-1)!)),
      p50BackMs: Math.round(Math.max(0, back[Math.floor(back.length / 2)]!)),
      peakPer100ms: Math.max(...slots.values()),
      brokerCpuMs: Math.round(cpuMs(cpu0, cpu1)),
    };
    log(
      `${target.name} storm ${jitter ? 'with' : 'without'} jitter: ${r.affected} offices back in ${r.allBackMs} ms (p50 ${r.p50BackMs}), peak ${r.peakPer100ms} per 100 ms`,
    );
    return r;
  } finally {
    Math.random = random;
  }
}

async function screenshotPage(url: string, file: string): Promise<void> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: process.env.BEONHO_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, locale: 'ko-KR' });
    await page.goto(url);
    await page.waitForFunction(() => document.querySelectorAll('[data-office]').length > 0, null, { timeout: 30_000 });
    await sleep(1500);
    await page.screenshot({ path: file });
  } finally {
    await browser.close();
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

export async function run(opts = fleetOptions()): Promise<BrokerResult[]> {
  const brokers = (process.env.FLEET_BROKERS ?? 'mosquitto,rabbitmq').split(',') as Array<'mosquitto' | 'rabbitmq'>;
  const out: BrokerResult[] = [];
  for (const b of brokers) out.push(await runBroker(b, opts));
  return out;
}

if (isMainModule(import.meta.url)) {
  run().then(
    (r) => {
      console.log(JSON.stringify(r, null, 2));
      process.exit(0);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
