// Central's broker refusing the device its cmd subscription (an ACL that lets it write its topics
// but not read cmd; HiveMQ and EMQX answer the SUBSCRIBE with 0x80 / 0x87): the uplink used to drop
// the connection and try again for ever, so central got no events, state or status either. Now the
// link stays up for those, says once that commands cannot arrive, and asks for the subscription
// again until central grants it. A raw broker made with mqtt-packet answers as such a broker does.
import type { Packet } from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { officeTopics } from '../bridge/contract/topics.ts';
import type { Uplink } from '../bridge/uplink/uplink.ts';
import { LogCapture } from './bridge-broker-raw.ts';
import { type Office, startOffice, testConfig, waitFor } from './bridge-helpers.ts';
import { rawMqttServer } from './helpers/raw-mqtt-server.ts';
import { testUplink } from './helpers/uplink.ts';

const topics = officeTopics('singok2');

/** A broker that refuses every SUBSCRIBE until allow(), acknowledges every publish, and can send
 * the device a command. */
async function aclBroker(version: 4 | 5) {
  const published: string[] = [];
  const payloads: Array<{ topic: string; payload: string }> = [];
  let subscribes = 0;
  let allowed = false;
  const server = await rawMqttServer(version, (p, send) => {
    if (p.cmd === 'connect') {
      send({ cmd: 'connack', returnCode: 0, reasonCode: 0, sessionPresent: false } as Packet);
    } else if (p.cmd === 'subscribe') {
      subscribes++;
      send({ cmd: 'suback', messageId: p.messageId!, granted: [allowed ? 1 : version === 5 ? 0x87 : 0x80] });
    } else if (p.cmd === 'publish') {
      published.push(p.topic);
      payloads.push({ topic: p.topic, payload: String(p.payload) });
      if (p.qos === 1) send({ cmd: 'puback', messageId: p.messageId!, reasonCode: 0 } as Packet);
    } else if (p.cmd === 'pingreq') {
      send({ cmd: 'pingresp' });
    }
  });
  return {
    url: server.url,
    published,
    payloads,
    subscribes: () => subscribes,
    connections: server.connections,
    allow: () => {
      allowed = true;
    },
    command: (payload: string) =>
      server.send({ cmd: 'publish', topic: topics.cmd, payload, qos: 1, messageId: 7, retain: false, dup: false }),
    cut: server.cut,
    close: server.close,
  };
}

const opened: Array<{ close: () => Promise<void> }> = [];
const uplinks: Uplink[] = [];
afterEach(async () => {
  for (const u of uplinks.splice(0)) await u.stop();
  for (const o of opened.splice(0)) await o.close();
});

describe.each([4, 5] as const)('central refusing the cmd subscription (MQTT %s)', (version) => {
  it('keeps the link up for what central takes, says so once, and asks again until granted', async () => {
    const broker = await aclBroker(version);
    opened.push(broker);
    const log = new LogCapture();
    const commands: string[] = [];
    const uplink = testUplink(broker.url, {
      logger: log.logger,
      protocolVersion: version,
      resubscribeMs: 50,
      onCommand: async (_topic, payload) => {
        commands.push(payload.toString());
      },
    });
    uplinks.push(uplink);
    const changes: boolean[] = [];
    uplink.onCommandsChanged(() => changes.push(uplink.commandsRefused()));
    let ups = 0;
    uplink.onConnect(() => ups++);
    uplink.start();
    await waitFor(() => uplink.connected(), 5000, 'the link up');
    expect(uplink.commandsRefused()).toBe(true);
    // publishing works: central gets the status, and so events and state
    await uplink.publish(
      topics.status('main'),
      { v: 1, office: 'singok2', device: 'main', online: true, session: 1 },
      { qos: 1, retain: true },
    );
    expect(broker.published).toContain(topics.status('main'));
    // asked again on the same connection, said once
    await waitFor(() => broker.subscribes() >= 4, 5000, 'the subscription asked for again');
    expect(broker.connections()).toBe(1);
    expect(ups).toBe(1);
    const said = log.withCode('uplink-subscribe-failed');
    expect(said.filter((l) => (l.level as number) >= 50)).toHaveLength(1);
    expect(said[0]!.msg).toMatch(/events, state and status go out, central's commands do not arrive/);
    // central's ACL fixed: the next ask is granted and commands arrive
    broker.allow();
    await waitFor(() => !uplink.commandsRefused(), 5000, 'the subscription granted');
    expect(changes).toEqual([false]);
    broker.command('{"id":"c1","type":"day.open"}');
    await waitFor(() => commands.length === 1, 5000, 'the command delivered');
    expect(log.lines.some((l) => /commands arrive again/.test(String(l.msg)))).toBe(true);
  });
});

describe('an office whose central refuses its cmd subscription', () => {
  let office: Office | null = null;
  afterEach(async () => {
    await office?.stop();
    office = null;
  });

  it('sends central its events, and a status whose mqtt-uplink says commands are refused', async () => {
    const broker = await aclBroker(4);
    opened.push(broker);
    office = await startOffice(
      testConfig({
        broker: { enabled: false },
        uplink: { url: broker.url, protocolVersion: 4, reconnectMinMs: 50, reconnectMaxMs: 400 },
      }),
    );
    await waitFor(() => office!.bridge.parts.uplink!.connected(), 10_000, 'uplink');
    await office.queue.execute({ type: 'day.open' });
    await office.queue.execute({ type: 'ticket.issue', service: 'resident', channel: 'kiosk' });
    const last = office.queue.state().seq;
    const events = () =>
      broker.payloads.filter((p) => p.topic === topics.events).map((p) => JSON.parse(p.payload) as { seq: number });
    await waitFor(() => events().some((e) => e.seq === last), 10_000, 'the events at central');
    const uplinkHealth = () =>
      broker.payloads
        .filter((p) => p.topic === topics.status('main'))
        .map((p) => JSON.parse(p.payload) as { hardware?: Record<string, Record<string, unknown>> })
        .map((s) => s.hardware?.['mqtt-uplink'])
        .filter((h) => h !== undefined);
    await waitFor(() => uplinkHealth().some((h) => h.commands === 'refused'), 10_000, 'a status saying so');
    expect(uplinkHealth().at(-1)).toMatchObject({ connected: true, lastError: 'uplink-subscribe-failed' });
    expect(broker.connections()).toBe(1);
    expect(uplinkHealth().at(-1)!.lastErrorAt).toEqual(expect.any(String));
    // central's ACL fixed, and the link cut: back, connected, with commands, and the cut kept as its
    // last failure, with its time, as every part's last failure is (docs/mqtt.md)
    broker.allow();
    const statuses = uplinkHealth().length;
    broker.cut();
    await waitFor(
      () =>
        uplinkHealth()
          .slice(statuses)
          .some((h) => h.connected === true && h.commands === undefined),
      10_000,
      'a status after the link came back',
    );
    expect(uplinkHealth().at(-1)).toEqual({
      connected: true,
      lastError: 'uplink-down',
      lastErrorAt: expect.any(String),
      lastErrorReason: 'central closed the connection',
    });
  });
});
