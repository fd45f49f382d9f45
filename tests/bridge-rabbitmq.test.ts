// The uplink on a real 3-node RabbitMQ 3.10 cluster (bench/lib/rabbitmq.ts): the device on node 1,
// central reading through node 2 and sending online tickets through node 3. Retained messages stay
// on the node they were published through (and RabbitMQ 3.10 gives them to no wildcard
// subscription), so central learns the current state and presence by asking (`state.publish` on
// connect) and from the device's republish clock (docs/mqtt.md, "Clustered brokers").
// The last block kills node 1 in the middle of a stream of events and online tickets: the uplink
// moves to another node from its URL list and central's view holds (no seq gap, every ticket once).
// With BEONHO_RABBITMQ_LONG=1 the streams are ten times longer.
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simulatorDefault } from '../device/config/default.ts';
import { validateConfig } from '../device/config/load.ts';
import { centralUser, officeUser, RabbitCluster, rabbitmqAvailable } from '../bench/lib/rabbitmq.ts';
import { assertContract, connect, Inbox, logger, type Office, startOffice, waitFor } from './bridge-helpers.ts';
import { checkOrdered } from './bridge-mosquitto-server.ts';

const run = rabbitmqAvailable();
const LONG = process.env.BEONHO_RABBITMQ_LONG === '1';
const T = 'beonho/v1/singok2';
const CENTRAL = { username: 'central', password: 'central-pw', protocolVersion: 4 as const };

function officeConfig(id: string, urls: string | string[], extra: Record<string, unknown> = {}) {
  return validateConfig({
    ...simulatorDefault,
    office: { ...simulatorDefault.office, id },
    mqtt: {
      broker: { enabled: false },
      state: { minIntervalMs: 0 },
      statusIntervalSec: 3600,
      republishSec: 0,
      uplink: {
        url: urls,
        username: id,
        password: `${id}-pw`,
        // The default, MQTT 5: RabbitMQ 3.10 closes it without a CONNACK and the uplink falls back
        // to 3.1.1 on the same node (docs/mqtt.md); a city would set protocolVersion: 4.
        keepaliveSec: 5,
        reconnectMinMs: 100,
        reconnectMaxMs: 1000,
      },
      ...extra,
    },
  });
}

