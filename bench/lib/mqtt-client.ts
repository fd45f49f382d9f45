// MQTT client helpers for the benchmarks and the bridge tests (which import them from here, so
// bench/ never imports tests/): connect, collect messages, wait for a condition, a free port.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

export { freePort } from './free-port.ts';

export function tempDir(prefix = 'beonho-bridge-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Connect; `early` sees the client before CONNACK (to catch messages queued for a session). A
 * refusal or a close before the CONNACK rejects, and ends the client (no reconnect behind it). */
export function connect(url: string, opts: IClientOptions = {}, early?: (c: MqttClient) => void): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
    early?.(c);
    const fail = (err: Error) => {
      c.end(true);
      reject(err);
    };
    const onError = (err: Error) => fail(err);
    const onClose = () => fail(new Error('closed before CONNACK'));
    c.once('error', onError);
    c.once('close', onClose);
    c.once('connect', () => {
      // later errors belong to the caller (a reconnecting client sees ECONNREFUSED while the broker is down)
      c.off('error', onError);
      c.off('close', onClose);
      c.on('error', () => {});
      resolve(c);
    });
  });
}

/** Connect with an Inbox listening from the first byte. */
export async function connectInbox(
  url: string,
  opts: IClientOptions = {},
): Promise<{ client: MqttClient; inbox: Inbox }> {
  let inbox: Inbox | undefined;
  const client = await connect(url, opts, (c) => {
    inbox = new Inbox(c);
  });
  return { client, inbox: inbox! };
}

/** Collects messages of one client; `until` waits for a condition over them. */
export class Inbox {
  readonly messages: Array<{ topic: string; text: string; json: unknown; retain: boolean }> = [];
  constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      const text = payload.toString('utf8');
      let json: unknown = null;
      try {
        json = JSON.parse(text);
      } catch {}
      this.messages.push({ topic, text, json, retain: packet.retain });
    });
  }
  on(topicSuffix: string): Array<Record<string, unknown>> {
    return this.messages.filter((m) => m.topic.endsWith(topicSuffix)).map((m) => m.json as Record<string, unknown>);
  }
  async until(cond: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; got ${this.messages.length} messages`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

export async function waitFor(cond: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
