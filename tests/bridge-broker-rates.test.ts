// How fast one client may make the embedded broker work: packets a second per connection (a board's
// account sending PINGREQs as fast as TCP allows once delayed central's ticket to 17 s), commands
// and statuses a minute per satellite account (one satellite once ran 3,000 refused commands a
// second, each remembered and fsync'd), and the refusals a client provokes at will summed up in
// the log instead of one warning each.
import { PassThrough } from 'node:stream';
import type { MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { AcceptRate } from '../bridge/broker/accept-rate.ts';
import type { CommandGate } from '../bridge/broker/broker.ts';
import { keyRefusalForClerks } from '../device/messages-ko.ts';
import { GuardedConnection } from '../bridge/broker/connection-guard.ts';
import { hashPassword } from '../bridge/broker/passwords.ts';
import { PendingConnections } from '../bridge/broker/pending-connections.ts';
import { PublishRates } from '../bridge/broker/publish-rates.ts';
import { CommandHandler } from '../bridge/commands/handler.ts';
import type { CommandMemory } from '../bridge/commands/memory.ts';
import {
  brokerTestScope,
  connectPacket,
  LogCapture,
  mqttConnect,
  RawClient,
  startTestBroker,
  until,
} from './bridge-broker-raw.ts';
import { connectInbox, startOffice, testConfig } from './bridge-helpers.ts';
import { satelliteAccount } from './helpers/satellite-accounts.ts';

const OFFICE = 'singok2';
const CMD = `beonho/v1/${OFFICE}/cmd`;
const PINGREQ = Buffer.from([0xc0, 0x00]);

const scope = brokerTestScope();

/** The office's board account (role display, password display-pw). */
async function boardAccount() {
  return {
    username: 'board',
    passwordHash: await hashPassword('display-pw', { N: 1024, r: 8, p: 1 }),
    role: 'display',
    offices: [OFFICE],
  };
}

describe('packets a second of one connection', () => {
  function guarded(packetsPerSecond: number) {
    const inner = new PassThrough();
    let t = 0;
    const timers: Array<{ fn: () => void; ms: number; cancelled: boolean }> = [];
    const conn = new GuardedConnection(inner, {
      maxPacketBytes: 65_536,
      clientBufferBytes: 1 << 20,
      packetsPerSecond,
      remoteAddress: '192.0.2.9',
      onLoggedIn: () => undefined,
      onRefused: () => undefined,
      now: () => t,
      setTimer: (fn, ms) => {
        const timer = { fn, ms, cancelled: false };
        timers.push(timer);
        return () => {
          timer.cancelled = true;
        };
      },
    });
    conn.resume(); // aedes reads all it is given
    return { inner, conn, timers, advance: (ms: number) => (t += ms) };
  }
  const connect = connectPacket({ clientId: 'x', username: 'u', password: 'p' });
  /** a guarded connection past its login */
  function loggedIn(packetsPerSecond: number) {
    const g = guarded(packetsPerSecond);
    g.inner.write(connect);
    g.conn.loggedIn();
    return g;
  }

  it('stops reading a client past its allowance for as long as the excess is worth, then reads again', () => {
    const g = loggedIn(10);
    // the allowance: one second's worth, read at once
    g.inner.write(Buffer.concat(Array.from({ length: 10 }, () => PINGREQ)));
    expect(g.inner.isPaused()).toBe(false);
    expect(g.timers).toEqual([]);
    // 100 more in one read: all of it goes to aedes, then 10 s of silence
    g.inner.write(Buffer.concat(Array.from({ length: 100 }, () => PINGREQ)));
    expect(g.inner.isPaused()).toBe(true);
    expect(g.timers.map((x) => x.ms)).toEqual([10_000]);
    g.advance(10_000);
    g.timers[0]!.fn();
    expect(g.inner.isPaused()).toBe(false);
    // a client within its rate is never held: 5 a second for a while
    for (let i = 0; i < 20; i++) {
      g.advance(1000);
      g.inner.write(Buffer.concat(Array.from({ length: 5 }, () => PINGREQ)));
    }
    expect(g.timers).toHaveLength(1);
    g.conn.destroy();
  });

  it('counts a read that ends no packet as one (a client sending a byte at a time)', () => {
    const g = loggedIn(10);
    const publish = Buffer.concat([Buffer.from([0x30, 20, 0, 4]), Buffer.from('t/op'), Buffer.alloc(14, 0x61)]);
    // ten reads use the allowance, the eleventh takes the socket a tenth of a second past it
    for (const byte of publish.subarray(0, 12)) g.inner.write(Buffer.from([byte]));
    expect(g.inner.isPaused()).toBe(true);
    expect(g.timers.map((x) => x.ms)).toEqual([100]);
    g.conn.destroy();
  });

  it('charges a SUBSCRIBE or UNSUBSCRIBE for the filters it can hold (aedes answers each)', () => {
    const g = loggedIn(500);
    // 4 KiB of SUBSCRIBE: room for ~1,000 filters, charged as ~1,000 packets
    const body = Buffer.alloc(4096, 0x61);
    g.inner.write(Buffer.concat([Buffer.from([0x82, 0x80, 0x20]), body]));
    expect(g.timers.map((x) => x.ms)).toEqual([1048]);
    g.conn.destroy();
  });

  it('counts nothing before the login (that has its own byte budget), and a close cancels the wait', () => {
    const g = loggedIn(10);
    expect(g.timers).toEqual([]);
    g.inner.write(Buffer.concat(Array.from({ length: 50 }, () => PINGREQ)));
    expect(g.timers).toHaveLength(1);
    g.conn.destroy();
    expect(g.timers[0]!.cancelled).toBe(true);
  });

  it('on the broker: a PINGREQ flood is answered up to the allowance, then the socket waits', async () => {
    const b = await startTestBroker({ limits: { packetsPerSecond: 10 } });
    scope.broker = b.broker;
    const r = new RawClient(b.port);
    scope.raws.push(r);
    await r.opened;
    r.write(connectPacket({ clientId: 'central-ping', username: 'central', password: 'central' }));
    expect(await r.connack()).toBe(0);
    r.write(Buffer.concat(Array.from({ length: 10 }, () => PINGREQ)));
    await r.receivedAtLeast(4 + 10 * 2);
    // 300 more: whatever TCP delivered in the first read is answered, the rest waits ~30 s
    r.write(Buffer.concat(Array.from({ length: 300 }, () => PINGREQ)));
    await new Promise((res) => setTimeout(res, 300));
    r.write(PINGREQ);
    await new Promise((res) => setTimeout(res, 500));
    expect(r.receivedBytes).toBeLessThan(4 + 311 * 2);
    expect(r.isClosed).toBe(false);
  });
});

describe('a satellite account', () => {
  async function satelliteBroker(limits: Record<string, number>, counters = ['1'], commands?: CommandGate) {
    const b = await startTestBroker(
      {
        accounts: [
          {
            username: 'counter-12',
            passwordHash: await hashPassword('sat-pw', { N: 1024, r: 8, p: 1 }),
            role: 'satellite',
            offices: [OFFICE],
            counters,
          },
        ],
        limits,
      },
      commands ? { commands } : {},
    );
    scope.broker = b.broker;
    return b;
  }
  async function satellite(port: number): Promise<MqttClient> {
    const c = await mqttConnect(`mqtt://127.0.0.1:${port}`, {
      username: 'counter-12',
      password: 'sat-pw',
      clientId: 'counter-12',
      reconnectPeriod: 0,
    });
    scope.clients.push(c);
    return c;
  }
  const key = (n: number) => JSON.stringify({ id: `counter-12:${n}`, type: 'counter.next', counter: '1' });

  it('sends satelliteCommandBurst commands in a row; one more closes its connection, logged once', async () => {
    const b = await satelliteBroker({ satelliteCommandBurst: 5, satelliteCommandsPerMinute: 1 });
    const c = await satellite(b.port);
    for (let i = 0; i < 5; i++) await c.publishAsync(CMD, key(i), { qos: 1 });
    expect(c.connected).toBe(true);
    const closed = new Promise<void>((res) => c.once('close', () => res()));
    c.publish(CMD, key(5), { qos: 1 });
    await closed;
    expect(b.log.withCode('mqtt-publish-rate')).toHaveLength(1);
    // the allowance is the account's, not the connection's: a new one is still over it
    const again = await satellite(b.port);
    const closedAgain = new Promise<void>((res) => again.once('close', () => res()));
    again.publish(CMD, key(6), { qos: 1 });
    await closedAgain;
  });

  it('is answered rate-limited on cmd/result for its first keys over the allowance, then closed', async () => {
    // the main unit's gate: what ran, and what was refused (answered on cmd/result, not run)
    const ran: string[] = [];
    const refused: Array<{ id: string | null; type?: string; code: string }> = [];
    const gate: CommandGate = {
      topic: CMD,
      run: async (payload) => {
        ran.push(JSON.parse(payload.toString()).id);
      },
      refuse: async (r) => {
        refused.push({ id: r.id, ...(r.type !== undefined ? { type: r.type } : {}), code: r.code });
      },
    };
    const b = await satelliteBroker({ satelliteCommandBurst: 2, satelliteCommandsPerMinute: 1 }, ['1'], gate);
    const c = await satellite(b.port);
    for (let i = 0; i < 2; i++) await c.publishAsync(CMD, key(i), { qos: 1 });
    // over the allowance: acknowledged, not run, answered; the clerk's display says why
    for (let i = 2; i < 5; i++) await c.publishAsync(CMD, key(i), { qos: 1 });
    expect(c.connected).toBe(true);
    expect(ran).toEqual(['counter-12:0', 'counter-12:1']);
    expect(refused).toEqual(
      [2, 3, 4].map((i) => ({ id: `counter-12:${i}`, type: 'counter.next', code: 'rate-limited' })),
    );
    // a flood: the next one closes the connection, as any refused publish
    const closed = new Promise<void>((res) => c.once('close', () => res()));
    c.publish(CMD, key(5), { qos: 1 });
    await closed;
    expect(refused).toHaveLength(3);
    expect(ran).toHaveLength(2);
    // the log tells an answered key from a closed connection: each has its code (summed apart)
    expect(b.log.withCode('mqtt-rate-answered').length).toBeGreaterThan(0);
    expect(b.log.withCode('mqtt-publish-rate')).toHaveLength(1);
    // a command whose id is not the satellite's own is never answered (its id is not echoed): closed
    const again = await satellite(b.port);
    const closedAgain = new Promise<void>((res) => again.once('close', () => res()));
    again.publish(CMD, JSON.stringify({ id: 'c-7f3a', type: 'counter.next', counter: '1' }), { qos: 1 });
    await closedAgain;
    expect(refused).toHaveLength(3);
    expect(keyRefusalForClerks('rate-limited')).toBe('키 입력이 너무 잦음 — 잠시 후 다시');
  });

  it("has one clerk's command allowance per counter it carries", async () => {
    const b = await satelliteBroker({ satelliteCommandBurst: 5, satelliteCommandsPerMinute: 1 }, ['1', '2']);
    const c = await satellite(b.port);
    for (let i = 0; i < 10; i++) await c.publishAsync(CMD, key(i), { qos: 1 });
    expect(c.connected).toBe(true);
    const closed = new Promise<void>((res) => c.once('close', () => res()));
    c.publish(CMD, key(10), { qos: 1 });
    await closed;
    expect(b.log.withCode('mqtt-publish-rate')).toHaveLength(1);
  });

  it('sends at most 20 statuses in a row', async () => {
    const b = await satelliteBroker({});
    const c = await satellite(b.port);
    const topic = `beonho/v1/${OFFICE}/devices/counter-12/status`;
    const status = JSON.stringify({ v: 1, office: OFFICE, device: 'counter-12', online: true, session: 1 });
    // at once: the allowance refills at two a second
    const closed = new Promise<void>((res) => c.once('close', () => res()));
    for (let i = 0; i < 30; i++) c.publish(topic, status, { qos: 1, retain: true });
    await closed;
    expect(b.log.withCode('mqtt-publish-rate')).toHaveLength(1);
  });
});

describe('new connections from one address', () => {
  it('are 20 in a row then acceptsPerSecond beyond loopback; loopback is not counted', () => {
    let t = 0;
    const rate = new AcceptRate(5, () => t);
    const burst = Array.from({ length: 30 }, () => rate.admit('192.0.2.9'));
    expect(burst.filter(Boolean)).toHaveLength(20);
    // another address, and the same /64 of IPv6 counted as one
    expect(rate.admit('192.0.2.10')).toBe(true);
    for (let i = 0; i < 20; i++) rate.admit(`2001:db8:1:2::${i + 1}`);
    expect(rate.admit('2001:db8:1:2::ff')).toBe(false);
    // five a second come back
    t += 1000;
    expect(Array.from({ length: 6 }, () => rate.admit('192.0.2.9')).filter(Boolean)).toHaveLength(5);
    for (const local of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) {
      expect(Array.from({ length: 100 }, () => rate.admit(local)).every(Boolean), local).toBe(true);
    }
  });
});

describe("a satellite's allowance over time", () => {
  it('never cuts off a satellite whose health flaps every second, reconnecting now and then', () => {
    let t = 0;
    const rates = new PublishRates({ commandBurst: 20, commandsPerMinute: 6 }, () => t);
    // ten minutes: a status each second (the coalesced health), and every minute a reconnect's
    // will and birth on top; a key every 10 s
    for (let s = 0; s < 600; s++) {
      t = s * 1000;
      expect(rates.take('counter-12', 'status'), `status at ${s} s`).toBe(true);
      if (s % 60 === 59) {
        expect(rates.take('counter-12', 'status')).toBe(true);
        expect(rates.take('counter-12', 'status')).toBe(true);
      }
      if (s % 10 === 0) expect(rates.take('counter-12', 'cmd'), `key at ${s} s`).toBe(true);
    }
    // a flood is not: 20 in a row, then one every half second
    const flood = Array.from({ length: 40 }, () => rates.take('counter-3', 'status'));
    expect(flood.filter(Boolean)).toHaveLength(20);
  });

  it("gives a unit one clerk's command allowance per counter it carries", () => {
    let t = 0;
    const rates = new PublishRates({ commandBurst: 20, commandsPerMinute: 6 }, () => t);
    const keys = (user: string, counters: number, n: number) =>
      Array.from({ length: n }, () => rates.take(user, 'cmd', counters)).filter(Boolean).length;
    expect(keys('one', 1, 30)).toBe(20);
    expect(keys('none', 0, 30)).toBe(20); // a board and voice upstairs: no keys, one clerk's bound
    expect(keys('four', 4, 100)).toBe(80);
    // then 6 a minute per counter: 24 in the next minute for four counters
    t = 60_000;
    expect(keys('four', 4, 30)).toBe(24);
    expect(keys('one', 1, 30)).toBe(6);
    // two clerks of one unit, a key each a second for 20 s (a chaos review's pace: one clerk's
    // allowance cut them off at the 24th key), then a key each every 10 s for ten minutes
    const two: boolean[] = [];
    for (let s = 0; s < 620; s++) {
      t = 120_000 + s * 1000;
      if (s < 20 || s % 10 === 0) two.push(rates.take('two', 'cmd', 2), rates.take('two', 'cmd', 2));
    }
    expect(two.filter((ok) => !ok)).toEqual([]);
  });
});

describe('refusals a client provokes at will', () => {
  it('are one warning per code and 10 s, and a summary of the rest', async () => {
    const log = new LogCapture();
    const handler = new CommandHandler({
      office: OFFICE,
      maxBytes: 4096,
      queue: { execute: async () => Promise.reject(new Error('not reached')), state: () => ({ seq: 0 }) } as never,
      memory: {} as CommandMemory,
      logger: log.logger,
      republish: () => undefined,
      isoNow: () => '2026-12-02T00:00:00.000Z',
    });
    for (let i = 0; i < 100; i++) {
      const r = await handler.handle(CMD, Buffer.from(`{"id":"c${i}","type":"counter.transfer"}`), 'broker');
      expect(r.ok).toBe(false);
    }
    const refused = () =>
      log.lines.filter((l) => l.msg === 'command refused' || String(l.msg).startsWith('command refused:'));
    expect(refused()).toHaveLength(1);
    handler.close();
    expect(refused()).toHaveLength(2);
    expect(refused()[1]).toMatchObject({ suppressed: 99 });
  });

  it("a satellite's refused commands and a display's refused publishes are summed up alike", async () => {
    const b = await startTestBroker({
      accounts: [await boardAccount()],
      limits: { pendingPerSource: 32 },
    });
    scope.broker = b.broker;
    for (let i = 0; i < 5; i++) {
      const c = await mqttConnect(`mqtt://127.0.0.1:${b.port}`, {
        username: 'board',
        password: 'display-pw',
        clientId: `board-${i}`,
        reconnectPeriod: 0,
      });
      scope.clients.push(c);
      const closed = new Promise<void>((res) => c.once('close', () => res()));
      c.publish(CMD, '{}', { qos: 1 });
      await closed;
    }
    await until(() => b.log.withCode('mqtt-publish-denied').length >= 1, 'the first refusal');
    expect(b.log.withCode('mqtt-publish-denied')).toHaveLength(1);
    await b.broker.close();
    scope.broker = null;
    expect(b.log.withCode('mqtt-publish-denied')).toMatchObject([{}, { suppressed: 4 }]);
  });
});

describe('what a board or a satellite reads of a device status', () => {
  it('is the status without its system part (memory, disk, uptime); central reads it whole', async () => {
    const b = await startTestBroker({
      accounts: [await boardAccount()],
    });
    scope.broker = b.broker;
    const url = `mqtt://127.0.0.1:${b.port}`;
    const topic = `beonho/v1/${OFFICE}/devices/main/status`;
    const status = {
      v: 1,
      office: OFFICE,
      device: 'main',
      online: true,
      session: 3,
      system: { rssBytes: 140_000_000, diskFreePct: 61 },
      hardware: { 'mqtt-uplink': { connected: true, lastError: null, lastErrorAt: null } },
    };
    await b.broker.publish(topic, JSON.stringify(status), { qos: 1, retain: true });
    const read = async (user: string, password: string): Promise<Record<string, unknown>> => {
      const c = await mqttConnect(url, { username: user, password, clientId: `${user}-status` });
      scope.clients.push(c);
      const got = new Promise<Record<string, unknown>>((resolve) =>
        c.once('message', (_t, p) => resolve(JSON.parse(p.toString()) as Record<string, unknown>)),
      );
      await c.subscribeAsync(topic, { qos: 1 });
      return got;
    };
    const { system: _system, ...withoutSystem } = status;
    expect(await read('board', 'display-pw')).toEqual(withoutSystem);
    expect(await read('central', 'central')).toEqual(status);
  });
});

describe('a full listener', () => {
  function fakeSocket(address: string) {
    const s = {
      remoteAddress: address,
      destroyed: false,
      destroy: () => {
        s.destroyed = true;
      },
      once: () => s,
    };
    return s;
  }

  it('gives a newcomer holding nothing the slot of a source holding one, and a source that logged in before the slot of a stranger', () => {
    const known = new Set(['192.0.2.60']);
    const refused: string[] = [];
    const pending = new PendingConnections({
      max: 4,
      maxPerSource: 8,
      timeoutMs: 60_000,
      isKnown: (source) => known.has(source),
      onRefused: (reason) => refused.push(reason),
    });
    // four strangers, one idle socket each: the listener is full
    const strangers = [20, 21, 22, 23].map((n) => fakeSocket(`192.0.2.${n}`));
    for (const s of strangers) expect(pending.admit(s as never)).not.toBeNull();
    // a fifth holding none takes a slot; one already holding one does not
    const fifth = fakeSocket('192.0.2.24');
    expect(pending.admit(fifth as never)).not.toBeNull();
    expect(strangers.filter((s) => s.destroyed)).toHaveLength(1);
    expect(pending.admit(fakeSocket('192.0.2.24') as never)).toBeNull();
    // the office's own satellite gets in, twice: strangers' slots go
    expect(pending.admit(fakeSocket('192.0.2.60') as never)).not.toBeNull();
    expect(pending.admit(fakeSocket('192.0.2.60') as never)).not.toBeNull();
    expect(strangers.filter((s) => s.destroyed).length + (fifth.destroyed ? 1 : 0)).toBe(3);
    expect(refused.filter((r) => r === 'mqtt-pending-evicted')).toHaveLength(3);
    pending.close();
  });
});

describe('a satellite past its allowance, on the main unit', () => {
  it('gets an id that already ran answered with its first result, and a new one rate-limited', async () => {
    const office = await startOffice(
      testConfig({
        broker: {
          port: 0,
          wsPort: null,
          demo: true,
          accounts: [await satelliteAccount('counter-12', 'sat-pw', ['1'])],
          limits: { satelliteCommandBurst: 1, satelliteCommandsPerMinute: 1 },
        },
      }),
    );
    const port = office.bridge.parts.broker!.ports.tcp!;
    const { client, inbox } = await connectInbox(`mqtt://127.0.0.1:${port}`, {
      username: 'counter-12',
      password: 'sat-pw',
      clientId: 'counter-12',
    });
    try {
      await office.queue.execute({ type: 'day.open' });
      await office.queue.execute({ type: 'ticket.issue', service: 'seal', channel: 'kiosk' });
      await client.subscribeAsync(`${CMD}/result`, { qos: 1 });
      const key = (id: string) => JSON.stringify({ v: 1, id, type: 'counter.next', counter: '1' });
      const results = () => inbox.on('cmd/result');
      await client.publishAsync(CMD, key('counter-12:a'), { qos: 1 });
      await inbox.until(() => results().length === 1, 10_000, 'the first result');
      const first = results()[0]!;
      expect(first).toMatchObject({ id: 'counter-12:a', ok: true });
      // past the allowance: the same id again gets that same answer, not a refusal (no second call)
      const calls = office.queue.state().seq;
      await client.publishAsync(CMD, key('counter-12:a'), { qos: 1 });
      await inbox.until(() => results().length === 2, 10_000, 'the repeated answer');
      expect(results()[1]).toEqual(first);
      // a new id is refused, and the queue did not move
      await client.publishAsync(CMD, key('counter-12:b'), { qos: 1 });
      await inbox.until(() => results().length === 3, 10_000, 'the refusal');
      expect(results()[2]).toMatchObject({ id: 'counter-12:b', ok: false, error: { code: 'rate-limited' } });
      expect(office.queue.state().seq).toBe(calls);
    } finally {
      await client.endAsync();
      await office.stop();
    }
  });
});

describe('a central account on the office broker past its allowance', () => {
  it('gets new ids answered rate-limited (not run, not remembered), an answered id its first result, then closed', async () => {
    // A stolen central password on the LAN: without an allowance it made the daemon take ~2,700
    // useless commands a second, each remembered for two days and fsync'd (.scratch/flood).
    const office = await startOffice(
      testConfig({
        broker: { port: 0, wsPort: null, demo: true, limits: { centralCommandBurst: 2, centralCommandsPerMinute: 1 } },
      }),
    );
    const port = office.bridge.parts.broker!.ports.tcp!;
    const { client, inbox } = await connectInbox(`mqtt://127.0.0.1:${port}`, {
      username: 'central',
      password: 'central',
      clientId: 'central-flood',
    });
    try {
      await office.queue.execute({ type: 'day.open' });
      await client.subscribeAsync(`${CMD}/result`, { qos: 1 });
      const results = () => inbox.on('cmd/result');
      // useless but valid: a recall at an idle counter is refused by the queue and remembered
      const recall = (id: string) => JSON.stringify({ id, type: 'counter.recall', counter: '1' });
      await client.publishAsync(CMD, recall('c-1'), { qos: 1 });
      await client.publishAsync(CMD, recall('c-2'), { qos: 1 });
      await inbox.until(() => results().length === 2, 10_000, 'the first two results');
      const first = results()[0]!;
      expect(first).toMatchObject({ id: 'c-1', ok: false, error: { code: 'counter-idle' } });
      const remembered = office.store.commands.size;
      // past the allowance: a retry of an answered id still gets its first answer
      await client.publishAsync(CMD, recall('c-1'), { qos: 1 });
      await inbox.until(() => results().length === 3, 10_000, 'the repeated answer');
      expect(results()[2]).toEqual(first);
      // new ids are refused, not run and not remembered
      await client.publishAsync(CMD, recall('c-3'), { qos: 1 });
      await client.publishAsync(CMD, recall('c-4'), { qos: 1 });
      await inbox.until(() => results().length === 5, 10_000, 'the refusals');
      expect(results().slice(3)).toEqual([
        expect.objectContaining({
          id: 'c-3',
          type: 'counter.recall',
          ok: false,
          error: expect.objectContaining({ code: 'rate-limited' }),
        }),
        expect.objectContaining({ id: 'c-4', ok: false, error: expect.objectContaining({ code: 'rate-limited' }) }),
      ]);
      expect(office.store.commands.size).toBe(remembered);
      // the fourth over the allowance on this connection closes it
      const closed = new Promise<void>((res) => client.once('close', () => res()));
      client.publish(CMD, recall('c-5'), { qos: 1 });
      await closed;
      expect(office.store.commands.size).toBe(remembered);
    } finally {
      await client.endAsync(true);
      await office.stop();
    }
  });
});

describe('a copy of a command still being carried out, refused by the broker', () => {
  it("is answered with the first copy's result, not with the refusal (two copies are answered alike)", async () => {
    const office = await startOffice(
      testConfig({
        broker: { port: 0, wsPort: null, demo: true, limits: { centralCommandBurst: 1, centralCommandsPerMinute: 1 } },
      }),
    );
    const port = office.bridge.parts.broker!.ports.tcp!;
    const url = `mqtt://127.0.0.1:${port}`;
    const a = await connectInbox(url, { username: 'central', password: 'central', clientId: 'central-a' });
    const b = await connectInbox(url, { username: 'central', password: 'central', clientId: 'central-b' });
    // c-1 is held in the queue (a slow card) while its copy arrives on the other connection
    const queue = office.queue;
    const execute = queue.execute.bind(queue);
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let entered!: () => void;
    const started = new Promise<void>((r) => {
      entered = r;
    });
    queue.execute = async (action, meta) => {
      if (meta?.cmdId === 'c-1') {
        entered();
        await held;
      }
      return execute(action, meta);
    };
    try {
      await execute({ type: 'day.open' });
      await b.client.subscribeAsync(`${CMD}/result`, { qos: 1 });
      const issue = JSON.stringify({ id: 'c-1', type: 'ticket.issue', service: 'passport', channel: 'online' });
      a.client.publish(CMD, issue, { qos: 1 });
      await started;
      // past the account's allowance: refused by the broker while c-1 is still being carried out
      // (its PUBACK waits for c-1's result now, so it is not awaited; 300 ms let the refusal go out)
      const refused = b.client.publishAsync(CMD, issue, { qos: 1 });
      await new Promise((r) => setTimeout(r, 300));
      release();
      await refused;
      await b.inbox.until(() => b.inbox.on('cmd/result').length === 2, 10_000, 'both results');
      const [first, second] = b.inbox.on('cmd/result');
      expect(first).toMatchObject({ id: 'c-1', ok: true });
      expect(second).toEqual(first);
    } finally {
      release();
      queue.execute = execute;
      await a.client.endAsync(true);
      await b.client.endAsync(true);
      await office.stop();
    }
  });
});
