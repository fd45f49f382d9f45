// Stopping the uplink: a stop with publishes in flight on a link that then dies (mqtt.js's clean
// DISCONNECT waits for their PUBACKs for ever, and the daemon's whole stop hung until systemd killed
// it), with central never acknowledging them, with central acknowledging them during the grace (the
// outbox's cursor must move on them, or they are sent again after a clean restart), and a stop while
// the client library still loads (a client made after the stop connected anyway).
import { Aedes } from 'aedes';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { officeTopics } from '../bridge/contract/topics.ts';
import { EventsPublisher } from '../bridge/publish/events.ts';
import type { QueueEvent } from '../device/queue/types.ts';
import type { OutboxReader } from '../device/store/outbox-types.ts';
import { testUplink } from './helpers/uplink.ts';
import { debugLog } from './helpers/satellite-link.ts';
import { setMqttLoadDelay } from './helpers/slow-mqtt-load.ts';

vi.mock('../bridge/uplink/client-common.ts', async (orig) =>
  (await import('./helpers/slow-mqtt-load.ts')).slowMqttLoad(orig),
);

const logger = pino({ level: 'silent' });
const topics = officeTopics('singok2');

/** holdEvents: events are never PUBACKed; 'until-released': not until release() is called. */
async function broker(holdEvents: boolean | 'until-released') {
  let held: Array<() => void> | null = holdEvents === 'until-released' ? [] : null;
  const aedes = await Aedes.createBroker({
    authorizePublish: (_c, packet, cb) => {
      if (!packet.topic.endsWith('/events')) return cb(null);
      if (holdEvents === true) return; // never PUBACKed
      if (held) held.push(() => cb(null));
      else cb(null);
    },
  });
  const sockets = new Set<Socket>();
  let connects = 0;
  aedes.on('client', () => connects++);
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    aedes.handle(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connects: () => connects,
    cut: () => {
      for (const s of sockets) s.destroy();
    },
    /** events held so far */
    held: () => held?.length ?? 0,
    /** acknowledge the events held, and every one after them at once */
    release: () => {
      const waiting = held ?? [];
      held = null;
      for (const cb of waiting) cb();
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => aedes.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function uplink(url: string) {
  return testUplink(url, { logger, protocolVersion: 4 });
}

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const ev = {
  v: 1,
  office: 'singok2',
  seq: 1,
  id: 'e1',
  at: '2026-11-26T10:00:00.000+09:00',
  type: 'notice.changed',
  notice: 'x',
} as never;

/** An uplink connected to a broker that never acknowledges events, with one event in flight. */
async function upWithEventInFlight() {
  const b = await broker(true);
  cleanup.push(b.close);
  const u = uplink(b.url);
  u.start();
  await vi.waitFor(() => expect(u.connected()).toBe(true), { timeout: 5000 });
  void u.publish(topics.events, ev, { qos: 1, retain: false }).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 100));
  return { b, u };
}

/** The outbox's cursor, in memory: events 1..n on disk, none acknowledged. */
function cursor(n: number): OutboxReader & { ackedSeq: number } {
  const events = Array.from(
    { length: n },
    (_, i): QueueEvent => ({ ...(ev as QueueEvent), seq: i + 1, id: `e${i + 1}` }),
  );
  return {
    ackedSeq: 0,
    async read(after, limit) {
      return events.filter((e) => e.seq > after).slice(0, limit);
    },
    acked() {
      return this.ackedSeq;
    },
    ack(seq) {
      this.ackedSeq = Math.max(this.ackedSeq, seq);
    },
    async flush() {},
    lastSeq: () => n,
    dropped: () => ({ count: 0, throughSeq: 0 }),
  };
}

/** An uplink up to a broker that holds its PUBACKs, with one event in flight. */
async function oneEventHeld() {
  const b = await broker('until-released');
  cleanup.push(b.close);
  const u = uplink(b.url);
  cleanup.push(() => u.stop());
  u.start();
  await vi.waitFor(() => expect(u.connected()).toBe(true), { timeout: 5000 });
  void u.publish(topics.events, ev, { qos: 1, retain: false }).catch(() => undefined);
  await vi.waitFor(() => expect(b.held()).toBe(1), { timeout: 5000 });
  return { b, u };
}

describe('the uplink stops', () => {
  it('counts the events central acknowledges during the grace: they are not sent again after a clean restart', async () => {
    const b = await broker('until-released');
    cleanup.push(b.close);
    const u = uplink(b.url);
    cleanup.push(() => u.stop());
    const outbox = cursor(3);
    const p = new EventsPublisher({ sink: u, cursor: outbox, topic: topics.events, window: 10, batch: 10, logger });
    u.start();
    await vi.waitFor(() => expect(b.held()).toBe(3), { timeout: 5000 }); // all three in flight
    // The bridge's stop: the publishers first, then the uplink, whose grace waits for the PUBACKs.
    p.stop();
    const stopping = u.stop();
    b.release();
    await stopping;
    expect(outbox.acked()).toBe(3);
    expect(u.connected()).toBe(false);
  });

  it('ends its grace at the last PUBACK, not at the end of the 3 s', async () => {
    // mqtt.js says outgoingEmpty only once its own end has begun: waited for before it, every clean
    // stop with a publish in flight took the whole grace (and carried out the commands of all of it)
    const { b, u } = await oneEventHeld();
    // the grace's timer never fires: only the PUBACK can end the stop
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      let stopped = false;
      const stopping = u.stop().then(() => {
        stopped = true;
      });
      b.release();
      // not vi.waitFor: under fake timers it advances them, the grace's with them
      const until = performance.now() + 5000;
      while (!stopped && performance.now() < until) await new Promise((r) => setImmediate(r));
      expect(stopped).toBe(true);
      await stopping;
    } finally {
      vi.useRealTimers();
    }
  });

  it('sends nothing new during the grace: a publish then is refused, not sent to central', async () => {
    const { b, u } = await oneEventHeld();
    const stopping = u.stop();
    // an event read from the outbox just then (the events publisher's read under way at its stop):
    // sent during the grace, it was a repeat after the restart whenever the grace ran out before
    // its PUBACK, and a publish more for mqtt.js's clean end to wait for
    const late = u.publish(topics.events, { ...(ev as object), seq: 2, id: 'e2' } as never, { qos: 1, retain: false });
    const outcome = late.then(
      () => 'sent',
      () => 'refused',
    );
    b.release();
    await stopping;
    expect(await outcome).toBe('refused');
  });

  it('with a publish in flight on a link that then dies', async () => {
    const { b, u } = await upWithEventInFlight();
    let stopped = false;
    const stopping = u.stop().then(() => {
      stopped = true;
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(stopped).toBe(false); // waiting for the PUBACK, as a clean DISCONNECT does
    b.cut();
    await stopping;
    expect(u.connected()).toBe(false);
  });

  it('with a publish central never acknowledges, after a grace', async () => {
    const { u } = await upWithEventInFlight();
    await u.stop();
    expect(u.connected()).toBe(false);
  }, 15_000);

  it('while the client library loads: no connection is made after the stop', async () => {
    setMqttLoadDelay(200);
    try {
      const b = await broker(false);
      cleanup.push(b.close);
      const u = uplink(b.url);
      u.start();
      await new Promise((r) => setTimeout(r, 50));
      await u.stop();
      await new Promise((r) => setTimeout(r, 500));
      expect(b.connects()).toBe(0);
      expect(u.connected()).toBe(false);
    } finally {
      setMqttLoadDelay(0);
    }
  });
});

describe('a clean stop', () => {
  it('is not logged as a lost link: an alert on uplink-down would fire at every restart', async () => {
    const b = await broker(false);
    cleanup.push(b.close);
    const { lines, logger: log } = debugLog();
    const u = testUplink(b.url, { logger: log, protocolVersion: 4 });
    u.start();
    await vi.waitFor(() => expect(u.connected()).toBe(true), { timeout: 5000 });
    await u.stop();
    expect(lines.filter((l) => l.code === 'uplink-down')).toEqual([]);
    expect(lines.some((l) => /uplink closed at stop/.test(String(l.msg)))).toBe(true);
  });
});
