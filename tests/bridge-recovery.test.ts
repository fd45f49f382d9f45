// Recovery and interop of the uplink against a real mosquitto: the retained state after each kind of
// action, events central refuses, a SIGKILLed daemon draining its outbox, and the MQTT 3.1.1
// fallback.
import { spawn } from 'node:child_process';
import { Aedes } from 'aedes';
import { createServer, type AddressInfo } from 'node:net';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import {
  assertContract,
  checkRetainedAfterEachAction,
  connect,
  connectInbox,
  Inbox,
  startOffice,
  tempDir,
  testConfig,
  waitFor,
} from './bridge-helpers.ts';
import { checkOrdered, MOSQUITTO_USERS, Mosquitto, mosquittoAvailable } from './bridge-mosquitto-server.ts';

const T = 'beonho/v1/singok2';
const users = MOSQUITTO_USERS;
const run = mosquittoAvailable();

describe.runIf(run)('retained state on mosquitto after each kind of action', () => {
  it('equals the queue snapshot after every command sent through central', async () => {
    const broker = new Mosquitto(users);
    await broker.start();
    const office = await startOffice(
      testConfig({
        broker: { enabled: false },
        uplink: {
          url: broker.url(),
          username: 'dev-singok2',
          password: 'dev-pw',
          reconnectMinMs: 50,
          reconnectMaxMs: 300,
        },
      }),
    );
    const c = await connect(broker.url(), { username: 'central', password: 'central-pw' });
    const results = new Inbox(c);
    await c.subscribeAsync(`${T}/cmd/result`, { qos: 1 });
    try {
      await waitFor(() => office.bridge.parts.uplink!.connected(), 10_000, 'uplink');
      let n = 0;
      const command = async (body: Record<string, unknown>) => {
        const id = `m-${++n}`;
        await c.publishAsync(`${T}/cmd`, JSON.stringify({ id, ...body }), { qos: 1 });
        await results.until(() => results.on('cmd/result').some((r) => r.id === id), 5000, `result ${id}`);
        return results.on('cmd/result').find((r) => r.id === id)!;
      };
      const retained = async () => {
        const { client, inbox } = await connectInbox(broker.url(), { username: 'central', password: 'central-pw' });
        await client.subscribeAsync(`${T}/state`, { qos: 1 });
        await inbox.until(() => inbox.on('state').length > 0, 5000, 'retained state');
        await client.endAsync();
        const m = inbox.messages[0]!;
        expect(m.retain).toBe(true);
        assertContract(m.topic, m.json);
        return m.json as Record<string, unknown>;
      };
      await checkRetainedAfterEachAction(office, command, retained);
    } finally {
      await c.endAsync();
      await office.stop();
      await broker.destroy();
    }
  });
});

describe.runIf(run)('a clean stop', () => {
  it('leaves a retained online:false with the current session on central', async () => {
    const broker = new Mosquitto(users);
    await broker.start();
    const office = await startOffice(
      testConfig({
        broker: { enabled: false },
        uplink: { url: broker.url(), username: 'dev-singok2', password: 'dev-pw' },
      }),
    );
    try {
      await waitFor(() => office.bridge.parts.uplink!.connected(), 10_000, 'uplink');
      const session = office.bridge.parts.uplink!.session;
      await office.stop();
      const { client, inbox } = await connectInbox(broker.url(), { username: 'central', password: 'central-pw' });
      await client.subscribeAsync(`${T}/devices/main/status`, { qos: 1 });
      await inbox.until(() => inbox.messages.length > 0, 5000, 'retained status');
      expect(inbox.messages[0]!.retain).toBe(true);
      expect(inbox.messages[0]!.json).toMatchObject({ online: false, session });
      assertContract(inbox.messages[0]!.topic, inbox.messages[0]!.json);
      await client.endAsync();
    } finally {
      await broker.destroy();
    }
  });
});

