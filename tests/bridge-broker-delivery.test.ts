// Every publish reaches every client subscribed to it, once. aedes dropped a retained publish made
// just before a plain one (its store step let the plain one overtake it, and its repeat check took
// the retained one for a repeat): after a main unit's restart, a satellite that subscribed in that
// instant never got the state (bridge/broker/repeat-deliveries.ts).
import type { MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { brokerTestScope, mqttConnect, startTestBroker, until } from './bridge-broker-raw.ts';

const T = 'beonho/v1/singok2';

describe('deliveries from the embedded broker', () => {
  const scope = brokerTestScope();

  async function subscriber(filters: string[]): Promise<{ client: MqttClient; got: string[]; port: number }> {
    const { broker, port } = await startTestBroker();
    scope.broker = broker;
    const client = await mqttConnect(`mqtt://127.0.0.1:${port}`, { username: 'central', password: 'central' });
    scope.clients.push(client);
    const got: string[] = [];
    client.on('message', (topic, payload) => got.push(`${topic.slice(T.length + 1)} ${payload.toString()}`));
    await client.subscribeAsync(filters, { qos: 1 });
    return { client, got, port };
  }

  it('delivers a retained state published in the same turn as plain events, each time', async () => {
    const { got } = await subscriber([`${T}/state`, `${T}/events`]);
    const broker = scope.broker!;
    const expected: string[] = [];
    const sent: Array<Promise<void>> = [];
    for (let seq = 1; seq <= 20; seq++) {
      sent.push(broker.publish(`${T}/state`, `{"seq":${seq}}`, { qos: 1, retain: true }));
      sent.push(broker.publish(`${T}/events`, `{"seq":${seq}}`, { qos: 1, retain: false }));
      expected.push(`state {"seq":${seq}}`, `events {"seq":${seq}}`);
    }
    await Promise.all(sent);
    await until(() => got.length >= expected.length, `${expected.length} messages (got ${got.length})`, 5000);
    expect([...got].sort()).toEqual([...expected].sort());
    // in order, topic by topic
    expect(got.filter((m) => m.startsWith('state'))).toEqual(expected.filter((m) => m.startsWith('state')));
    expect(got.filter((m) => m.startsWith('events'))).toEqual(expected.filter((m) => m.startsWith('events')));
  });

  it('delivers a publish once to a client whose subscriptions overlap', async () => {
    const { got } = await subscriber([`${T}/#`, `${T}/events`, `${T}/+`]);
    const broker = scope.broker!;
    await broker.publish(`${T}/events`, '{"seq":1}', { qos: 1, retain: false });
    await broker.publish(`${T}/state`, '{"seq":1}', { qos: 1, retain: true });
    // the deliveries of one publish are written before those of the next
    await broker.publish(`${T}/events`, '{"seq":2}', { qos: 1, retain: false });
    await until(() => got.includes('events {"seq":2}'), 'the second event', 5000);
    expect(got).toEqual(['events {"seq":1}', 'state {"seq":1}', 'events {"seq":2}']);
  });

  it('still gives a new subscription the retained state, and a client publish reaches the others once', async () => {
    const { got, port } = await subscriber([`${T}/#`, `${T}/+`]);
    const broker = scope.broker!;
    await broker.publish(`${T}/state`, '{"seq":7}', { qos: 1, retain: true });
    await until(() => got.length >= 1, 'the state', 5000);
    const late = await mqttConnect(`mqtt://127.0.0.1:${port}`, { username: 'central', password: 'central' });
    scope.clients.push(late);
    const lateGot: string[] = [];
    late.on('message', (topic, payload) => lateGot.push(`${topic.slice(T.length + 1)} ${payload.toString()}`));
    await late.subscribeAsync(`${T}/state`, { qos: 1 });
    await until(() => lateGot.length >= 1, 'the retained state', 5000);
    // a command from central reaches the other central subscriber once, although both its filters match
    await late.publishAsync(`${T}/cmd`, '{"id":"c-1","type":"state.publish"}', { qos: 1 });
    await broker.publish(`${T}/events`, '{"seq":8}', { qos: 1, retain: false });
    await until(() => got.includes('events {"seq":8}'), 'the event after the command', 5000);
    expect(got).toEqual(['state {"seq":7}', 'cmd {"id":"c-1","type":"state.publish"}', 'events {"seq":8}']);
    expect(lateGot).toEqual(['state {"seq":7}']);
  });
});
