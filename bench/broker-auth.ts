// A kiosk press (one ticket issued durably: the queue plus the journal's append and fdatasync)
// while 300 MQTT CONNECTs with bad credentials hit the embedded broker at once, as a ratio to the
// same press on an idle broker, measured in the same run (issue 12, defect 2). scrypt and fdatasync
// share libuv's thread pool; the broker verifies one login at a time, refuses a source whose logins
// keep failing without scrypt, and costs no scrypt for an unknown user name.
//   1. 300 unknown user names from one address;
//   2. 300 wrong passwords of a real account from 300 addresses (127.0.1.x, 127.0.2.x: the
//      per-source allowance does not help, only the one-at-a-time queue and the pending bound);
//   3. for reference, what the broker did before: 300 scrypt verifications started at once.
//   npx tsx bench/broker-auth.ts
import { mkdtemp, rm } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import * as path from 'node:path';
import pino from 'pino';
import { startBroker } from '../bridge/broker/broker.ts';
import { hashPassword, verifyPassword } from '../bridge/broker/passwords.ts';
import { brokerSchema } from '../device/config/mqtt-schema.ts';
import { openJournal, sequentialIds, twoServiceConfig } from './lib/durable-office.ts';
import { ms, now, ratio, summarize } from './stats.ts';
import { isMainModule } from '../device/util/main-module.ts';

const BURST = 300;
const IDLE_PRESSES = 200;
/** between two presses: a busy kiosk, and a day's number range lasts the whole run */
const PRESS_GAP_MS = 5;

export interface BrokerAuthScenario {
  name: string;
  presses: number;
  p50: number;
  p99: number;
  p50VsIdle: number;
  p99VsIdle: number;
  burstMs: number;
}

export interface BrokerAuthBenchResult {
  idle: { p50: number; p99: number; presses: number };
  scenarios: BrokerAuthScenario[];
}

function str(s: string): Buffer {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
}

function connectPacket(clientId: string, username: string, password: string): Buffer {
  const body = Buffer.concat([str('MQTT'), Buffer.from([4, 0xc2, 0, 60]), str(clientId), str(username), str(password)]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]); // bodies here stay under 128 bytes
}

/** One CONNECT; resolves with the CONNACK code, or null when the broker closed the socket first. */
function attempt(port: number, packet: Buffer, localAddress?: string): Promise<number | null> {
  return new Promise((resolve) => {
    const s = netConnect({ port, host: '127.0.0.1', ...(localAddress ? { localAddress } : {}) });
    let code: number | null = null;
    s.on('connect', () => s.write(packet));
    s.on('data', (d: Buffer) => {
      if (d[0] === 0x20 && d.length >= 4) code = d[3]!;
      s.destroy();
    });
    s.on('error', () => {});
    s.on('close', () => resolve(code));
  });
}

async function office(dir: string) {
  const cfg = twoServiceConfig();
  const { store, engine } = await openJournal({
    dir,
    config: cfg,
    start: Date.parse('2026-11-26T09:00:00+09:00'),
    newId: sequentialIds('b'),
  });
  store.attach(() => engine.state);
  const open = engine.execute({ type: 'day.open' });
  if (open.ok) await store.append(open.events);
  const services = cfg.services.map((s) => s.id);
  let n = 0;
  /** A kiosk press: the ticket is issued once its events are in the journal (fdatasync). */
  const press = async (): Promise<number> => {
    const t0 = now();
    const r = engine.execute({ type: 'ticket.issue', service: services[n++ % services.length]!, channel: 'kiosk' });
    if (!r.ok) throw new Error(r.error.code);
    await store.append(r.events);
    return now() - t0;
  };
  return { store, press };
}

/** Presses one after another until `burst` settles; returns their durations and the burst's. */
async function pressDuring(press: () => Promise<number>, burst: () => Promise<unknown>) {
  const samples: number[] = [];
  let done = false;
  const t0 = now();
  const running = burst().then(() => {
    done = true;
  });
  while (!done) {
    samples.push(await press());
    await new Promise((r) => setTimeout(r, PRESS_GAP_MS));
  }
  await running;
  return { samples, burstMs: now() - t0 };
}

export async function run(): Promise<BrokerAuthBenchResult> {
  // The journal's disk, not a tmpfs: the press is about fdatasync (as in bench/queue.ts).
  const dir = await mkdtemp(
    path.join(process.env.BEONHO_BENCH_DIR ?? path.resolve(import.meta.dirname, '..'), '.bench-auth-'),
  );
  const { store, press } = await office(dir);
  const passwordHash = await hashPassword('s3cret'); // the default cost of `npm run hash-password`
  const broker = await startBroker(
    brokerSchema.parse({ port: 0, wsPort: null, accounts: [{ username: 'central', passwordHash, role: 'central' }] }),
    pino({ level: 'silent' }),
  );
  const port = broker.ports.tcp!;
  try {
    for (let i = 0; i < 20; i++) await press(); // warm-up
    const idleSamples: number[] = [];
    for (let i = 0; i < IDLE_PRESSES; i++) {
      idleSamples.push(await press());
      await new Promise((r) => setTimeout(r, PRESS_GAP_MS));
    }
    const idle = summarize(idleSamples);
    const bursts: Array<[string, () => Promise<unknown>]> = [
      [
        `${BURST} unknown names, 1 address`,
        () =>
          Promise.all(
            Array.from({ length: BURST }, (_, i) => attempt(port, connectPacket(`x-${i}`, `nobody-${i}`, 'pw'))),
          ),
      ],
      [
        `${BURST} wrong passwords, ${BURST} addresses`,
        () =>
          Promise.all(
            Array.from({ length: BURST }, (_, i) =>
              attempt(
                port,
                connectPacket(`central-${i}`, 'central', 'wrong'),
                `127.0.${1 + (i >> 8)}.${(i % 254) + 1}`,
              ),
            ),
          ),
      ],
      [
        `before: ${BURST} scrypt at once`,
        () => Promise.all(Array.from({ length: BURST }, () => verifyPassword('wrong', passwordHash))),
      ],
    ];
    const scenarios: BrokerAuthScenario[] = [];
    for (const [name, burst] of bursts) {
      const { samples, burstMs } = await pressDuring(press, burst);
      const s = summarize(samples);
      scenarios.push({
        name,
        presses: s.n,
        p50: s.p50,
        p99: s.p99,
        p50VsIdle: s.p50 / idle.p50,
        p99VsIdle: s.p99 / idle.p99,
        burstMs,
      });
      await new Promise((r) => setTimeout(r, 500)); // let the broker's queue empty between bursts
    }
    return { idle: { p50: idle.p50, p99: idle.p99, presses: idle.n }, scenarios };
  } finally {
    await broker.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (isMainModule(import.meta.url)) {
  const r = await run();
  console.log(
    `  baseline: a press on an idle broker (${r.idle.presses})   p50 ${ms(r.idle.p50)}  p99 ${ms(r.idle.p99)}`,
  );
  for (const s of r.scenarios) {
    console.log(
      `  ${s.name.padEnd(36)} ${String(s.presses).padStart(4)} presses in ${ms(s.burstMs)}: p50 ${ms(s.p50)} (${ratio(s.p50, r.idle.p50)})  p99 ${ms(s.p99)} (${ratio(s.p99, r.idle.p99)})`,
    );
  }
}
