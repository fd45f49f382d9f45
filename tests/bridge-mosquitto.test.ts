import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import {
  assertContract,
  connect,
  connectInbox,
  Inbox,
  startOffice,
  testConfig,
  waitFor,
  type Office,
} from './bridge-helpers.ts';
import { checkOrdered, MOSQUITTO_USERS, Mosquitto, mosquittoAvailable } from './bridge-mosquitto-server.ts';

const T = 'beonho/v1/singok2';
const users = MOSQUITTO_USERS;
const run = mosquittoAvailable();

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
