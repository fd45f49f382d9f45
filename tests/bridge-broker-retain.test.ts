// A retained command is refused by the embedded broker (issue 12, defect 4): not executed, not
// stored for the next subscriber. Under MQTT 3.1.1 the broker's only refusal is to close the
// connection, as for any publish the ACL refuses.
import { afterEach, describe, expect, it } from 'vitest';
import type { EmbeddedBroker } from '../bridge/broker/broker.ts';
import { mqttConnect, startTestBroker, until } from './bridge-broker-raw.ts';

const T = 'beonho/v1/singok2';
const central = { username: 'central', password: 'central' };
let broker: EmbeddedBroker | null = null;
afterEach(async () => {
  await broker?.close();
  broker = null;
});

describe('a retained command', () => {
  it('closes the connection, is not executed, and is not kept for later subscribers', async () => {
    const b = await startTestBroker();
    broker = b.broker;
    const executed: string[] = [];
    await b.broker.onMessage(`${T}/cmd`, (p) => executed.push((JSON.parse(p.toString()) as { id: string }).id));
    const url = `mqtt://127.0.0.1:${b.port}`;

    const sender = await mqttConnect(url, central);
    const closed = new Promise<void>((resolve) => sender.once('close', () => resolve()));
    sender.publish(`${T}/cmd`, JSON.stringify({ id: 'c-retained', type: 'day.open' }), { qos: 1, retain: true });
    await closed;
    sender.end(true);
    expect(b.log.withCode('mqtt-retained-command')).toHaveLength(1);

    // A subscriber that comes later gets nothing retained: the first command it sees is a new one.
    const watcher = await mqttConnect(url, central);
    const seen: string[] = [];
    watcher.on('message', (_t, p) => seen.push((JSON.parse(p.toString()) as { id: string }).id));
    await watcher.subscribeAsync(`${T}/cmd`, { qos: 1 });
    const other = await mqttConnect(url, central);
    await other.publishAsync(`${T}/cmd`, JSON.stringify({ id: 'c-plain', type: 'day.open' }), { qos: 1 });
    await until(() => seen.length > 0 && executed.length > 0, 'the plain command');
    expect(seen).toEqual(['c-plain']);
    expect(executed).toEqual(['c-plain']);
    await other.endAsync();
    await watcher.endAsync();
  });
});
