// mqtt.uplink.url as a list: validated, and the uplink moving on when the node in use dies. Two
// real mosquittos stand for two nodes here (tests/bridge-rabbitmq.test.ts kills a node of a real
// cluster): the uplink starts on the first, moves to the second within its backoff when the first
// stops, drains its outbox there, and stays there when the first comes back.
import type { MqttClient } from 'mqtt';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simulatorDefault } from '../device/config/default.ts';
import { validateConfig } from '../device/config/load.ts';
import { connect, freePort, Inbox, type Office, startOffice, testConfig, waitFor } from './bridge-helpers.ts';
import { MOSQUITTO_USERS, Mosquitto, mosquittoAvailable } from './bridge-mosquitto-server.ts';
import { testUplink } from './helpers/uplink.ts';

const T = 'beonho/v1/singok2';

describe('mqtt.uplink.url as a list', () => {
  const problems = (url: unknown): string[] => {
    try {
      validateConfig({ ...simulatorDefault, mqtt: { uplink: { url } } });
      return [];
    } catch (err) {
      return (err as { problems: string[] }).problems;
    }
  };

  it('takes one URL or a list of them, and names the entry that is wrong', () => {
    expect(problems('mqtts://central.example.go.kr:8883')).toEqual([]);
    expect(problems(['mqtt://10.0.0.1:1883', 'mqtt://10.0.0.2:1883', 'mqtts://10.0.0.3:8883'])).toEqual([]);
    expect(problems(['mqtt://10.0.0.1:1883', 'http://10.0.0.2'])).toEqual([
      'mqtt.uplink.url[1]: expected an mqtt://, mqtts://, ws:// or wss:// URL, got "http://10.0.0.2"',
    ]);
    expect(problems([])).toEqual(['mqtt.uplink.url: expected at least one URL, got []']);
    expect(problems(['mqtt://a:1', 'mqtt://a:1'])[0]).toMatch(/^mqtt\.uplink\.url: the same URL is listed twice/);
    expect(problems('mqtt://')[0]).toMatch(/^mqtt\.uplink\.url: expected an mqtt:\/\//);
  });
});

describe('central away, every node of the list unreachable', () => {
  it('warns once per reason, not at every attempt as the uplink goes round the nodes', async () => {
    const lines: Array<{ level: number; code?: string; reason?: string }> = [];
    const stream = new Writable({
      write(chunk, _enc, done) {
        for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
        done();
      },
    });
    // nothing listens on these: each attempt is refused, with the node's address in the reason
    const urls = [`mqtt://127.0.0.1:${await freePort()}`, `mqtt://127.0.0.1:${await freePort()}`];
    const uplink = testUplink(urls, { logger: pino({ level: 'debug' }, stream) });
    const errors = () => lines.filter((l) => l.code === 'uplink-error');
    try {
      uplink.start();
      await waitFor(() => errors().length >= 30, 20_000, 'thirty attempts');
    } finally {
      await uplink.stop();
    }
    const warned = errors().filter((l) => l.level >= 40);
    expect(new Set(warned.map((l) => l.reason)).size).toBe(2);
    expect(warned).toHaveLength(2);
  });
});

describe.runIf(mosquittoAvailable())('uplink failover between two brokers', () => {
  const a = new Mosquitto(MOSQUITTO_USERS);
  const b = new Mosquitto(MOSQUITTO_USERS);
  let office: Office;
  let onA: MqttClient;
  let onB: MqttClient;
  let seenA: Inbox;
  let seenB: Inbox;

  const central = async (m: Mosquitto, id: string): Promise<[MqttClient, Inbox]> => {
    const c = await connect(m.url(), {
      username: 'central',
      password: 'central-pw',
      clientId: id,
      clean: false,
      protocolVersion: 4,
      reconnectPeriod: 100,
    });
    const inbox = new Inbox(c);
    await c.subscribeAsync(`${T}/events`, { qos: 1 });
    return [c, inbox];
  };
  const seqs = () => new Set([...seenA.on('events'), ...seenB.on('events')].map((e) => e.seq as number));

  beforeAll(async () => {
    await a.start();
    await b.start();
    [onA, seenA] = await central(a, 'central-a');
    [onB, seenB] = await central(b, 'central-b');
    office = await startOffice(
      testConfig({
        broker: { enabled: false },
        uplink: {
          url: [a.url(), b.url()],
          username: 'dev-singok2',
          password: 'dev-pw',
          keepaliveSec: 5,
          reconnectMinMs: 50,
          reconnectMaxMs: 400,
        },
      }),
    );
    await waitFor(() => office.bridge.parts.uplink!.connected(), 10_000, 'uplink');
    await office.queue.execute({ type: 'day.open' });
  });
  afterAll(async () => {
    onA?.end(true);
    onB?.end(true);
    await office?.stop();
    await a.destroy();
    await b.destroy();
  });

  it('starts on the first, moves to the second when the first stops, with every event, and stays', async () => {
    const uplink = office.bridge.parts.uplink!;
    expect(uplink.currentUrl()).toBe(a.url());
    const from = office.queue.state().seq;
    for (let i = 0; i < 20; i++)
      await office.queue.execute({ type: 'ticket.issue', service: 'resident', channel: 'kiosk' });
    await a.stop();
    // Tickets go on being issued while the uplink finds the other node.
    for (let i = 0; i < 100; i++)
      await office.queue.execute({ type: 'ticket.issue', service: 'resident', channel: 'online' });
    await waitFor(() => uplink.connected() && uplink.currentUrl() === b.url(), 10_000, 'the uplink on b');
    const to = office.queue.state().seq;
    await waitFor(() => seqs().has(to), 10_000, 'the last event on b');
    // Nothing lost between the two (a repeat is allowed: a PUBACK lost with a).
    for (let s = from; s <= to; s++) expect(seqs().has(s), `seq ${s}`).toBe(true);
    // a comes back; the uplink stays where it works
    await a.start();
    await office.queue.execute({ type: 'ticket.issue', service: 'seal', channel: 'kiosk' });
    const last = office.queue.state().seq;
    await seenB.until(() => seenB.on('events').some((e) => e.seq === last), 10_000, 'the newest on b');
    expect(uplink.currentUrl()).toBe(b.url());
    expect(seenA.on('events').some((e) => e.seq === last)).toBe(false);
  });
});