describe.runIf(run)('uplink on a 3-node RabbitMQ cluster', () => {
  const cluster = new RabbitCluster({
    users: [
      officeUser('singok2', 'singok2-pw'),
      officeUser('hoewon1', 'hoewon1-pw'),
      centralUser(CENTRAL.username, CENTRAL.password),
    ],
  });
  let office: Office;
  /** central's reader on node 2: a persistent session, every topic of every office */
  let hq: MqttClient;
  let seen: Inbox;
  /** central's command sender on node 3 */
  let sender: MqttClient;
  let n = 0;

  const command = async (body: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const id = (body.id as string | undefined) ?? `hq-${++n}`;
    await sender.publishAsync(`${T}/cmd`, JSON.stringify({ ...body, id }), { qos: 1 });
    await seen.until(() => seen.on('cmd/result').some((r) => r.id === id), 15_000, `result of ${id}`);
    return seen.on('cmd/result').find((r) => r.id === id)!;
  };

  beforeAll(async () => {
    await cluster.start();
    // Node 1 first in the device's list: the office is on node 1 until node 1 dies.
    office = await startOffice(officeConfig('singok2', cluster.urls()), undefined, logger);
    await waitFor(() => office.bridge.parts.uplink!.connected(), 20_000, 'uplink on node 1');
    // the fallback stayed on node 1
    expect(office.bridge.parts.uplink!.currentUrl()).toBe(cluster.url(1));
    await office.queue.execute({ type: 'day.open' });
    hq = await connect(cluster.url(2), { ...CENTRAL, clientId: 'central-hq', clean: false, reconnectPeriod: 200 });
    seen = new Inbox(hq);
    await hq.subscribeAsync(
      ['beonho/v1/+/state', 'beonho/v1/+/events', 'beonho/v1/+/devices/+/status', 'beonho/v1/+/cmd/result'],
      { qos: 1 },
    );
    sender = await connect(cluster.url(3), { ...CENTRAL, clientId: 'central-sender', reconnectPeriod: 200 });
  }, 120_000);

  afterAll(async () => {
    hq?.end(true);
    sender?.end(true);
    await office?.stop();
    await cluster.destroy();
  }, 60_000);

  it('central on node 2 gets no retained state from node 1; it asks with state.publish through node 3 and gets state and presence live', async () => {
    // The device published its retained state and status on node 1 when it connected, before
    // central subscribed: no retained copy of it reaches node 2 (below: every message central got
    // is a live one). Central asks.
    const r = await command({ type: 'state.publish' });
    expect(r).toMatchObject({ ok: true, type: 'state.publish', result: { seq: office.queue.state().seq } });
    await seen.until(
      () => seen.on('state').some((s) => s.seq === office.queue.state().seq) && seen.on('status').length > 0,
      15_000,
      'state and status after state.publish',
    );
    const status = seen.on('status').at(-1)!;
    expect(status).toMatchObject({ office: 'singok2', device: 'main', online: true });
    expect(status.session).toBe(office.bridge.parts.uplink!.session);
    expect(seen.on('state').at(-1)).toEqual(
      JSON.parse(JSON.stringify({ ...office.queue.snapshot(), at: seen.on('state').at(-1)!.at })),
    );
    // Live copies of retained messages: what central got, it got because it asked.
    for (const m of seen.messages) {
      assertContract(m.topic, m.json);
      expect(m.retain).toBe(false);
    }
  });

  it('events from node 1 reach central on node 2 in seq order; an online ticket through node 3 is issued once', async () => {
    const from = office.queue.state().seq + 1;
    for (let i = 0; i < (LONG ? 200 : 20); i++)
      await office.queue.execute({ type: 'ticket.issue', service: 'resident', channel: 'kiosk' });
    const body = { id: 'hq-online-1', type: 'ticket.issue', service: 'passport', channel: 'online', ref: 'r-7' };
    const first = await command(body);
    expect(first).toMatchObject({
      ok: true,
      result: { ticket: { service: 'passport', channel: 'online', ref: 'r-7' } },
    });
    const issued = office.queue.state().services.passport!.issuedToday;
    // The same id again (central's retry): the first result, no second ticket.
    await sender.publishAsync(`${T}/cmd`, JSON.stringify(body), { qos: 1 });
    await command({ type: 'state.publish' }); // processed after the repeat: a marker
    expect(seen.on('cmd/result').filter((r) => r.id === 'hq-online-1')).toHaveLength(2);
    expect(seen.on('cmd/result').filter((r) => r.id === 'hq-online-1')[1]).toEqual(first);
    expect(office.queue.state().services.passport!.issuedToday).toBe(issued);
    const to = office.queue.state().seq;
    await seen.until(() => seen.on('events').some((e) => e.seq === to), 15_000, 'every event at central');
    checkOrdered(
      seen
        .on('events')
        .map((e) => e.seq as number)
        .filter((s) => s >= from),
      from,
      to,
    );
    const online = seen
      .on('events')
      .filter((e) => e.type === 'ticket.issued' && (e.ticket as { ref?: string }).ref === 'r-7');
    expect(online).toHaveLength(1);
    for (const m of seen.messages) assertContract(m.topic, m.json);
  });

  it(
    'node 1 dies in the middle of a stream of events and online tickets: the uplink moves to node 2, central sees every event and every ticket once',
    async () => {
      const uplink = office.bridge.parts.uplink!;
      expect(uplink.currentUrl()).toBe(cluster.url(1));
      const from = office.queue.state().seq + 1;
      const n = LONG ? 2000 : 200;
      const online: Array<{ id: string; ref: string }> = [];
      let killed: Promise<void> | null = null;
      let downAt = 0;
      let backAt = 0;
      office.bus.on('linkChanged', {}, ({ online: up }) => {
        if (downAt && up && !backAt) backAt = Date.now();
      });
      for (let i = 0; i < n; i++) {
        // An event each: kiosk tickets, and notices between them (the long form would exhaust a
        // service's number range with tickets alone).
        if (i % 3 === 0) await office.queue.execute({ type: 'ticket.issue', service: 'resident', channel: 'kiosk' });
        else await office.queue.execute({ type: 'notice.set', text: `공지 ${i}` });
        if (i % 5 === 0) {
          // Central does not wait: commands sent while the device moves wait in its session.
          const t = { id: `fo-${i}`, ref: `fo-${i.toString(36)}` };
          const service = ['passport', 'seal', 'welfare'][(i / 5) % 3]!;
          online.push(t);
          sender.publish(
            `${T}/cmd`,
            JSON.stringify({ id: t.id, type: 'ticket.issue', service, channel: 'online', ref: t.ref }),
            { qos: 1 },
          );
        }
        if (i === n / 2) {
          downAt = Date.now();
          killed = cluster.kill(1);
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      await killed;
      await waitFor(() => uplink.connected() && uplink.currentUrl() === cluster.url(2), 30_000, 'the uplink on node 2');
      const answered = () => seen.on('singok2/cmd/result').filter((r) => online.some((t) => t.id === r.id));
      await waitFor(
        () => online.every((t) => answered().some((r) => r.id === t.id)),
        60_000,
        'every online ticket answered',
      );
      expect(answered().every((r) => r.ok === true)).toBe(true);
      const to = office.queue.state().seq;
      await seen.until(() => seen.on('singok2/events').some((e) => e.seq === to), 30_000, 'every event at central');
      const events = seen.on('singok2/events');
      checkOrdered(
        events.map((e) => e.seq as number).filter((s) => s >= from),
        from,
        to,
      );
      // every online ticket issued once (after dropping repeats of one seq)
      const firsts = new Map(events.map((e) => [e.seq as number, e]));
      for (const t of online) {
        const issued = [...firsts.values()].filter(
          (e) => e.type === 'ticket.issued' && (e.ticket as { ref?: string }).ref === t.ref,
        );
        expect(issued, t.id).toHaveLength(1);
      }
      const issuedOnline = ['passport', 'seal', 'welfare'].reduce(
        (sum, id) => sum + office.queue.state().services[id]!.issuedToday,
        0,
      );
      expect(issuedOnline).toBeGreaterThanOrEqual(online.length);
      // Within the backoff (100 ms to 1 s here), plus a quorum queue's new leader on a live node.
      expect(backAt - downAt).toBeLessThan(20_000);
      process.stderr.write(`rabbitmq failover: back on node 2 ${backAt - downAt} ms after node 1 died\n`);
    },
    LONG ? 300_000 : 120_000,
  );

  it('an office on a republish clock reaches a reader that never asks, within one interval', async () => {
    const reader = await connect(cluster.url(3), { ...CENTRAL, clientId: 'reader' });
    const inbox = new Inbox(reader);
    await reader.subscribeAsync(['beonho/v1/hoewon1/state', 'beonho/v1/hoewon1/devices/+/status'], { qos: 1 });
    const other = await startOffice(officeConfig('hoewon1', [cluster.url(3)], { republishSec: 1 }));
    try {
      await waitFor(() => other.bridge.parts.uplink!.connected(), 20_000, 'hoewon1 uplink');
      // One pair on connect, then two ticks: each brings the state and the status, unchanged.
      await inbox.until(
        () => inbox.on('/state').length >= 3 && inbox.on('/status').length >= 3,
        15_000,
        'two republish ticks',
      );
      for (const m of inbox.messages) assertContract(m.topic, m.json);
      const states = inbox.on('state');
      expect(states.at(-1)!.seq).toBe(other.queue.state().seq);
    } finally {
      await other.stop();
      reader.end(true);
    }
  });
  it('the device publishes state and status again on every reconnect', async () => {
    const uplink = office.bridge.parts.uplink!;
    const before = uplink.session;
    const mark = seen.messages.length;
    // Tear the TCP connection down without DISCONNECT: the node publishes the will, live, and the
    // uplink goes on to the next node of its list (node 3 by now), where it publishes again.
    (uplink as unknown as { client: MqttClient }).client.stream.destroy();
    const after = () => seen.messages.slice(mark).map((m) => m.json as Record<string, unknown>);
    await waitFor(
      () => after().some((m) => m.online === false && m.session === before),
      15_000,
      'the will of the old session',
    );
    await waitFor(
      () =>
        after().some((m) => m.online === true && (m.session as number) > before) &&
        after().some((m) => m.seq === office.queue.state().seq && Array.isArray(m.services)),
      15_000,
      'a newer session online and the state, unasked',
    );
  });
});
