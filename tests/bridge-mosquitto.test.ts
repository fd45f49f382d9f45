// The uplink against a real mosquitto (password file + ACL file): retained state and status, the
// will, ordered events, a central that was away, a link cut mid-stream, a SIGKILLed daemon,
// command results on an MQTT 5 response topic, and the ACL refusing a non-central command.
import { spawn } from 'node:child_process';
import { Aedes } from 'aedes';
import { createServer, type AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import {
  assertContract,
  checkRetainedAfterEachAction,
  connect,
  connectInbox,
  Inbox,
  Mosquitto,
  mosquittoAvailable,
  startOffice,
  tempDir,
  testConfig,
  waitFor,
  type Office,
} from './bridge-helpers.ts';

const T = 'beonho/v1/singok2';
const users = [
  { username: 'dev-singok2', password: 'dev-pw', acl: ['topic readwrite beonho/v1/singok2/#'] },
  { username: 'central', password: 'central-pw', acl: ['topic readwrite beonho/v1/#', 'topic read central/replies/#'] },
  {
    username: 'viewer',
    password: 'viewer-pw',
    acl: ['topic read beonho/v1/+/state', 'topic read beonho/v1/+/cmd/result', 'topic write beonho/v1/+/cmd-not'],
  },
];
// The response topic is written by the device: give it the right.
users[0]!.acl.push('topic write central/replies/#');

const run = mosquittoAvailable();

/** Seqs in arrival order must, after dropping repeats, be strictly increasing without gaps. */
function checkOrdered(seqs: number[], from: number, to: number): void {
  const firsts: number[] = [];
  const seen = new Set<number>();
  for (const s of seqs) {
    if (seen.has(s)) continue;
    seen.add(s);
    firsts.push(s);
  }
  expect(firsts).toEqual(Array.from({ length: to - from + 1 }, (_, i) => from + i));
}

describe.runIf(run)('uplink to mosquitto', () => {
  const broker = new Mosquitto(users);
  let office: Office;
  const uplink = (extra: Record<string, unknown> = {}) =>
    testConfig({
      broker: { port: 0, wsPort: null, demo: true },
      uplink: {
        url: broker.url(),
        username: 'dev-singok2',
        password: 'dev-pw',
        reconnectMinMs: 50,
        reconnectMaxMs: 300,
        ...extra,
      },
    });
  const central = (opts: Record<string, unknown> = {}): Promise<MqttClient> =>
    connect(broker.url(), { username: 'central', password: 'central-pw', protocolVersion: 5, ...opts });

  beforeAll(async () => {
    await broker.start();
    office = await startOffice(uplink());
    await waitFor(() => office.bridge.parts.uplink!.connected(), 10_000, 'uplink');
    await office.queue.execute({ type: 'day.open' });
  });
  afterAll(async () => {
    await office?.stop();
    await broker.destroy();
  });

  it('refuses an unauthenticated client', async () => {
    await expect(connect(broker.url())).rejects.toThrow();
    await expect(connect(broker.url(), { username: 'central', password: 'nope' })).rejects.toThrow();
  });

  it('keeps the retained state and an online status with a session on central', async () => {
    await office.queue.execute({ type: 'ticket.issue', service: 'resident', channel: 'kiosk' });
    const c = await central();
    const inbox = new Inbox(c);
    await c.subscribeAsync([`${T}/state`, `${T}/devices/+/status`], { qos: 1 });
    const seq = office.queue.state().seq;
    await inbox.until(
      () => inbox.on('state').some((s) => s.seq === seq) && inbox.on('status').length > 0,
      5000,
      'state+status',
    );
    for (const m of inbox.messages) assertContract(m.topic, m.json);
    expect(inbox.messages.every((m) => m.retain)).toBe(true);
    expect(inbox.on('status')[0]).toMatchObject({ online: true, device: 'main' });
    await c.endAsync();
  });

  it('publishes the will (online:false) when the link dies, then a newer session online', async () => {
    const c = await central();
    const inbox = new Inbox(c);
    await c.subscribeAsync(`${T}/devices/main/status`, { qos: 1 });
    await inbox.until(() => inbox.messages.length > 0, 5000, 'status');
    const before = inbox.on('status').at(-1)!.session as number;
    // Tear the TCP connection down without DISCONNECT: the broker sends the will.
    (office.bridge.parts.uplink as unknown as { client: MqttClient }).client.stream.destroy();
    await inbox.until(() => inbox.on('status').some((s) => s.online === false), 5000, 'will');
    const will = inbox.on('status').find((s) => s.online === false)!;
    assertContract(`${T}/devices/main/status`, will);
    expect(will.session).toBe(before);
    await inbox.until(
      () => inbox.on('status').some((s) => s.online === true && (s.session as number) > before),
      5000,
      'rebirth',
    );
    await c.endAsync();
  });

  it('answers a command on cmd/result and on its MQTT 5 response topic with the correlation data', async () => {
    const c = await central();
    const replies: Array<{ topic: string; body: Record<string, unknown>; corr?: Buffer }> = [];
    c.on('message', (topic, payload, packet) =>
      replies.push({ topic, body: JSON.parse(payload.toString()), corr: packet.properties?.correlationData }),
    );
    await c.subscribeAsync(['central/replies/7', `${T}/cmd/result`], { qos: 1 });
    await c.publishAsync(
      `${T}/cmd`,
      JSON.stringify({ id: 'web-1', type: 'ticket.issue', service: 'passport', channel: 'online', ref: 'r-9' }),
      {
        qos: 1,
        properties: { responseTopic: 'central/replies/7', correlationData: Buffer.from('corr-1') },
      },
    );
    await waitFor(() => replies.length >= 2, 5000, 'two replies');
    const onResponse = replies.find((r) => r.topic === 'central/replies/7')!;
    expect(onResponse.corr?.toString()).toBe('corr-1');
    expect(onResponse.body).toMatchObject({
      id: 'web-1',
      ok: true,
      result: { ticket: { service: 'passport', channel: 'online', ref: 'r-9' } },
    });
    expect(replies.find((r) => r.topic.endsWith('cmd/result'))!.body).toEqual(onResponse.body);
    assertContract(`${T}/cmd/result`, onResponse.body);
    await c.endAsync();
  });

  it('does not act on a command from a client without the central role', async () => {
    const watcher = await central();
    const seen = new Inbox(watcher);
    await watcher.subscribeAsync(`${T}/#`, { qos: 1 });
    const v = await connect(broker.url(), { username: 'viewer', password: 'viewer-pw' });
    const seq = office.queue.state().seq;
    // Under 3.1.1 mosquitto acknowledges a denied QoS 1 publish; only delivery tells.
    await v.publishAsync(`${T}/cmd`, JSON.stringify({ id: 'viewer-1', type: 'day.close' }), { qos: 1 });
    // a marker command from central, processed after the viewer's would have been
    await watcher.publishAsync(`${T}/cmd`, JSON.stringify({ id: 'marker-1', type: 'state.publish' }), { qos: 1 });
    await seen.until(() => seen.on('cmd/result').some((r) => r.id === 'marker-1'), 5000, 'marker');
    expect(seen.on('cmd').some((m) => m.id === 'viewer-1')).toBe(false);
    expect(seen.on('cmd/result').some((m) => m.id === 'viewer-1')).toBe(false);
    expect(office.queue.state().seq).toBe(seq);
    expect(office.queue.state().open).toBe(true);
    await v.endAsync();
    await watcher.endAsync();
  });

  it('gives a central that was away every event, in order, on its return', async () => {
    const opts = { clientId: 'central-away', clean: false, protocolVersion: 4 as const };
    const c1 = await central(opts);
    await c1.subscribeAsync(`${T}/events`, { qos: 1 });
    await c1.endAsync();
    const from = office.queue.state().seq + 1;
    for (let i = 0; i < 50; i++)
      await office.queue.execute({ type: 'ticket.issue', service: 'seal', channel: 'kiosk' });
    const to = office.queue.state().seq;
    await waitFor(() => office.bridge.parts.events.every((p) => p.idle()), 10_000, 'outbox drained');
    const { client: c2, inbox } = await connectInbox(broker.url(), {
      username: 'central',
      password: 'central-pw',
      ...opts,
    });
    await inbox.until(() => inbox.on('events').some((e) => e.seq === to), 10_000, 'queued events');
    for (const m of inbox.messages) assertContract(m.topic, m.json);
    checkOrdered(
      inbox
        .on('events')
        .map((e) => e.seq as number)
        .filter((s) => s >= from),
      from,
      to,
    );
    await c2.endAsync();
  });

  it('loses nothing across a link cut mid-stream: 200 tickets while mosquitto is down', async () => {
    const sub = await central({ clientId: 'central-cut', clean: false, protocolVersion: 4, reconnectPeriod: 100 });
    const inbox = new Inbox(sub);
    await sub.subscribeAsync(`${T}/events`, { qos: 1 });
    const from = office.queue.state().seq + 1;
    for (let i = 0; i < 20; i++)
      await office.queue.execute({ type: 'ticket.issue', service: 'resident', channel: 'kiosk' });
    await broker.stop();
    await waitFor(() => !office.bridge.parts.uplink!.connected(), 5000, 'uplink down');
    for (let i = 0; i < 200; i++)
      await office.queue.execute({ type: 'ticket.issue', service: 'resident', channel: 'online' });
    const to = office.queue.state().seq;
    await broker.start();
    await inbox.until(() => inbox.on('events').some((e) => e.seq === to), 20_000, 'all events after the cut');
    checkOrdered(
      inbox
        .on('events')
        .map((e) => e.seq as number)
        .filter((s) => s >= from),
      from,
      to,
    );
    sub.end(true);
  });
});

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
      spawn(process.execPath, ['--import', 'tsx', 'tests/bridge-office-child.ts'], {
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
