// The embedded broker in-process: accounts, ACL, retained state after each kind of action, ordered
// events, a central subscriber that was away, WebSocket access, and the listener safety checks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkBrokerConfig, BrokerConfigError } from '../bridge/broker/broker.ts';
import { hashPassword, verifyPassword } from '../bridge/broker/passwords.ts';
import { brokerSchema } from '../device/config/mqtt-schema.ts';
import {
  assertContract,
  checkRetainedAfterEachAction,
  connect,
  connectInbox,
  Inbox,
  logger,
  startOffice,
  testConfig,
  type Office,
} from './bridge-helpers.ts';

const T = 'beonho/v1/singok2';
let office: Office;
let url: string;

beforeAll(async () => {
  const displayHash = await hashPassword('board-pw', { N: 1024, r: 8, p: 1 });
  office = await startOffice(
    testConfig({
      broker: {
        port: 0,
        wsPort: 0,
        demo: true,
        accounts: [
          { username: 'board', passwordHash: displayHash, role: 'display' },
          { username: 'other-central', passwordHash: displayHash, role: 'central', offices: ['elsewhere'] },
        ],
      },
    }),
  );
  url = `mqtt://127.0.0.1:${office.bridge.parts.broker!.ports.tcp}`;
});
afterAll(async () => {
  await office?.stop();
});

let n = 0;
async function command(body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const c = await connect(url, { username: 'central', password: 'central' });
  const inbox = new Inbox(c);
  await c.subscribeAsync(`${T}/cmd/result`, { qos: 1 });
  const id = `t-${++n}`;
  await c.publishAsync(`${T}/cmd`, JSON.stringify({ id, ...body }), { qos: 1 });
  await inbox.until(() => inbox.on('cmd/result').some((r) => r.id === id), 5000, `result of ${id}`);
  await c.endAsync();
  const result = inbox.on('cmd/result').find((r) => r.id === id)!;
  assertContract(`${T}/cmd/result`, result);
  return result;
}

async function retainedState(): Promise<Record<string, unknown>> {
  const c = await connect(url, { username: 'board', password: 'board-pw' });
  const inbox = new Inbox(c);
  await c.subscribeAsync(`${T}/state`, { qos: 1 });
  await inbox.until(() => inbox.on('state').length > 0, 5000, 'retained state');
  await c.endAsync();
  const m = inbox.messages[0]!;
  expect(m.retain).toBe(true);
  assertContract(m.topic, m.json);
  return m.json as Record<string, unknown>;
}

