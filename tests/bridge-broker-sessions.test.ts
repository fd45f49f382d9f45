// What one account can make the embedded broker hold: persistent sessions bounded as mosquitto
// bounds them (a queue per session while it is away, an end to a session away too long, a number
// of sessions per account), live connections per account, and QoS 2 publishes left waiting for
// their PUBREL. A display account that abandoned 300 sessions on `#` took the daemon from 265 to
// 586 MiB; a satellite account that withheld PUBRELs held ~77 MiB per connection.
import type { MqttClient } from 'mqtt';
import aedesPersistence from 'aedes-persistence';
import type { Client } from 'aedes';
import { describe, expect, it, vi } from 'vitest';
import { createLogin } from '../bridge/broker/login.ts';
import { hashPassword } from '../bridge/broker/passwords.ts';
import { type QueuePersistence, Sessions } from '../bridge/broker/sessions.ts';
import pino from 'pino';
import { connectInbox } from '../bench/lib/mqtt-client.ts';
import {
  brokerTestScope,
  connectPacket,
  mqttConnect,
  RawClient,
  startTestBroker,
  until,
  varint,
} from './bridge-broker-raw.ts';

const STATE = 'beonho/v1/singok2/state';
const CMD = 'beonho/v1/singok2/cmd';
const central = { username: 'central', password: 'central' };

const scope = brokerTestScope();

async function client(url: string, opts: Record<string, unknown>): Promise<MqttClient> {
  const c = await mqttConnect(url, { ...central, ...opts });
  scope.clients.push(c);
  return c;
}

const refusal = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'connected',
    (e: Error) => e.message,
  );

describe('a persistent session away', () => {
  it('queues at most limits.sessionQueue messages, then drops later ones for it and says so', async () => {
    const b = await startTestBroker({ limits: { sessionQueue: 5 } });
    scope.broker = b.broker;
    const url = `mqtt://127.0.0.1:${b.port}`;
    const away = await client(url, { clientId: 'central-away', clean: false });
    await away.subscribeAsync(STATE, { qos: 1 });
    await away.endAsync();
    for (let i = 0; i < 20; i++) await b.broker.publish(STATE, `{"n":${i}}`, { qos: 1, retain: false });
    expect(b.log.withCode('mqtt-session-queue-full')).toHaveLength(1);
    const { client: back, inbox } = await connectInbox(url, { ...central, clientId: 'central-away', clean: false });
    scope.clients.push(back);
    const got = () => inbox.messages.map((m) => (m.json as { n: unknown }).n);
    await inbox.until(() => got().length >= 5, 10_000, 'the queued messages');
    // a live message published once the queue is in comes after anything else the session held
    await b.broker.publish(STATE, '{"n":"live"}', { qos: 1, retain: false });
    await inbox.until(() => got().includes('live'), 10_000, 'the live message');
    expect(got()).toEqual([0, 1, 2, 3, 4, 'live']);
  });

  it('ends after sessionExpiryMs away: subscriptions, queue and client id gone', async () => {
    const memory = aedesPersistence as unknown as () => QueuePersistence & {
      addSubscriptions(c: { id: string }, subs: Array<{ topic: string; qos: number }>): Promise<void>;
      subscriptionsByClient(c: { id: string }): Promise<unknown[]>;
    };
    const expired: string[] = [];
    const dropped: number[] = [];
    const sessions = new Sessions(
      { maxQueued: 3, expiryMs: 40, perAccount: 2 },
      { dropped: (_id, n) => dropped.push(n), expired: (id) => expired.push(id) },
    );
    const p = sessions.wrap(memory());
    const c = { id: 'board-1', clean: false } as Client;
    sessions.opened(c, 'board');
    await p.addSubscriptions({ id: c.id }, [{ topic: STATE, qos: 1 }]);
    sessions.closed(c, 'board');
    for (let i = 0; i < 7; i++) await p.outgoingEnqueueCombi([{ clientId: c.id }], packet(i));
    expect(await queued(p, c.id)).toBe(3);
    expect(dropped).toEqual([1, 4]); // the first dropped, then one in every maxQueued
    await new Promise((r) => setTimeout(r, 120));
    expect(expired).toEqual(['board-1']);
    expect(await queued(p, c.id)).toBe(0);
    expect(await p.subscriptionsByClient({ id: c.id })).toEqual([]);
    // a session back in time is not ended
    const d = { id: 'board-2', clean: false } as Client;
    sessions.opened(d, 'board');
    sessions.closed(d, 'board');
    sessions.opened(d, 'board');
    await new Promise((r) => setTimeout(r, 80));
    expect(expired).toEqual(['board-1']);
    sessions.close();
  });

  it('leaves nothing counted for a session that a clean login with its id ended, however many ids', async () => {
    // a session that overflowed kept its count of dropped messages after a clean login ended it
    // (no expiry comes for it then): one entry more per id, for as long as the daemon ran
    const sessions = new Sessions(
      { maxQueued: 2, expiryMs: 60_000, perAccount: 8 },
      { dropped: () => undefined, expired: () => undefined },
    );
    const p = sessions.wrap((aedesPersistence as unknown as () => QueuePersistence)());
    for (let i = 0; i < 200; i++) {
      const id = `board-${i}`;
      sessions.opened({ id, clean: false } as Client, 'board');
      sessions.closed({ id, clean: false } as Client, 'board');
      for (let n = 0; n < 3; n++) await p.outgoingEnqueueCombi([{ clientId: id }], packet(n));
      sessions.opened({ id, clean: true } as Client, 'board');
      // what aedes does with a clean login's queue: each packet cleared
      for await (const queuedPacket of p.outgoingStream({ id })) await p.outgoingClearMessageId({ id }, queuedPacket);
    }
    const held = sessions as unknown as Record<'queues' | 'droppedFor' | 'timers', Map<string, unknown>>;
    expect([held.queues.size, held.droppedFor.size, held.timers.size]).toEqual([0, 0, 0]);
    sessions.close();
  });

  it('counts an account to sessionsPerAccount sessions; one more is refused, a clean one is not', async () => {
    const b = await startTestBroker({ limits: { sessionsPerAccount: 2 } });
    scope.broker = b.broker;
    const url = `mqtt://127.0.0.1:${b.port}`;
    await client(url, { clientId: 'central-p1', clean: false });
    const p2 = await client(url, { clientId: 'central-p2', clean: false });
    await p2.endAsync(); // away, still a session
    expect(await refusal(mqttConnect(url, { ...central, clientId: 'central-p3', clean: false }))).toMatch(
      /unavailable/i,
    );
    expect(b.log.withCode('mqtt-too-many-sessions')).toHaveLength(1);
    await client(url, { clientId: 'central-c', clean: true });
    await client(url, { clientId: 'central-p2', clean: false }); // its own session comes back
    // a clean login with a session's id ends that session, which frees its place
    const p1 = scope.clients[0]!;
    await p1.endAsync();
    await client(url, { clientId: 'central-p1', clean: true });
    await client(url, { clientId: 'central-p3', clean: false });
  });
});

