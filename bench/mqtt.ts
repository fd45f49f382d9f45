// MQTT benchmark, in one run against a local mosquitto:
//  1. replay of a 10,000-event offline backlog from the durable outbox (time, events/s, peak RSS),
//  2. beside a bare mqtt.js client publishing the same 10,000 payloads at QoS 1 (goal: the
//     replay reaches at least half the bare rate),
//  3. state coalescing under a burst of 100 presses in one second (state messages per second).
//   npx tsx bench/mqtt.ts
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mqttSchema } from '../device/config/mqtt-schema.ts';
import { Mosquitto, mosquittoAvailable } from './lib/mosquitto.ts';
import { connect, Inbox, tempDir, waitFor } from './lib/mqtt-client.ts';
import { type Office, officeConfig, startOffice } from './lib/office.ts';
import { isMainModule } from '../device/util/main-module.ts';

export interface MqttBenchResult {
  events: number;
  bare: { ms: number; eventsPerSec: number };
  /** peakRssMiB: the replaying (daemon-like) process alone; idleRssMiB: the same process with an
   * empty store and no link, for comparison (tsx, the queue, the store and the bridge loaded) */
  replay: { ms: number; eventsPerSec: number; peakRssMiB: number; idleRssMiB: number; window: number };
  replayVsBare: number;
  burst: {
    presses: number;
    seconds: number;
    stateMessages: number;
    stateMessagesPerSec: number;
    lastStateIsLatest: boolean;
  };
}

const EVENTS = 10_000;
const T = 'beonho/v1/singok2';
const users = [
  { username: 'dev', password: 'dev-pw', acl: ['topic readwrite beonho/#'] },
  { username: 'central', password: 'central-pw', acl: ['topic readwrite beonho/#'] },
];

/** Issue, call and complete tickets across services until the journal holds `count` events. */
async function fillBacklog(office: Office, count: number): Promise<void> {
  const q = office.queue;
  await q.execute({ type: 'day.open' });
  const plan: Array<[string, string]> = [
    ['resident', '1'],
    ['seal', '2'],
    ['passport', '3'],
    ['welfare', '4'],
  ];
  let i = 0;
  while (q.state().seq < count - 10) {
    const [service, counter] = plan[i++ % plan.length]!;
    // Ten actions at once: the store writes them with one fsync (group commit), as in a rush.
    const batch: Array<Promise<unknown>> = [];
    for (let k = 0; k < 5; k++)
      batch.push(q.execute({ type: 'ticket.issue', service, channel: k % 2 ? 'online' : 'kiosk' }));
    for (let k = 0; k < 5; k++) batch.push(q.execute({ type: 'counter.next', counter }));
    await Promise.all(batch);
  }
  let n = 0;
  while (q.state().seq < count) await q.execute({ type: 'notice.set', text: `공지 ${++n}` });
}

async function bare(url: string, payloads: string[], central: Inbox): Promise<number> {
  const client = await connect(url, { username: 'dev', password: 'dev-pw', clientId: 'bench-bare' });
  const before = central.messages.length;
  const t0 = performance.now();
  await Promise.all(payloads.map((p) => client.publishAsync(`${T}/events`, p, { qos: 1 })));
  const ms = performance.now() - t0;
  await waitFor(() => central.messages.length - before >= payloads.length, 30_000, 'bare delivery');
  await client.endAsync();
  return ms;
}