describe.runIf(run)('central refusing our events (MQTT 5 PUBACK reason code)', () => {
  it('keeps them in the outbox and logs event-publish-refused', async () => {
    const broker = new Mosquitto([
      // may publish state and status, but not events
      {
        username: 'dev-ro',
        password: 'ro-pw',
        acl: [
          'topic read beonho/v1/singok2/cmd',
          'topic write beonho/v1/singok2/state',
          'topic write beonho/v1/singok2/devices/#',
        ],
      },
    ]);
    await broker.start();
    const lines: Array<Record<string, unknown>> = [];
    const log = pino({ level: 'warn' }, { write: (l: string) => lines.push(JSON.parse(l)) });
    const office = await startOffice(
      testConfig({
        broker: { enabled: false },
        uplink: { url: broker.url(), username: 'dev-ro', password: 'ro-pw', reconnectMinMs: 50 },
      }),
      tempDir(),
      log,
    );
    try {
      await waitFor(() => office.bridge.parts.uplink!.connected(), 10_000, 'uplink');
      await office.queue.execute({ type: 'day.open' });
      await waitFor(() => lines.some((l) => l.code === 'event-publish-refused'), 10_000, 'refusal logged');
      const cursor = office.store.outbox.cursor('uplink');
      expect(cursor.acked()).toBe(0);
      expect(office.bridge.parts.events[0]!.idle()).toBe(false);
    } finally {
      await office.stop();
      await broker.destroy();
    }
  });
});

describe.runIf(run)('daemon SIGKILLed while offline', () => {
  it('drains its outbox after the restart', async () => {
    const broker = new Mosquitto(users);
    await broker.start();
    const url = broker.url();
    const sub = await connect(url, {
      username: 'central',
      password: 'central-pw',
      clientId: 'central-crash',
      clean: false,
      reconnectPeriod: 100,
    });
    const inbox = new Inbox(sub);
    await sub.subscribeAsync(`${T}/events`, { qos: 1 });
    await broker.stop();
    const dataDir = tempDir();
    const child = (issue: number) =>
      spawn(process.execPath, ['--import', 'tsx', 'bench/lib/office-child.ts'], {
        env: {
          ...process.env,
          DATA_DIR: dataDir,
          MQTT_URL: url,
          MQTT_USER: 'dev-singok2',
          MQTT_PASS: 'dev-pw',
          ISSUE: String(issue),
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
    const ready = (p: ReturnType<typeof child>) =>
      new Promise<number>((resolve, reject) => {
        let out = '';
        p.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /ready (\d+)/.exec(out);
          if (m) resolve(Number(m[1]));
        });
        p.once('exit', (code) => reject(new Error(`child exited ${code}`)));
      });
    const first = child(100);
    const last = await ready(first);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    await broker.start();
    const second = child(0);
    try {
      expect(await ready(second)).toBe(last);
      await inbox.until(() => inbox.on('events').some((e) => e.seq === last), 20_000, 'drained outbox');
      checkOrdered(
        inbox.on('events').map((e) => e.seq as number),
        1,
        last,
      );
    } finally {
      second.kill('SIGKILL');
      sub.end(true);
      await broker.destroy();
    }
  });
});

describe('MQTT 3.1.1 fallback', () => {
  it('connects to a broker that refuses MQTT 5 (aedes) after one refusal', async () => {
    const aedes = await Aedes.createBroker();
    const server = createServer(aedes.handle);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const office = await startOffice(
      testConfig({
        broker: { enabled: false },
        uplink: { url: `mqtt://127.0.0.1:${port}`, reconnectMinMs: 20, reconnectMaxMs: 100 },
      }),
    );
    try {
      await waitFor(() => office.bridge.parts.uplink!.connected(), 10_000, 'fallback connect');
      const c = await connect(`mqtt://127.0.0.1:${port}`);
      const inbox = new Inbox(c);
      await c.subscribeAsync(`${T}/#`, { qos: 1 });
      await inbox.until(
        () => inbox.on('state').length > 0 && inbox.on('status').length > 0,
        5000,
        'retained over 3.1.1',
      );
      await c.endAsync();
    } finally {
      await office.stop();
      await new Promise<void>((r) => aedes.close(() => r()));
      server.close();
    }
  });
});