describe('acknowledgements of messages nobody queued', () => {
  it('leave nothing in the store: a clean session’s PUBACK and PUBCOMP, however many client ids', async () => {
    // aedes-persistence's memory store made an empty queue for each id that acknowledged anything
    // and kept it for good: a board's password, a new id and one PUBACK a login grew the daemon.
    const proto = Object.getPrototypeOf((aedesPersistence as unknown as () => QueuePersistence)()) as QueuePersistence;
    const store = vi.spyOn(proto, 'outgoingClearMessageId');
    try {
      const b = await startTestBroker({});
      scope.broker = b.broker;
      for (let i = 0; i < 20; i++) {
        const r = new RawClient(b.port);
        scope.raws.push(r);
        await r.opened;
        r.write(connectPacket({ clientId: `central-ack-${i}`, ...central }));
        expect(await r.connack()).toBe(0);
        // PUBACK 1, PUBCOMP 2, then a PINGREQ: its PINGRESP comes once the others were handled
        r.write(Buffer.from([0x40, 0x02, 0x00, 0x01, 0x70, 0x02, 0x00, 0x02, 0xc0, 0x00]));
        await r.receivedAtLeast(4 + 2);
        expect(r.received.subarray(4)).toEqual(Buffer.from([0xd0, 0x00]));
        r.destroy();
      }
      expect(store.mock.calls.map(([c]) => c.id).filter((id) => id.startsWith('central-ack-'))).toEqual([]);
      // what a persistent session was queued is still cleared by its acknowledgement
      const away = await client(`mqtt://127.0.0.1:${b.port}`, { clientId: 'central-queued', clean: false });
      await away.subscribeAsync(STATE, { qos: 1 });
      await away.endAsync();
      await b.broker.publish(STATE, '{"n":1}', { qos: 1, retain: false });
      const { client: back, inbox } = await connectInbox(`mqtt://127.0.0.1:${b.port}`, {
        ...central,
        clientId: 'central-queued',
        clean: false,
      });
      scope.clients.push(back);
      await inbox.until(() => inbox.messages.length > 0, 10_000, 'the queued message');
      await back.endAsync();
      // acknowledged, so cleared: back again, the session has nothing left to send
      const again = new RawClient(b.port);
      scope.raws.push(again);
      await again.opened;
      again.write(connectPacket({ clientId: 'central-queued', ...central, clean: false }));
      expect(await again.connack()).toBe(0);
      again.write(Buffer.from([0xc0, 0x00]));
      await again.receivedAtLeast(4 + 2);
      expect(again.received.subarray(4)).toEqual(Buffer.from([0xd0, 0x00]));
    } finally {
      store.mockRestore();
    }
  });
});

