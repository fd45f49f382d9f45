// Stopping the uplink: a stop with publishes in flight on a link that then dies (mqtt.js's clean
// DISCONNECT waits for their PUBACKs for ever, and the daemon's whole stop hung until systemd killed
// it), with central never acknowledging them, and a stop while the client library still loads (a
// client made after the stop connected anyway).
import { Aedes } from 'aedes';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { officeTopics } from '../bridge/contract/topics.ts';
import { testUplink } from './helpers/uplink.ts';
import { setMqttLoadDelay } from './helpers/slow-mqtt-load.ts';

vi.mock('../bridge/uplink/client-common.ts', async (orig) =>
  (await import('./helpers/slow-mqtt-load.ts')).slowMqttLoad(orig),
);

const logger = pino({ level: 'silent' });
const topics = officeTopics('singok2');

async function broker(holdEvents: boolean) {
  const aedes = await Aedes.createBroker({
    authorizePublish: (_c, packet, cb) => {
      if (holdEvents && packet.topic.endsWith('/events')) return; // never PUBACKed
      cb(null);
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

describe('the uplink stops', () => {
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
