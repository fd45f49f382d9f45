// The embedded broker against clients that never log in: a packet-size cap on every listener (TCP,
// TLS, WebSocket) read from the fixed header, a deadline for the login, and a bound on how many
// sockets may wait for it (issue 12, defect 1).
import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { MqttClient } from 'mqtt';
import WebSocket from 'ws';
import type { EmbeddedBroker } from '../bridge/broker/broker.ts';
import { GuardedConnection } from '../bridge/broker/connection-guard.ts';
import {
  connectPacket,
  mqttConnect as connect,
  publishPacket,
  RawClient,
  startTestBroker,
  subscribePacket,
  until,
  varint,
} from './bridge-broker-raw.ts';

const cert = fileURLToPath(new URL('./fixtures/bridge-tls/server.crt', import.meta.url));
const key = fileURLToPath(new URL('./fixtures/bridge-tls/server.key', import.meta.url));

/** A TLS client of the test broker's TLS port, trusting its certificate; errors are the test's to
 * read from 'close'. */
function tlsClient(port: number, extra: { maxVersion?: 'TLSv1.2' } = {}): TLSSocket {
  const s = tlsConnect({ host: '127.0.0.1', port, ca: readFileSync(cert), servername: 'localhost', ...extra });
  s.on('error', () => {});
  return s;
}
const HUGE = 200 * 1024 * 1024;
/** A CONNECT's fixed header announcing 200 MiB, and the first bytes of its body. */
const hugeConnect = Buffer.concat([Buffer.from([0x10]), varint(HUGE), Buffer.alloc(1024, 0x61)]);
// A deadline far away: a close within the test proves the cap, not the login deadline.
const patient = { connectTimeoutMs: 60_000 };

let broker: EmbeddedBroker | null = null;
const raws: RawClient[] = [];
afterEach(async () => {
  for (const r of raws.splice(0)) r.destroy();
  await broker?.close();
  broker = null;
});

function raw(port: number, localAddress?: string): RawClient {
  const r = new RawClient(port, localAddress ? { localAddress } : {});
  raws.push(r);
  return r;
}

describe('packet size before login', () => {
  it('closes a TCP socket whose CONNECT announces 200 MiB as soon as the header is read', async () => {
    const b = await startTestBroker({ limits: patient });
    broker = b.broker;
    const r = raw(b.port);
    await r.opened;
    r.write(hugeConnect);
    await r.closed;
    expect(r.received.length).toBe(0); // no CONNACK: the body was never read
    expect(b.log.withCode('mqtt-packet-too-large')[0]).toMatchObject({ announced: HUGE, max: 65_536 });
  });

  it('does the same on the TLS listener', async () => {
    const b = await startTestBroker({ wsPort: null, tls: { port: 0, cert, key }, limits: patient });
    broker = b.broker;
    const s = tlsClient(b.broker.ports.tls!);
    const closed = new Promise<void>((resolve) => s.once('close', () => resolve()));
    await new Promise<void>((resolve) => s.once('secureConnect', () => resolve()));
    s.write(hugeConnect);
    await closed;
    expect(b.log.withCode('mqtt-packet-too-large')).toHaveLength(1);
  });

  it('does the same on the WebSocket listener, where the CONNECT may span many frames', async () => {
    const b = await startTestBroker({ limits: patient });
    broker = b.broker;
    const ws = new WebSocket(`ws://127.0.0.1:${b.broker.ports.ws}`, 'mqtt');
    ws.on('error', () => {});
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    await new Promise<void>((resolve) => ws.once('open', () => resolve()));
    ws.send(hugeConnect.subarray(0, 4));
    ws.send(hugeConnect.subarray(4));
    await closed;
    expect(b.log.withCode('mqtt-packet-too-large')).toHaveLength(1);
  });

  it('after login, drops a client sending a packet over the cap and keeps one under it', async () => {
    const b = await startTestBroker({ limits: { ...patient, maxPacketBytes: 8192 } });
    broker = b.broker;
    const got: number[] = [];
    await b.broker.onMessage('beonho/v1/singok2/cmd', (p) => got.push(p.length));
    const c = await connect(`mqtt://127.0.0.1:${b.port}`, { username: 'central', password: 'central' });
    await c.publishAsync('beonho/v1/singok2/cmd', Buffer.alloc(6000, 0x61), { qos: 1 });
    const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
    c.publish('beonho/v1/singok2/cmd', Buffer.alloc(9000, 0x61), { qos: 1 });
    await closed;
    c.end(true);
    expect(got).toEqual([6000]);
  });
});

