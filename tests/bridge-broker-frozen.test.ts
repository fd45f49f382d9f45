// A subscriber that stops reading must not hold up anyone else (issue 12, defect 3): aedes used to
// wait for its socket to drain, and every other delivery queued behind that wait. A device stand-in
// answers commands in-process, as the bridge does.
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import type { EmbeddedBroker } from '../bridge/broker/broker.ts';
import { connectPacket, mqttConnect, RawClient, startTestBroker, subscribePacket, until } from './bridge-broker-raw.ts';

const T = 'beonho/v1/singok2';
const CHUNK = Buffer.alloc(64 * 1024, 0x61);

let broker: EmbeddedBroker | null = null;
const open: Array<{ destroy(): void } | MqttClient> = [];
afterEach(async () => {
  for (const c of open.splice(0)) 'endAsync' in c ? await c.endAsync(true) : c.destroy();
  await broker?.close();
  broker = null;
});

/** The device: every command gets a result on cmd/result. */
async function answerCommands(b: EmbeddedBroker): Promise<void> {
  await b.onMessage(`${T}/cmd`, (payload) => {
    const { id } = JSON.parse(payload.toString()) as { id: string };
    void b.publish(`${T}/cmd/result`, JSON.stringify({ v: 1, id, ok: true }), { qos: 1, retain: false });
  });
}

/** A central subscribed to `#` that stops reading once subscribed. */
async function frozenSubscriber(port: number): Promise<RawClient> {
  const r = new RawClient(port);
  open.push(r);
  await r.opened;
  r.write(connectPacket({ clientId: 'central-frozen', username: 'central', password: 'central' }));
  r.write(subscribePacket('#'));
  await r.receivedAtLeast(4 + 5); // CONNACK, SUBACK
  r.freeze();
  return r;
}

async function roundTrip(c: MqttClient, id: string, results: string[]): Promise<void> {
  await c.publishAsync(`${T}/cmd`, JSON.stringify({ id, type: 'state.publish' }), { qos: 1 });
  await until(() => results.includes(id), `the result of ${id}`);
}

async function readingCentral(port: number): Promise<{ c: MqttClient; events: number[]; results: string[] }> {
  const c = await mqttConnect(`mqtt://127.0.0.1:${port}`, { username: 'central', password: 'central' });
  open.push(c);
  const events: number[] = [];
  const results: string[] = [];
  c.on('message', (topic, payload) => {
    if (topic.endsWith('/events')) events.push(payload.length);
    else if (topic.endsWith('/cmd/result')) results.push((JSON.parse(payload.toString()) as { id: string }).id);
  });
  await c.subscribeAsync([`${T}/events`, `${T}/cmd/result`], { qos: 1 });
  return { c, events, results };
}

describe('a subscriber that stops reading', () => {
  it('does not hold up the others while it stays connected', async () => {
    // A bound far above what this test sends: the frozen client stays, and must not matter.
    const b = await startTestBroker({ limits: { clientBufferBytes: 256 * 1024 * 1024 } });
    broker = b.broker;
    await answerCommands(b.broker);
    const frozen = await frozenSubscriber(b.port);
    const central = await readingCentral(b.port);
    // 32 MiB: more than the loopback socket buffers hold, so the frozen socket is full.
    const sent = 512;
    for (let i = 0; i < sent; i++) await b.broker.publish(`${T}/events`, CHUNK, { qos: 1, retain: false });
    await until(() => central.events.length === sent, 'every event at the reading central');
    await roundTrip(central.c, 'c-during-freeze', central.results);
    // Still connected: once it reads again, everything arrives.
    frozen.thaw();
    await frozen.receivedAtLeast(sent * CHUNK.length);
    expect(frozen.isClosed).toBe(false);
    expect(b.log.withCode('mqtt-client-too-slow')).toEqual([]);
  });

  it('is dropped once more than clientBufferBytes wait for it, and nobody else is', async () => {
    const b = await startTestBroker(); // clientBufferBytes: 1 MiB
    broker = b.broker;
    await answerCommands(b.broker);
    const frozen = await frozenSubscriber(b.port);
    const central = await readingCentral(b.port);
    const dropped = () => b.log.withCode('mqtt-client-too-slow').length > 0;
    let sent = 0;
    while (!dropped() && sent < 2048) {
      await b.broker.publish(`${T}/events`, CHUNK, { qos: 1, retain: false });
      sent++;
    }
    // A socket that does not read cannot see its end: read again, and find it closed by the broker.
    frozen.thaw();
    await frozen.closed;
    await until(() => central.events.length === sent, 'every event at the reading central');
    await roundTrip(central.c, 'c-after-drop', central.results);
    expect(b.log.withCode('mqtt-client-too-slow')[0]).toMatchObject({ clientId: 'central-frozen', max: 1_048_576 });
  });
});