describe('the queues of persistent sessions', () => {
  it('are not kept in the memory store, which never lets an id’s queue go: one left per session ever opened', async () => {
    // aedes-persistence's memory store made a queue for every id that had a message queued, or sent
    // a PUBREC for a packet id it never had, and has no call that removes one: a board's account
    // opening persistent sessions with new ids (and ending them with a clean login) grew the
    // daemon by one empty queue each, for as long as it ran.
    const proto = Object.getPrototypeOf((aedesPersistence as unknown as () => QueuePersistence)()) as QueuePersistence;
    const calls = (
      ['outgoingEnqueue', 'outgoingEnqueueCombi', 'outgoingUpdate', 'outgoingClearMessageId'] as const
    ).map((name) => vi.spyOn(proto, name));
    try {
      const b = await startTestBroker({});
      scope.broker = b.broker;
      const url = `mqtt://127.0.0.1:${b.port}`;
      for (let i = 0; i < 10; i++) {
        const clientId = `central-gone-${i}`;
        const away = await client(url, { clientId, clean: false });
        await away.subscribeAsync(STATE, { qos: 1 });
        await away.endAsync();
        await b.broker.publish(STATE, `{"n":${i}}`, { qos: 1, retain: false });
        const { client: back, inbox } = await connectInbox(url, { ...central, clientId, clean: false });
        scope.clients.push(back);
        await inbox.until(() => inbox.messages.length > 0, 10_000, 'the queued message');
        await back.endAsync();
        // a PUBREC for a packet id never sent, then a PINGREQ
        const r = new RawClient(b.port);
        scope.raws.push(r);
        await r.opened;
        r.write(connectPacket({ clientId, ...central, clean: false }));
        expect(await r.connack()).toBe(0);
        r.write(Buffer.from([0x50, 0x02, 0x12, 0x34, 0xc0, 0x00]));
        await Promise.race([r.closed, r.receivedAtLeast(4 + 2)]);
        r.destroy();
        // a clean login with the id ends the session
        await (await client(url, { clientId, clean: true })).endAsync();
      }
      const whom = (c: { clientId: string } | { id: string }): string => ('clientId' in c ? c.clientId : c.id);
      const ids = calls.flatMap((spy) => spy.mock.calls.flatMap(([c]) => [c].flat().map(whom)));
      expect(ids.filter((id) => String(id).startsWith('central-gone-'))).toEqual([]);
    } finally {
      for (const spy of calls) spy.mockRestore();
    }
  });
});

describe('one account', () => {
  it('holds at most connectionsPerAccount live connections; a takeover of its own id is not one more', async () => {
    const b = await startTestBroker({ limits: { connectionsPerAccount: 2 } });
    scope.broker = b.broker;
    const url = `mqtt://127.0.0.1:${b.port}`;
    const one = await client(url, { clientId: 'central-1' });
    await client(url, { clientId: 'central-2' });
    expect(await refusal(mqttConnect(url, { ...central, clientId: 'central-3' }))).toMatch(/unavailable/i);
    expect(b.log.withCode('mqtt-too-many-connections')).toHaveLength(1);
    await client(url, { clientId: 'central-2' }); // takes over its own id
    await one.endAsync();
    await client(url, { clientId: 'central-3' });
  });

  it('does not count a connection closed between its password check and its registration', async () => {
    // aedes never registers such a client, so no clientDisconnect ever comes for it
    const accounts = new Map([
      [
        'board',
        {
          username: 'board',
          role: 'display' as const,
          offices: ['*'],
          passwordHash: await hashPassword('pw', { N: 1024, r: 8, p: 1 }),
        },
      ],
    ]);
    const login = await createLogin(accounts, new WeakMap(), pino({ level: 'silent' }), {
      connectionsPerAccount: 1,
      sessions: { maxQueued: 10, expiryMs: 60_000, perAccount: 1 },
    });
    const fake = (id: string) =>
      ({ id, clean: true, closed: false, conn: { remoteAddress: '127.0.0.1', destroyed: false } }) as unknown as Client;
    const auth = (c: Client) =>
      new Promise<boolean>((resolve) =>
        login.hooks.authenticate!(c, 'board', Buffer.from('pw'), (err, ok) => resolve(!err && ok === true)),
      );
    try {
      const first = fake('board-1');
      expect(await auth(first)).toBe(true);
      expect(await auth(fake('board-2'))).toBe(false); // the account's one connection is live
      (first as { closed: boolean }).closed = true; // gone before aedes registered it
      expect(await auth(fake('board-3'))).toBe(true);
    } finally {
      login.close();
    }
  });

  it('may leave limits.inflightInbound QoS 2 publishes without PUBREL; one more closes the connection', async () => {
    const b = await startTestBroker({ limits: { inflightInbound: 2 } });
    scope.broker = b.broker;
    const r = new RawClient(b.port);
    scope.raws.push(r);
    await r.opened;
    r.write(connectPacket({ clientId: 'central-q2', ...central }));
    expect(await r.connack()).toBe(0);
    r.write(qos2Publish(CMD, 1));
    r.write(qos2Publish(CMD, 2));
    await new Promise((res) => setTimeout(res, 100));
    expect(r.isClosed).toBe(false);
    r.write(qos2Publish(CMD, 3));
    await r.closed;
  });
});