describe('a TLS listener', () => {
  it('logs a handshake that fails (plain MQTT or HTTP on the TLS port), once a window', async () => {
    const b = await startTestBroker({ wsPort: null, tls: { port: 0, wsPort: 0, cert, key }, limits: patient });
    broker = b.broker;
    const mqtt = raw(b.broker.ports.tls!);
    mqtt.write(connectPacket({ clientId: 'sat', username: 'central', password: 'central' }));
    await mqtt.closed;
    expect(mqtt.received.length).toBe(0);
    expect(b.log.withCode('mqtt-tls-handshake-failed')).toEqual([
      expect.objectContaining({ listener: 'tls', source: '127.0.0.1', reason: 'ERR_SSL_WRONG_VERSION_NUMBER' }),
    ]);
    const http = raw(b.broker.ports.wss!);
    http.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await http.closed;
    // a reset before any handshake is the network's: not counted
    const reset = raw(b.broker.ports.tls!);
    await reset.opened;
    reset.socket.resetAndDestroy();
    await reset.closed;
    await b.broker.close();
    broker = null;
    expect(b.log.withCode('mqtt-tls-handshake-failed').at(-1)).toMatchObject({ suppressed: 1 });
  });

  it('refuses a TLS 1.2 renegotiation (a full handshake on the event loop, asked again and again)', async () => {
    const b = await startTestBroker({ wsPort: null, tls: { port: 0, cert, key }, limits: patient });
    broker = b.broker;
    const s = tlsClient(b.broker.ports.tls!, { maxVersion: 'TLSv1.2' });
    const closed = new Promise<void>((resolve) => s.once('close', () => resolve()));
    await new Promise<void>((resolve) => s.once('secureConnect', () => resolve()));
    // asked, then a login: refused, the client's next write fails and the connection ends (a
    // renegotiation done would have called back with no error first)
    let renegotiated: Error | null | undefined;
    s.renegotiate({ rejectUnauthorized: true }, (err) => {
      renegotiated = err ?? null;
    });
    const failed = new Promise<NodeJS.ErrnoException>((resolve) => s.once('error', resolve));
    s.write(connectPacket({ clientId: 'reneg', username: 'central', password: 'central' }));
    expect((await failed).message).toMatch(/no renegotiation/);
    await closed;
    expect(renegotiated).not.toBe(null);
  });
});