export async function run(): Promise<MqttBenchResult> {
  if (!mosquittoAvailable())
    throw new Error('bench/mqtt.ts needs mosquitto: apt-get install -y mosquitto mosquitto-clients');
  const broker = new Mosquitto(users);
  await broker.start();
  const url = broker.url();
  const sub = await connect(url, { username: 'central', password: 'central-pw', clientId: 'bench-central' });
  const central = new Inbox(sub);
  await sub.subscribeAsync(`${T}/events`, { qos: 1 });
  const dataDir = tempDir('beonho-bench-mqtt-');
  try {
    // 1. the backlog, produced while central is unreachable (a dead port)
    const dead = 'mqtt://127.0.0.1:9';
    const offline = await startOffice(
      officeConfig({ broker: { enabled: false }, uplink: { url: dead, reconnectMaxMs: 60000 } }),
      dataDir,
    );
    await fillBacklog(offline, EVENTS);
    const cursor = offline.store.outbox.cursor('bench-payloads');
    const events = await cursor.read(0, EVENTS + 100);
    const payloads = events.map((e) => JSON.stringify(e));
    await offline.stop();

    // 2. the bare client, same payloads
    const bareMs = await bare(url, payloads, central);

    // 3. the replay: a daemon-like child restarts on the same data with central reachable; it
    //    reports the time from connect to the last PUBACK and its own peak RSS
    central.messages.length = 0;
    const window = Number(process.env.BENCH_MQTT_WINDOW ?? mqttSchema.parse({}).events.window);
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('./lib/office-child.ts', import.meta.url))],
      {
        env: {
          ...process.env,
          DATA_DIR: dataDir,
          MQTT_URL: url,
          MQTT_USER: 'dev',
          MQTT_PASS: 'dev-pw',
          REPORT_DRAIN: '1',
          WINDOW: String(window),
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const idle = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('./lib/office-child.ts', import.meta.url))],
      {
        env: { ...process.env, DATA_DIR: tempDir('beonho-bench-idle-'), MQTT_URL: 'mqtt://127.0.0.1:9' },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const idleRssKiB = await new Promise<number>((resolve, reject) => {
      let out = '';
      idle.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /ready \d+ (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      idle.once('exit', (code) => reject(new Error(`idle child exited ${code}`)));
    });
    idle.kill('SIGKILL');
    const drained = await new Promise<{ ms: number; rssKiB: number }>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /drained (\d+) (\d+)/.exec(out);
        if (m) resolve({ ms: Number(m[1]), rssKiB: Number(m[2]) });
      });
      child.once('exit', (code) => reject(new Error(`replay child exited ${code}`)));
    });
    child.kill('SIGKILL');
    const replayMs = drained.ms;
    const rssPeak = drained.rssKiB * 1024;
    await waitFor(() => central.on('events').length >= payloads.length, 30_000, 'replay delivery');

    // 4. a burst of 100 presses in one second, state coalesced (default 250 ms)
    const stateSub = await connect(url, { username: 'central', password: 'central-pw' });
    const states = new Inbox(stateSub);
    await stateSub.subscribeAsync(`${T}/state`, { qos: 1 });
    await waitFor(() => states.messages.length > 0, 5000, 'retained state');
    states.messages.length = 0;
    const burstOffice = await startOffice(
      officeConfig({
        broker: { enabled: false },
        state: { minIntervalMs: 250 },
        uplink: { url, username: 'dev', password: 'dev-pw', clientId: 'bench-burst' },
      }),
    );
    await waitFor(() => burstOffice.bridge.parts.uplink!.connected(), 10_000, 'burst uplink');
    await new Promise((r) => setTimeout(r, 300));
    states.messages.length = 0;
    if (!burstOffice.queue.state().open) await burstOffice.queue.execute({ type: 'day.open' });
    const b0 = performance.now();
    for (let i = 0; i < 100; i++) {
      void burstOffice.queue.execute({ type: 'ticket.issue', service: 'resident', channel: 'kiosk' });
      await new Promise((r) => setTimeout(r, 10));
    }
    const seconds = (performance.now() - b0) / 1000;
    await new Promise((r) => setTimeout(r, 600));
    const lastSeq = burstOffice.queue.state().seq;
    const burstStates = states.on('state');
    await stateSub.endAsync();
    await burstOffice.stop();

    const bareRate = payloads.length / (bareMs / 1000);
    const replayRate = payloads.length / (replayMs / 1000);
    return {
      events: payloads.length,
      bare: { ms: Math.round(bareMs), eventsPerSec: Math.round(bareRate) },
      replay: {
        ms: Math.round(replayMs),
        eventsPerSec: Math.round(replayRate),
        peakRssMiB: Math.round(rssPeak / 1048576),
        idleRssMiB: Math.round(idleRssKiB / 1024),
        window,
      },
      replayVsBare: Math.round((replayRate / bareRate) * 100) / 100,
      burst: {
        presses: 100,
        seconds: Math.round(seconds * 100) / 100,
        stateMessages: burstStates.length,
        stateMessagesPerSec: Math.round((burstStates.length / (seconds + 0.6)) * 10) / 10,
        lastStateIsLatest: burstStates.at(-1)?.seq === lastSeq,
      },
    };
  } finally {
    sub.end(true);
    await broker.destroy();
  }
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