describe('QoS 2 publishes of a persistent session waiting for their PUBREL', () => {
  it('are at most limits.inflightInbound across its connections: resuming it does not start again from none', async () => {
    // aedes counts them per connection: a session resumed again and again kept every connection's
    // (200 of 60 KB held 20 MiB after 100 logins; up to 65,535 packets of 64 KiB a session)
    const b = await startTestBroker({ limits: { inflightInbound: 2 } });
    scope.broker = b.broker;
    const resume = async (): Promise<RawClient> => {
      const r = new RawClient(b.port);
      scope.raws.push(r);
      await r.opened;
      r.write(connectPacket({ clientId: 'central-q2s', ...central, clean: false }));
      expect(await r.connack()).toBe(0);
      return r;
    };
    const pubrec = (id: number) => Buffer.from([0x50, 0x02, id >> 8, id & 0xff]);
    const first = await resume();
    first.write(Buffer.concat([qos2Publish(CMD, 1), qos2Publish(CMD, 2)]));
    await until(() => first.received.includes(pubrec(2)) && first.received.includes(pubrec(1)), 'two PUBRECs');
    first.destroy();
    await first.closed;
    // the session holds 1 and 2: a new one closes the next connection, logged
    const second = await resume();
    second.write(qos2Publish(CMD, 3));
    await until(() => second.isClosed || second.received.includes(pubrec(3)), 'a close or PUBREC 3');
    expect(second.received.includes(pubrec(3))).toBe(false);
    await second.closed;
    expect(b.log.withCode('mqtt-inflight-full')).toEqual([
      expect.objectContaining({ clientId: 'central-q2s', held: 2, max: 2 }),
    ]);
    // one released (PUBREL 1, answered PUBCOMP 1) makes room; 2 sent again is not one more
    const third = await resume();
    third.write(Buffer.from([0x62, 0x02, 0x00, 0x01]));
    await until(() => third.received.includes(Buffer.from([0x70, 0x02, 0x00, 0x01])), 'PUBCOMP 1');
    third.write(Buffer.concat([qos2Publish(CMD, 2), qos2Publish(CMD, 3)]));
    await until(() => third.received.includes(pubrec(3)) && third.received.includes(pubrec(2)), 'PUBRECs 2 and 3');
    expect(third.isClosed).toBe(false);
    third.destroy();
    await third.closed;
    // a clean login with the id ends the session and what it held
    const clean = new RawClient(b.port);
    scope.raws.push(clean);
    await clean.opened;
    clean.write(connectPacket({ clientId: 'central-q2s', ...central }));
    expect(await clean.connack()).toBe(0);
    clean.destroy();
    await clean.closed;
    const fresh = await resume();
    fresh.write(Buffer.concat([qos2Publish(CMD, 7), qos2Publish(CMD, 8)]));
    await until(() => fresh.received.includes(pubrec(8)) && fresh.received.includes(pubrec(7)), 'PUBRECs 7 and 8');
    expect(fresh.isClosed).toBe(false);
  });
});