describe('embedded broker', () => {
  it('refuses anonymous and wrong passwords', async () => {
    await expect(connect(url)).rejects.toThrow();
    await expect(connect(url, { username: 'central', password: 'wrong' })).rejects.toThrow();
    await expect(connect(url, { username: 'nobody', password: 'central' })).rejects.toThrow();
  });

  it('publishes a retained state matching the queue after each kind of action', async () => {
    await checkRetainedAfterEachAction(office, command, retainedState);
  });

  it('publishes every event in seq order without gaps, each valid against its schema', async () => {
    const c = await connect(url, { username: 'central', password: 'central' });
    const inbox = new Inbox(c);
    await c.subscribeAsync(`${T}/events`, { qos: 1 });
    const from = office.queue.state().seq;
    await command({ type: 'day.open' });
    for (let i = 0; i < 30; i++)
      await office.queue.execute({ type: 'ticket.issue', service: 'seal', channel: 'kiosk' });
    const last = office.queue.state().seq;
    await inbox.until(() => inbox.on('events').some((e) => e.seq === last), 5000, 'all events');
    const seqs = inbox.on('events').map((e) => e.seq as number);
    expect(seqs).toEqual(Array.from({ length: last - from }, (_, i) => from + 1 + i));
    for (const m of inbox.messages) assertContract(m.topic, m.json);
    await c.endAsync();
  });

  it('retains an online device status with a session, validated', async () => {
    const c = await connect(url, { username: 'board', password: 'board-pw' });
    const inbox = new Inbox(c);
    await c.subscribeAsync(`${T}/devices/+/status`, { qos: 1 });
    await inbox.until(() => inbox.messages.length > 0, 5000, 'status');
    const s = inbox.messages[0]!;
    assertContract(s.topic, s.json);
    expect(s.json).toMatchObject({ online: true, device: 'main', outbox: { backlog: 0 } });
    expect((s.json as { session: number }).session).toBeGreaterThan(0);
    await c.endAsync();
  });

  it('republishes the status when a hardware component reports its health', async () => {
    const { client, inbox } = await connectInbox(url, { username: 'central', password: 'central' });
    await client.subscribeAsync(`${T}/devices/main/status`, { qos: 1 });
    await inbox.until(() => inbox.messages.length > 0, 5000, 'status');
    office.bus.emit('healthChanged', {
      component: 'printer',
      health: { connected: false, lastError: 'printer-paper-out', lastErrorAt: '2026-11-26T10:00:00.000+09:00' },
    });
    await inbox.until(
      () => inbox.on('status').some((s) => (s.hardware as Record<string, unknown>)?.printer),
      5000,
      'health',
    );
    const s = inbox.on('status').at(-1)!;
    assertContract(`${T}/devices/main/status`, s);
    // beside the store's, which the daemon reports at start
    expect(s.hardware).toEqual({
      store: expect.objectContaining({ connected: true, lastError: null }),
      printer: { connected: false, lastError: 'printer-paper-out', lastErrorAt: '2026-11-26T10:00:00.000+09:00' },
    });
    await client.endAsync();
  });

  it('gives a central subscriber that was away everything on its return', async () => {
    const opts = { username: 'central', password: 'central', clientId: 'central-away', clean: false };
    const c1 = await connect(url, opts);
    await c1.subscribeAsync(`${T}/events`, { qos: 1 });
    await c1.endAsync();
    const from = office.queue.state().seq;
    for (let i = 0; i < 20; i++)
      await office.queue.execute({ type: 'ticket.issue', service: 'seal', channel: 'kiosk' });
    const last = office.queue.state().seq;
    const { client: c2, inbox } = await connectInbox(url, opts);
    await inbox.until(() => inbox.on('events').some((e) => e.seq === last), 5000, 'queued events');
    expect(inbox.on('events').map((e) => e.seq)).toEqual(Array.from({ length: last - from }, (_, i) => from + 1 + i));
    await c2.endAsync();
  });

  it('lets a display read state but not commands or results, and never command', async () => {
    const c = await connect(url, { username: 'board', password: 'board-pw' });
    const inbox = new Inbox(c);
    await c.subscribeAsync('beonho/v1/#', { qos: 1 });
    const watcher = await connect(url, { username: 'central', password: 'central' });
    const seen = new Inbox(watcher);
    await watcher.subscribeAsync(`${T}/#`, { qos: 1 });
    const before = office.queue.state().seq;
    // An ACL-denied publish gets no error under 3.1.1: the broker drops the connection instead.
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    c.publish(
      `${T}/cmd`,
      JSON.stringify({ id: 'from-board', type: 'ticket.issue', service: 'resident', channel: 'kiosk' }),
      { qos: 1 },
    );
    await closed;
    await command({ type: 'state.publish' });
    expect(office.queue.state().seq).toBe(before);
    expect(seen.on('cmd').some((m) => m.id === 'from-board')).toBe(false);
    expect(seen.on('cmd/result').some((m) => m.id === 'from-board')).toBe(false);
    expect(inbox.messages.some((m) => m.topic.endsWith('/cmd') || m.topic.endsWith('/cmd/result'))).toBe(false);
    expect(inbox.on('state').length).toBeGreaterThan(0);
    c.end(true);
    await watcher.endAsync();
  });

  it('refuses commands from a central of another office, and nobody may publish contract topics', async () => {
    for (const [user, pw, topic] of [
      ['other-central', 'board-pw', `${T}/cmd`],
      ['central', 'central', `${T}/state`],
      ['central', 'central', `${T}/events`],
      ['central', 'central', `${T}/cmd/result`],
      ['central', 'central', `${T}/devices/main/status`],
      ['central', 'central', '$SYS/x/new/clients'],
    ] as const) {
      const c = await connect(url, { username: user, password: pw });
      const closed = new Promise<void>((r) => c.once('close', () => r()));
      c.publish(topic, '{"id":"x","type":"day.open"}', { qos: 1 });
      await closed;
      c.end(true);
    }
    const s = await retainedState();
    expect(s.seq).toBe(office.queue.state().seq);
  });

  it('serves MQTT over WebSocket', async () => {
    const c = await connect(`ws://127.0.0.1:${office.bridge.parts.broker!.ports.ws}`, {
      username: 'central',
      password: 'central',
    });
    const inbox = new Inbox(c);
    await c.subscribeAsync(`${T}/state`, { qos: 1 });
    await inbox.until(() => inbox.on('state').length > 0, 5000, 'state over ws');
    await c.endAsync();
  });
});

describe('listener safety', () => {
  it('says which port is taken when a listener cannot bind', async () => {
    const taken = office.bridge.parts.broker!.ports.tcp;
    const { startBroker } = await import('../bridge/broker/broker.ts');
    const cfg = brokerSchema.parse({ port: taken, wsPort: null });
    await expect(startBroker(cfg, logger)).rejects.toMatchObject({ code: 'broker-listen-failed' });
  });

  it('refuses a non-loopback listener without accounts, and the demo account beyond loopback', () => {
    const open = brokerSchema.parse({ host: '0.0.0.0' });
    expect(() => checkBrokerConfig(open)).toThrow(BrokerConfigError);
    expect(() => checkBrokerConfig(open)).toThrow(/broker.accounts/);
    const demo = brokerSchema.parse({ host: '192.168.0.10', demo: true });
    expect(() => checkBrokerConfig(demo)).toThrow(/loopback/);
    expect(() => checkBrokerConfig(brokerSchema.parse({ host: '127.0.0.1' }))).not.toThrow();
  });

  it('hashes passwords with scrypt and verifies them', async () => {
    const h = await hashPassword('s3cret', { N: 1024, r: 8, p: 1 });
    expect(h).toMatch(/^scrypt\$1024\$8\$1\$/);
    expect(await verifyPassword('s3cret', h)).toBe(true);
    expect(await verifyPassword('s3cret!', h)).toBe(false);
    expect(await verifyPassword('s3cret', 'plain')).toBe(false);
  });
});