describe('a connection that goes silent', () => {
  it('is probed by TCP keepalive, whatever MQTT keepalive the client asked for (0: none)', async () => {
    const { Socket } = await import('node:net');
    const { TCP_KEEPALIVE_MS } = await import('../bridge/broker/listeners.ts');
    const spy = vi.spyOn(Socket.prototype, 'setKeepAlive');
    try {
      const b = await startTestBroker({});
      broker = b.broker;
      const c = await connect(`mqtt://127.0.0.1:${b.port}`, { username: 'central', password: 'central', keepalive: 0 });
      expect(spy).toHaveBeenCalledWith(true, TCP_KEEPALIVE_MS);
      c.end(true);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('the login deadline and pending sockets', () => {
  it('closes a socket that sends nothing, or half a CONNECT, when the deadline passes', async () => {
    const b = await startTestBroker({ limits: { connectTimeoutMs: 300 } });
    broker = b.broker;
    const silent = raw(b.port);
    const slow = raw(b.port);
    await slow.opened;
    slow.write(connectPacket({ clientId: 'slow', username: 'central', password: 'central' }).subarray(0, 12));
    await Promise.all([silent.closed, slow.closed]);
    expect(slow.received.length).toBe(0);
    expect(b.log.withCode('mqtt-connect-timeout').length).toBeGreaterThan(0);
  });

  it('lets no one source lock others out: a newcomer takes the oldest slot of the source holding the most', async () => {
    // One stranger fills the listener (re-opening at each deadline would keep it full for good).
    const b = await startTestBroker({ limits: { ...patient, pendingConnections: 4, pendingPerSource: 8 } });
    broker = b.broker;
    const stranger = [1, 2, 3, 4].map(() => raw(b.port, '127.0.0.2'));
    await Promise.all(stranger.map((w) => w.opened));
    // Another address still logs in: the stranger's oldest socket makes room for it.
    const other = raw(b.port, '127.0.0.3');
    await other.opened;
    other.write(connectPacket({ clientId: 'central-other', username: 'central', password: 'central' }));
    expect(await other.connack()).toBe(0);
    await stranger[0]!.closed;
    expect(stranger.slice(1).some((w) => w.isClosed)).toBe(false);
    expect(b.log.withCode('mqtt-pending-evicted')).toHaveLength(1);
    // Re-opening gets the stranger back the slot the login freed, and no more: a full listener
    // does not evict a source's socket for the same source.
    const back = raw(b.port, '127.0.0.2');
    await back.opened;
    const more = raw(b.port, '127.0.0.2');
    await more.closed;
    expect(back.isClosed).toBe(false);
    expect(b.log.withCode('mqtt-too-many-pending')).toHaveLength(1);
  });

  it('holds at most pendingPerSource waiting sockets of one source, whatever room is left', async () => {
    const b = await startTestBroker({ limits: { ...patient, pendingConnections: 32, pendingPerSource: 2 } });
    broker = b.broker;
    const two = [raw(b.port, '127.0.0.2'), raw(b.port, '127.0.0.2')];
    await Promise.all(two.map((w) => w.opened));
    const third = raw(b.port, '127.0.0.2');
    await third.closed;
    expect(two.some((w) => w.isClosed)).toBe(false);
    const elsewhere = raw(b.port, '127.0.0.3');
    await elsewhere.opened;
    elsewhere.write(connectPacket({ clientId: 'central-x', username: 'central', password: 'central' }));
    expect(await elsewhere.connack()).toBe(0);
  });

  it('closes at once the sockets over the per-listener bound, and frees a slot at login or close', async () => {
    const b = await startTestBroker({ limits: { ...patient, pendingConnections: 3 } });
    broker = b.broker;
    const waiting = [raw(b.port), raw(b.port), raw(b.port)];
    await Promise.all(waiting.map((w) => w.opened));
    const extra = raw(b.port);
    await extra.closed;
    expect(waiting.some((w) => w.isClosed)).toBe(false);
    expect(b.log.withCode('mqtt-too-many-pending').length).toBeGreaterThan(0);
    // One waiting socket goes away: its slot takes a real login, which then frees it again.
    waiting[0]!.destroy();
    let c: MqttClient | null = null;
    for (let i = 0; i < 200 && !c; i++) {
      c = await connect(`mqtt://127.0.0.1:${b.port}`, { username: 'central', password: 'central' }).catch(() => null);
      if (!c) await new Promise((r) => setTimeout(r, 20));
    }
    expect(c).not.toBeNull();
    const another = raw(b.port);
    await another.opened;
    another.write(connectPacket({ clientId: 'central-raw', username: 'central', password: 'central' }));
    expect(await another.connack()).toBe(0);
    c!.end(true);
  });

  it('accepts a whole CONNECT and later packets under the cap (a PUBLISH right behind the CONNECT)', async () => {
    const b = await startTestBroker({ limits: patient });
    broker = b.broker;
    const got: string[] = [];
    await b.broker.onMessage('beonho/v1/singok2/cmd', (p) => got.push(p.toString()));
    const r = raw(b.port);
    await r.opened;
    r.write(
      Buffer.concat([
        connectPacket({ clientId: 'central-pipelined', username: 'central', password: 'central' }),
        publishPacket({ topic: 'beonho/v1/singok2/cmd', payload: 'x'.repeat(30_000), qos: 1 }),
      ]),
    );
    expect(await r.connack()).toBe(0);
    await until(() => got.length === 1, 'the pipelined publish');
  });
});

describe('packets behind the CONNECT', () => {
  // aedes handled a packet that came in a read of its own right behind the CONNECT before it had
  // started the password check: a PUBLISH or SUBSCRIBE from a client with no id and no account,
  // whose refusal threw in its log line. One socket with no password ended the daemon.
  const handledBeforeLogin = (log: { withCode(code: string): unknown[] }) =>
    ['mqtt-publish-denied', 'mqtt-subscribe-denied'].flatMap((code) => log.withCode(code));

  it('are not handled before the password is checked: a CONNECT filling a 64 KiB read, a PUBLISH behind it', async () => {
    const b = await startTestBroker({ limits: patient });
    broker = b.broker;
    // 65,536 bytes (a whole read of the socket) and 5 more: one packet's worth before login
    const withPassword = (n: number) => connectPacket({ clientId: 'x', username: 'central', password: 'p'.repeat(n) });
    const big = withPassword(65_000 + 65_536 - withPassword(65_000).length);
    expect(big.length).toBe(65_536);
    for (let i = 0; i < 3; i++) {
      const r = raw(b.port);
      await r.opened;
      r.write(Buffer.concat([big, publishPacket({ topic: 'a', payload: '' })]));
      expect(await r.connack()).toBe(4);
      await r.closed;
    }
    expect(handledBeforeLogin(b.log)).toEqual([]);
    expect(b.log.withCode('mqtt-auth-refused').length).toBeGreaterThan(0);
  });

  it('are not handled before the password is checked on TLS (each its own record), and after a login they are', async () => {
    const PUBACK_1 = Buffer.from([0x40, 0x02, 0x00, 0x01]);
    const SUBACK_1 = Buffer.from([0x90, 0x03, 0x00, 0x01, 0x00]); // granted QoS 0
    const ran: string[] = [];
    const b = await startTestBroker(
      { wsPort: null, tls: { port: 0, cert, key }, limits: patient },
      {
        commands: {
          topic: 'beonho/v1/singok2/cmd',
          run: async (p) => void ran.push(p.toString()),
          refuse: async () => {},
        },
      },
    );
    broker = b.broker;
    const session = async (password: string, n: number): Promise<number> => {
      const s = tlsClient(b.broker.ports.tls!);
      const chunks: Buffer[] = [];
      s.on('data', (d: Buffer) => chunks.push(d));
      await new Promise<void>((resolve) => s.once('secureConnect', () => resolve()));
      s.setNoDelay(true);
      s.write(connectPacket({ clientId: `central-tls-${n}`, username: 'central', password }));
      s.write(publishPacket({ topic: 'beonho/v1/singok2/cmd', payload: `cmd-${n}`, qos: 1 }));
      s.write(subscribePacket('beonho/v1/singok2/#'));
      await until(() => Buffer.concat(chunks).length >= 4, 'a CONNACK');
      const received = (): Buffer => Buffer.concat(chunks);
      if (received()[3] === 0)
        await until(() => received().includes(PUBACK_1) && received().includes(SUBACK_1), 'PUBACK and SUBACK');
      s.destroy();
      return received()[3]!;
    };
    for (let i = 0; i < 3; i++) expect(await session('wrong', i)).toBe(4);
    expect(handledBeforeLogin(b.log)).toEqual([]);
    expect(ran).toEqual([]);
    expect(await session('central', 9)).toBe(0);
    expect(ran).toEqual(['cmd-9']);
  });

  it('wait in the guard until CONNACK 0: aedes reads the CONNECT alone, however the bytes are cut', async () => {
    const connect = connectPacket({ clientId: 'c', username: 'central', password: 'central' });
    const behind = Buffer.concat([publishPacket({ topic: 'a', payload: 'x' }), Buffer.from([0xc0, 0x00])]);
    const all = Buffer.concat([connect, behind]);
    for (const cuts of [[], [3], [connect.length], [connect.length - 1, connect.length + 2], [1, 2, 20]]) {
      const inner = new PassThrough();
      const guard = new GuardedConnection(inner, {
        maxPacketBytes: 65_536,
        clientBufferBytes: 1 << 20,
        packetsPerSecond: 500,
        remoteAddress: '127.0.0.1',
        onLoggedIn: () => {},
        onRefused: () => {},
      });
      let at = 0;
      for (const cut of [...cuts, all.length]) {
        inner.write(all.subarray(at, cut));
        at = cut;
        await new Promise((resolve) => setImmediate(resolve));
      }
      const read = (): Buffer => {
        const parts: Buffer[] = [];
        for (let c = guard.read() as Buffer | null; c; c = guard.read() as Buffer | null) parts.push(c);
        return Buffer.concat(parts);
      };
      expect(read(), `cut at ${cuts.join(',')}`).toEqual(connect);
      guard.loggedIn();
      await new Promise((resolve) => setImmediate(resolve));
      expect(read()).toEqual(behind);
      guard.destroy();
    }
  });
});