describe('the topic filters of one connection', () => {
  const status = (i: number) => `beonho/v1/singok2/devices/d${i}/status`;
  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => status(from + i));
  /** SUBACK's return codes, in the order of `topics` (mqtt.js rejects a SUBACK holding a 0x80) */
  async function suback(c: MqttClient, topics: string[], qos: 0 | 1 = 1): Promise<number[]> {
    try {
      return (await c.subscribeAsync(Object.fromEntries(topics.map((t) => [t, { qos }])))).map((g) => g.qos);
    } catch (err) {
      const granted = (err as { packet?: { granted?: number[] } }).packet?.granted;
      if (!granted) throw err;
      return granted;
    }
  }
  const refusedOf = (topics: string[], codes: number[]) => topics.filter((_, i) => codes[i] === 128);
  const grantedOf = (topics: string[], codes: number[]) => topics.filter((_, i) => codes[i] !== 128);

  it('are at most limits.subscriptionsPerClient; each one more gets SUBACK 0x80, logged once, the connection stays', async () => {
    const b = await startTestBroker({ limits: { subscriptionsPerClient: 10 } });
    scope.broker = b.broker;
    const c = await client(`mqtt://127.0.0.1:${b.port}`, { clientId: 'central-subs' });
    const topics = range(0, 100);
    const codes = await suback(c, topics);
    expect(refusedOf(topics, codes)).toHaveLength(90);
    expect(b.log.withCode('mqtt-too-many-subscriptions')).toHaveLength(1);
    const granted = grantedOf(topics, codes);
    // the same filter again (another QoS) is not one more; one unsubscribed makes room for another
    expect(await suback(c, [granted[0]!], 0)).toEqual([0]);
    expect(await suback(c, [status(500)])).toEqual([128]);
    await c.unsubscribeAsync(granted.slice(0, 2));
    expect(await suback(c, range(500, 503))).toEqual([1, 1, 128]);
    expect(c.connected).toBe(true);
  });

  it('are refused, and not counted, when they match nothing the account may read', async () => {
    const b = await startTestBroker({ limits: { subscriptionsPerClient: 2 } });
    scope.broker = b.broker;
    const c = await client(`mqtt://127.0.0.1:${b.port}`, { clientId: 'central-narrow' });
    const topics = [
      'beonho/v1/singok2/x/1',
      'beonho/v1/singok2/state/x',
      'somewhere/else',
      STATE,
      'beonho/v1/+/events',
    ];
    expect(await suback(c, topics)).toEqual([128, 128, 128, 1, 1]);
    expect(b.log.withCode('mqtt-subscribe-denied')).toHaveLength(1);
    expect(b.log.withCode('mqtt-too-many-subscriptions')).toHaveLength(0);
  });

  it('of a persistent session: only the granted ones are kept while it is away', async () => {
    const b = await startTestBroker({ limits: { subscriptionsPerClient: 10 } });
    scope.broker = b.broker;
    const url = `mqtt://127.0.0.1:${b.port}`;
    const away = await client(url, { clientId: 'central-kept', clean: false });
    const topics = range(0, 30);
    const codes = await suback(away, topics);
    const granted = grantedOf(topics, codes);
    const refused = refusedOf(topics, codes);
    expect([granted.length, refused.length]).toEqual([10, 20]);
    await away.endAsync();
    // aedes stored every filter of the packet: a message on a refused one was queued for it
    await b.broker.publish(refused[0]!, '{"n":"refused"}', { qos: 1, retain: false });
    await b.broker.publish(granted[0]!, '{"n":"granted"}', { qos: 1, retain: false });
    const { client: back, inbox } = await connectInbox(url, { ...central, clientId: 'central-kept', clean: false });
    scope.clients.push(back);
    // restored: its 10 granted filters (one more would be refused), and a message on one of them
    await b.broker.publish(granted[1]!, '{"n":"live"}', { qos: 1, retain: false });
    const got = () => inbox.messages.map((m) => (m.json as { n: string }).n);
    await inbox.until(() => got().includes('live'), 10_000, 'the live message');
    expect(got()).toEqual(['granted', 'live']);
  });
});

function packet(n: number) {
  return {
    cmd: 'publish',
    topic: STATE,
    payload: Buffer.from(String(n)),
    qos: 1,
    retain: false,
    brokerId: 'b',
    brokerCounter: n,
  };
}

async function queued(p: QueuePersistence, id: string): Promise<number> {
  let n = 0;
  for await (const _ of p.outgoingStream({ id })) n++;
  return n;
}

/** A QoS 2 PUBLISH (its PUBREL never follows). */
function qos2Publish(topic: string, messageId: number): Buffer {
  const t = Buffer.from(topic);
  const body = Buffer.concat([
    Buffer.from([t.length >> 8, t.length & 0xff]),
    t,
    Buffer.from([messageId >> 8, messageId & 0xff]),
    Buffer.from(`{"id":"q${messageId}","type":"day.open"}`),
  ]);
  return Buffer.concat([Buffer.from([0x34]), varint(body.length), body]);
}
