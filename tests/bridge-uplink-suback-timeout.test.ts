// A central broker that takes the connection and never answers the cmd subscription (a cluster node
// that lost its peers, a broker's bug) while it answers pings: the link counts as up only once the
// SUBACK comes, so events, state and status waited for as long as that connection lived. Now it is
// dropped after a while and made again, to the next node when there are several.
import type { Packet } from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { officeTopics } from '../bridge/contract/topics.ts';
import type { Uplink } from '../bridge/uplink/uplink.ts';
import { LogCapture } from './bridge-broker-raw.ts';
import { waitFor } from './bridge-helpers.ts';
import { rawMqttServer } from './helpers/raw-mqtt-server.ts';
import { testUplink } from './helpers/uplink.ts';

/** A broker that answers every SUBSCRIBE from its connection number `answerFrom` on (1-based). */
async function broker(version: 4 | 5, answerFrom: number) {
  const published: string[] = [];
  let subscribes = 0;
  const server = await rawMqttServer(version, (p, send) => {
    if (p.cmd === 'connect') send({ cmd: 'connack', returnCode: 0, reasonCode: 0, sessionPresent: false } as Packet);
    else if (p.cmd === 'subscribe') {
      subscribes++;
      if (server.connections() >= answerFrom) send({ cmd: 'suback', messageId: p.messageId!, granted: [1] });
    } else if (p.cmd === 'publish') {
      published.push(p.topic);
      if (p.qos === 1) send({ cmd: 'puback', messageId: p.messageId!, reasonCode: 0 } as Packet);
    } else if (p.cmd === 'pingreq') send({ cmd: 'pingresp' });
  });
  return { ...server, published, subscribes: () => subscribes };
}

const opened: Array<{ close: () => Promise<void> }> = [];
const uplinks: Uplink[] = [];
afterEach(async () => {
  for (const u of uplinks.splice(0)) await u.stop();
  for (const o of opened.splice(0)) await o.close();
});

describe.each([4, 5] as const)('central never answering the cmd subscription (MQTT %s)', (version) => {
  it('drops the connection after the wait and makes it again, then the link comes up', async () => {
    const central = await broker(version, 2);
    opened.push(central);
    const log = new LogCapture();
    const uplink = testUplink(central.url, { logger: log.logger, protocolVersion: version, subackTimeoutMs: 150 });
    uplinks.push(uplink);
    uplink.start();
    await waitFor(() => uplink.connected(), 5000, 'the link up on the second connection');
    expect(central.connections()).toBe(2);
    expect(log.withCode('uplink-subscribe-timeout')).toHaveLength(1);
    await uplink.publish(officeTopics('singok2').events, { seq: 1 } as never, { qos: 1, retain: false });
    expect(central.published).toContain('beonho/v1/singok2/events');
  });

  it('goes to the next node of a cluster, and stays there', async () => {
    const mute = await broker(version, Number.POSITIVE_INFINITY);
    const healthy = await broker(version, 1);
    opened.push(mute, healthy);
    const log = new LogCapture();
    const uplink = testUplink([mute.url, healthy.url], {
      logger: log.logger,
      protocolVersion: version,
      subackTimeoutMs: 150,
    });
    uplinks.push(uplink);
    uplink.start();
    await waitFor(() => uplink.connected(), 5000, 'the link up on the healthy node');
    expect(mute.subscribes()).toBe(1);
    expect(healthy.connections()).toBe(1);
    // up: no timeout fires on the node that answered
    await new Promise((r) => setTimeout(r, 300));
    expect(uplink.connected()).toBe(true);
    expect(healthy.connections()).toBe(1);
    expect(log.withCode('uplink-subscribe-timeout')).toHaveLength(1);
  });

  it("waits for a persistent session's queued commands: mqtt.js reads the SUBACK only once they are carried out", async () => {
    // central queued commands while the office was away: they come right after the CONNACK, before
    // the SUBACK, and each is carried out (made durable) before the next packet is read
    const queue = new Map<number, string>([1, 2, 3, 4].map((i) => [i, `c${i}`]));
    const server = await rawMqttServer(version, (p, send) => {
      if (p.cmd === 'connect') {
        send({ cmd: 'connack', returnCode: 0, reasonCode: 0, sessionPresent: true } as Packet);
        for (const [messageId, id] of queue) {
          const payload = Buffer.from(JSON.stringify({ v: 1, id, type: 'state.publish' }));
          send({
            cmd: 'publish',
            topic: 'beonho/v1/singok2/cmd',
            payload,
            qos: 1,
            messageId,
            retain: false,
            dup: false,
          });
        }
      } else if (p.cmd === 'subscribe') send({ cmd: 'suback', messageId: p.messageId!, granted: [1] });
      else if (p.cmd === 'puback') queue.delete(p.messageId!);
      else if (p.cmd === 'pingreq') send({ cmd: 'pingresp' });
    });
    opened.push(server);
    const log = new LogCapture();
    const carriedOut: string[] = [];
    const uplink = testUplink(server.url, {
      logger: log.logger,
      protocolVersion: version,
      subackTimeoutMs: 400,
      // four of them take longer than the wait, each well within it
      onCommand: async (_topic, payload) => {
        await new Promise((r) => setTimeout(r, 150));
        carriedOut.push((JSON.parse(payload.toString()) as { id: string }).id);
      },
    });
    uplinks.push(uplink);
    uplink.start();
    await waitFor(() => uplink.connected(), 5000, 'the link up');
    expect(carriedOut).toEqual(['c1', 'c2', 'c3', 'c4']);
    expect(server.connections()).toBe(1);
    expect(log.withCode('uplink-subscribe-timeout')).toEqual([]);
  });
});
