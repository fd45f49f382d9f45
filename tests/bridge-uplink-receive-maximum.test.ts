// The broker's Receive Maximum (MQTT 5) counts every QoS 1 publish of the connection not yet
// acknowledged, whatever its topic: a broker that enforces it (HiveMQ: 10) disconnects a client that
// sends more, and a reconnect's burst (status, state, results, events) past it again loops. A raw
// MQTT 5 broker made with mqtt-packet announces a small Receive Maximum and acknowledges only when
// the test says so. (That a result still leaves before its command's PUBACK, which a held result
// would not: tests/bridge-mosquitto-commands.test.ts.)
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { officeTopics } from '../bridge/contract/topics.ts';
import { waitFor } from './bridge-helpers.ts';
import { rawMqttServer } from './helpers/raw-mqtt-server.ts';
import { testUplink } from './helpers/uplink.ts';

const logger = pino({ level: 'silent' });
const topics = officeTopics('singok2');

async function holdingBroker(receiveMaximum: number) {
  const received: Array<{ topic: string; messageId: number }> = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const server = await rawMqttServer(5, (p, send) => {
    if (p.cmd === 'connect') {
      inFlight = 0;
      send({ cmd: 'connack', reasonCode: 0, sessionPresent: false, properties: { receiveMaximum } });
    } else if (p.cmd === 'subscribe') {
      send({ cmd: 'suback', messageId: p.messageId!, granted: [1] });
    } else if (p.cmd === 'publish') {
      received.push({ topic: p.topic, messageId: p.messageId! });
      maxInFlight = Math.max(maxInFlight, ++inFlight);
    } else if (p.cmd === 'pingreq') {
      send({ cmd: 'pingresp' });
    }
  });
  return {
    url: server.url,
    received,
    maxInFlight: () => maxInFlight,
    /** acknowledges the publish received n-th (from 0) */
    ack(n: number) {
      inFlight--;
      server.send({ cmd: 'puback', messageId: received[n]!.messageId, reasonCode: 0 });
    },
    cut: server.cut,
    close: server.close,
  };
}

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const event = (seq: number) =>
  ({
    v: 1,
    office: 'singok2',
    seq,
    id: `e${seq}`,
    at: '2026-11-26T10:00:00.000+09:00',
    type: 'notice.changed',
    notice: 'x',
  }) as never;
const status = { v: 1, office: 'singok2', online: true } as never;

async function connected(receiveMaximum: number) {
  const b = await holdingBroker(receiveMaximum);
  cleanup.push(b.close);
  const u = testUplink(b.url, { logger });
  cleanup.push(() => u.stop());
  u.start();
  await waitFor(() => u.connected(), 5000, 'connected');
  expect(u.receiveMaximum()).toBe(receiveMaximum);
  return { b, u };
}

describe('the uplink keeps the broker Receive Maximum for every publish of the connection', () => {
  it('holds what is past it, in the order asked, one place kept for a command result', async () => {
    const { b, u } = await connected(3);
    const asked = [
      u.publish(topics.status('main'), status, { qos: 1, retain: true }),
      u.publish(topics.events, event(1), { qos: 1, retain: false }),
      u.publish(topics.events, event(2), { qos: 1, retain: false }),
      u.publish(topics.state, status, { qos: 1, retain: true }),
      u.publish(topics.events, event(3), { qos: 1, retain: false }),
    ];
    await waitFor(() => b.received.length === 2, 5000, 'two publishes, the third place kept');
    // a result goes at once: it must leave before its command's PUBACK, which mqtt.js sends
    // before it reads the acknowledgements that would free a place
    asked.push(u.publish(topics.cmdResult, { id: 'c1', ok: true } as never, { qos: 1, retain: false, answer: true }));
    await waitFor(() => b.received.length === 3, 5000, 'the result');
    b.ack(0);
    b.ack(2);
    await waitFor(() => b.received.length === 4, 5000, 'a held one once places are free');
    b.ack(1);
    await waitFor(() => b.received.length === 5, 5000, 'the next');
    b.ack(3);
    await waitFor(() => b.received.length === 6, 5000, 'the last');
    b.ack(4);
    b.ack(5);
    await Promise.all(asked);
    expect(b.maxInFlight()).toBe(3);
    expect(b.received.map((r) => r.topic)).toEqual([
      topics.status('main'),
      topics.events,
      topics.cmdResult,
      topics.events,
      topics.state,
      topics.events,
    ]);
  });

  it('fails what is in flight and what waits when the connection ends, and counts afresh on the next', async () => {
    const { b, u } = await connected(2);
    const asked = [1, 2, 3, 4].map((seq) =>
      u.publish(topics.events, event(seq), { qos: 1, retain: false }).then(
        () => 'sent',
        (err: Error) => err.message,
      ),
    );
    await waitFor(() => b.received.length === 1, 5000, "one publish (the other place is a result's)");
    b.cut();
    const outcomes = await Promise.all(asked);
    // the one in flight (mqtt.js never calls back for it with a persistent session: it hung for
    // ever) and those held that never reached mqtt.js fail as the link does
    expect(outcomes).toEqual(['uplink offline', 'uplink offline', 'uplink offline', 'uplink offline']);
    await waitFor(() => u.connected(), 5000, 'reconnected');
    const before = b.received.length;
    const again = [5, 6].map((seq) => u.publish(topics.events, event(seq), { qos: 1, retain: false }));
    await waitFor(() => b.received.length === before + 1, 5000, 'a place on the new connection');
    b.ack(before);
    await waitFor(() => b.received.length === before + 2, 5000, 'the next');
    b.ack(before + 1);
    await Promise.all(again);
  });
});
