// The embedded broker's stop carries out nothing a client sent. aedes.close() ends every connection
// without its DISCONNECT, so it publishes every client's will: a will on `cmd` (a central's or a
// satellite's "if I vanish" command) was carried out at every stop and restart of the daemon, though
// no client had vanished, and its result could no longer be published (found by a hostile review).
import { afterEach, describe, expect, it } from 'vitest';
import type { CommandGate, EmbeddedBroker } from '../bridge/broker/broker.ts';
import { mqttConnect, startTestBroker, until } from './bridge-broker-raw.ts';

const T = 'beonho/v1/singok2';
let broker: EmbeddedBroker | null = null;
afterEach(async () => {
  await broker?.close();
  broker = null;
});

function recordingGate(ran: string[]): CommandGate {
  return {
    topic: `${T}/cmd`,
    run: async (payload) => {
      ran.push((JSON.parse(payload.toString()) as { id: string }).id);
    },
    refuse: async () => {},
  };
}

const willOnCmd = (id: string) => ({
  topic: `${T}/cmd`,
  payload: Buffer.from(JSON.stringify({ id, type: 'notice.set', text: 'the will' })),
  qos: 1 as const,
  retain: false,
});

describe('a will on cmd', () => {
  it('is carried out when its client vanishes, and not when the broker stops', async () => {
    const ran: string[] = [];
    const b = await startTestBroker({}, { commands: recordingGate(ran) });
    broker = b.broker;
    const url = `mqtt://127.0.0.1:${b.port}`;

    // A client that vanishes (no DISCONNECT): its will is published, as MQTT says.
    const vanishing = await mqttConnect(url, {
      username: 'central',
      password: 'central',
      clientId: 'central-vanishing',
      will: willOnCmd('will-vanished'),
    });
    (vanishing as unknown as { stream: { destroy(): void } }).stream.destroy();
    await until(() => ran.length > 0, 'the will of the client that vanished');
    expect(ran).toEqual(['will-vanished']);

    // Clients still connected when the daemon stops have not vanished: nothing of theirs runs.
    const staying = await Promise.all(
      [1, 2, 3].map((i) =>
        mqttConnect(url, {
          username: 'central',
          password: 'central',
          clientId: `central-staying-${i}`,
          will: willOnCmd(`will-at-stop-${i}`),
        }),
      ),
    );
    await b.broker.close();
    broker = null;
    for (const c of staying) c.end(true);
    await new Promise((r) => setTimeout(r, 200));
    expect(ran).toEqual(['will-vanished']);
  });
});
