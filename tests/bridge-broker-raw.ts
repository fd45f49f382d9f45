// Raw MQTT 3.1.1 over node:net for the embedded broker's hostile-client tests: packets a client
// library refuses to send (a 200 MiB CONNECT, a 65,535-byte client id, an empty persistent id),
// and a socket that stops reading. Also a broker started alone, with its log lines captured.
import { connect as netConnect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import type { MqttClient } from 'mqtt';
import pino, { type Logger } from 'pino';
import { afterEach } from 'vitest';
import { type CommandGate, startBroker, type EmbeddedBroker } from '../bridge/broker/broker.ts';
import { brokerSchema } from '../device/config/mqtt-schema.ts';

export function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

function str(s: string | Buffer): Buffer {
  const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}

function packet(first: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([first]), varint(body.length), body]);
}

export function connectPacket(o: { clientId: string; username?: string; password?: string; clean?: boolean }): Buffer {
  const flags =
    (o.username !== undefined ? 0x80 : 0) | (o.password !== undefined ? 0x40 : 0) | (o.clean === false ? 0 : 0x02);
  const parts = [str('MQTT'), Buffer.from([4, flags, 0, 60]), str(o.clientId)];
  if (o.username !== undefined) parts.push(str(o.username));
  if (o.password !== undefined) parts.push(str(o.password));
  return packet(0x10, Buffer.concat(parts));
}

export function publishPacket(o: { topic: string; payload: string | Buffer; qos?: 0 | 1; retain?: boolean }): Buffer {
  const qos = o.qos ?? 0;
  const head = [str(o.topic)];
  if (qos > 0) head.push(Buffer.from([0, 1]));
  const payload = typeof o.payload === 'string' ? Buffer.from(o.payload) : o.payload;
  return packet(0x30 | (qos << 1) | (o.retain ? 1 : 0), Buffer.concat([...head, payload]));
}

export function subscribePacket(filter: string, id = 1): Buffer {
  return packet(0x82, Buffer.concat([Buffer.from([id >> 8, id & 0xff]), str(filter), Buffer.from([0])]));
}

/** A raw client socket: what it received, and whether the broker closed it. */
export class RawClient {
  readonly socket: Socket;
  private chunks: Buffer[] = [];
  receivedBytes = 0;
  readonly opened: Promise<void>;
  readonly closed: Promise<void>;
  isClosed = false;

  constructor(port: number, opts: { localAddress?: string } = {}) {
    this.socket = netConnect({
      port,
      host: '127.0.0.1',
      ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
    });
    this.socket.on('error', () => {});
    this.opened = new Promise((resolve) => this.socket.once('connect', () => resolve()));
    this.closed = new Promise((resolve) =>
      this.socket.once('close', () => {
        this.isClosed = true;
        resolve();
      }),
    );
    this.socket.on('data', this.collect);
  }

  private readonly collect = (d: Buffer): void => {
    this.chunks.push(d);
    this.receivedBytes += d.length;
  };

  /** Stop reading, as a display whose program hung: the broker's sends pile up (and the socket
   * will not see its own close until it reads again). */
  freeze(): void {
    this.socket.off('data', this.collect);
    this.socket.pause();
  }

  /** Everything received so far. */
  get received(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  /** Read again (what was received while frozen is not counted). */
  thaw(): void {
    this.socket.on('data', this.collect);
    this.socket.resume();
  }

  /** Resolves once `n` bytes arrived in all. */
  async receivedAtLeast(n: number): Promise<void> {
    await until(() => this.receivedBytes >= n || this.isClosed, `${n} bytes`);
  }

  write(b: Buffer): void {
    this.socket.write(b);
  }

  /** The CONNACK return code, once it arrived (null: closed without one). */
  async connack(): Promise<number | null> {
    const got = new Promise<number>((resolve) => {
      const check = (): void => {
        if (this.received.length >= 4 && this.received[0] === 0x20) resolve(this.received[3]!);
      };
      this.socket.on('data', check);
      check();
    });
    return Promise.race([got, this.closed.then(() => (this.received[0] === 0x20 ? this.received[3]! : null))]);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Log lines of a broker under test, parsed. */
export class LogCapture {
  readonly lines: Array<Record<string, unknown>> = [];
  bytes = 0;
  readonly logger: Logger = pino(
    { level: 'debug' },
    new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        this.bytes += chunk.length;
        for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) this.lines.push(JSON.parse(line));
        cb();
      },
    }),
  );

  withCode(code: string): Array<Record<string, unknown>> {
    return this.lines.filter((l) => l.code === code);
  }
}

/** What a test of the file opens (a broker, mqtt.js clients, raw sockets), closed after each test. */
export function brokerTestScope(): { broker: EmbeddedBroker | null; clients: MqttClient[]; raws: RawClient[] } {
  const scope = { broker: null as EmbeddedBroker | null, clients: [] as MqttClient[], raws: [] as RawClient[] };
  afterEach(async () => {
    for (const c of scope.clients.splice(0)) c.end(true);
    for (const r of scope.raws.splice(0)) r.destroy();
    await scope.broker?.close();
    scope.broker = null;
  });
  return scope;
}

export async function startTestBroker(
  overrides: Record<string, unknown> = {},
  opts: { commands?: CommandGate } = {},
): Promise<{ broker: EmbeddedBroker; log: LogCapture; port: number }> {
  const log = new LogCapture();
  const broker = await startBroker(
    brokerSchema.parse({ port: 0, wsPort: 0, demo: true, ...overrides }),
    log.logger,
    opts,
  );
  return { broker, log, port: broker.ports.tcp! };
}

export async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

// An mqtt.js client once connected: the helper of bench/lib/mqtt-client.ts, by the name these tests use.
export { connect as mqttConnect } from '../bench/lib/mqtt-client.ts';
