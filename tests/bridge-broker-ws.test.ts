// The WebSocket listener checks who asks (issue 12, defect 8): the `mqtt` subprotocol, and for a
// browser an allowed Origin, so a page from another site cannot use the office's broker.
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { EmbeddedBroker } from '../bridge/broker/broker.ts';
import { GuardedConnection } from '../bridge/broker/connection-guard.ts';
import { readUpgradeRequest, type UpgradeRequest } from '../bridge/broker/upgrade-request.ts';
import { originAllowed } from '../bridge/broker/websocket-policy.ts';
import { connectPacket, type LogCapture, mqttConnect, startTestBroker, until } from './bridge-broker-raw.ts';

let broker: EmbeddedBroker;
let log: LogCapture;
let wsUrl: string;
beforeAll(async () => {
  const b = await startTestBroker({ wsOrigins: ['http://127.0.0.1:*', 'https://board.office.example'] });
  ({ broker, log } = b);
  wsUrl = `ws://127.0.0.1:${broker.ports.ws}`;
});
afterAll(async () => {
  await broker?.close();
});

/** Opens a WebSocket; resolves with the HTTP status of a refusal, or with the open socket. */
function open(protocols: string[], origin?: string): Promise<{ status: number; ws?: WebSocket }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, protocols, origin ? { origin } : {});
    ws.once('open', () => resolve({ status: 101, ws }));
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      res.resume();
      ws.terminate();
    });
    ws.once('error', (err) => reject(err));
  });
}

/** Logs in over an open WebSocket with a raw CONNECT: the CONNACK code. */
function login(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => {
    let got = Buffer.alloc(0);
    // aedes writes a CONNACK in pieces, each its own frame
    ws.on('message', (data: Buffer) => {
      got = Buffer.concat([got, data]);
      if (got.length >= 4) resolve(got[3]!);
    });
    ws.send(connectPacket({ clientId: 'central-ws', username: 'central', password: 'central' }));
  });
}

describe('the WebSocket listener', () => {
  it('refuses an upgrade without the mqtt subprotocol (400)', async () => {
    expect((await open([])).status).toBe(400);
    expect((await open(['mqttv3.1x'])).status).toBe(400);
    expect(log.withCode('mqtt-ws-subprotocol-missing').length).toBeGreaterThan(0);
  });

  it('refuses a page of another origin (403), a rebound name and an opaque origin too', async () => {
    expect((await open(['mqtt'], 'https://evil.example')).status).toBe(403);
    expect((await open(['mqtt'], `http://evil.example:${broker.ports.ws}`)).status).toBe(403);
    expect((await open(['mqtt'], 'null')).status).toBe(403);
    expect((await open(['mqtt'], 'https://127.0.0.1:8080')).status).toBe(403); // scheme differs
    expect(log.withCode('mqtt-ws-origin-refused').length).toBeGreaterThan(0);
  });

  it('lets in an allowed page and a client without Origin, which then log in', async () => {
    for (const origin of ['http://127.0.0.1:8080', 'https://board.office.example', undefined]) {
      const { status, ws } = await open(['mqtt'], origin);
      expect(status).toBe(101);
      expect(ws!.protocol).toBe('mqtt');
      expect(await login(ws!)).toBe(0);
      ws!.close();
    }
    // mqtt.js in Node sends the subprotocol and no Origin.
    const c = await mqttConnect(wsUrl, { username: 'central', password: 'central' });
    await c.endAsync();
  });
});

describe('origin rules', () => {
  it('matches exact origins and `scheme://host:*`', () => {
    const allowed = ['http://127.0.0.1:*', 'http://[::1]:*', 'https://board.office.example:8443'];
    expect(originAllowed('http://127.0.0.1:8080', allowed)).toBe(true);
    expect(originAllowed('http://127.0.0.1', allowed)).toBe(true);
    expect(originAllowed('http://[::1]:9', allowed)).toBe(true);
    expect(originAllowed('https://board.office.example:8443', allowed)).toBe(true);
    expect(originAllowed('https://board.office.example', allowed)).toBe(false);
    expect(originAllowed('http://127.0.0.1.evil.example:8080', allowed)).toBe(false);
    expect(originAllowed('null', allowed)).toBe(false);
  });
});

describe('frames no MQTT client sends', () => {
  const closed = (ws: WebSocket) => new Promise<void>((resolve) => ws.once('close', () => resolve()));

  it('closes a client sending an empty message, before or after its login (it cost no read)', async () => {
    const before = (await open(['mqtt'])).ws!;
    const gone = closed(before);
    before.send(Buffer.alloc(0));
    await gone;
    const after = (await open(['mqtt'])).ws!;
    expect(await login(after)).toBe(0);
    const goneAfter = closed(after);
    after.send(Buffer.alloc(0));
    await goneAfter;
    expect(log.withCode('mqtt-ws-frame-refused').length).toBeGreaterThan(0);
  });

  it('counts each message before the login as 1 KiB at least: a stranger gets ~64, not 65,000', async () => {
    const ws = (await open(['mqtt'])).ws!;
    const gone = closed(ws);
    let sent = 0;
    // a CONNECT's first byte and then more one-byte messages, never a whole packet
    for (; sent < 200 && ws.readyState === WebSocket.OPEN; sent++) ws.send(Buffer.from([sent === 0 ? 0x10 : 0x7f]));
    await gone;
    expect(log.withCode('mqtt-too-much-before-login').length).toBeGreaterThan(0);
  });

  it('closes a client sending pongs nobody asked for, past a few', async () => {
    const ws = (await open(['mqtt'])).ws!;
    expect(await login(ws)).toBe(0);
    const gone = closed(ws);
    for (let i = 0; i < 16; i++) ws.pong();
    await new Promise((r) => setTimeout(r, 100));
    expect(ws.readyState).toBe(WebSocket.OPEN);
    for (let i = 0; i < 10; i++) ws.pong();
    await gone;
  });

  it('answers a plain HTTP request once and closes; pipelined requests, a big head: one answer and closed', async () => {
    const { connect: tcp } = await import('node:net');
    const exchange = (bytes: string): Promise<string> => {
      const s = tcp({ port: broker.ports.ws!, host: '127.0.0.1' });
      let got = '';
      s.on('data', (d) => (got += d.toString('latin1')));
      s.on('error', () => undefined);
      s.write(bytes);
      return new Promise((resolve) => s.once('close', () => resolve(got)));
    };
    const statuses = (text: string) => text.match(/^HTTP\/1\.1 \d+/gm) ?? [];
    expect(statuses(await exchange('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))).toEqual(['HTTP/1.1 426']);
    expect(statuses(await exchange('GET / HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(50)))).toEqual(['HTTP/1.1 400']);
    expect(statuses(await exchange(`GET / HTTP/1.1\r\nX: ${'a'.repeat(9000)}`))).toEqual(['HTTP/1.1 431']);
    expect(statuses(await exchange('BREW /pot HTCPCP/1.0\r\n\r\n'))).toEqual(['HTTP/1.1 400']);
    expect(log.withCode('mqtt-ws-bad-request').length).toBeGreaterThan(0);
  });
});

describe('WebSocket pings', () => {
  it('cost a message of the budget before the login: a stranger pinging away is closed', async () => {
    const ws = (await open(['mqtt'])).ws!;
    let closed = false;
    ws.once('close', () => (closed = true));
    let pongs = 0;
    ws.on('pong', () => pongs++);
    // in rounds of 16, each answered before the next (ws drops a client owed over 60 pongs)
    let sent = 0;
    while (!closed && sent < 1000) {
      for (let i = 0; i < 16; i++) ws.ping();
      sent += 16;
      await until(() => closed || pongs >= sent, `pong ${sent}`);
    }
    expect(closed).toBe(true);
    expect(sent).toBeLessThan(100); // ~64 of them, the budget being one packet's worth
    expect(log.withCode('mqtt-too-much-before-login').at(-1)).toMatchObject({ listener: 'ws' });
  });

  it('count as packets after the login: past the allowance the WebSocket is not read until it is back', () => {
    const inner = new PassThrough();
    const holds: boolean[] = [];
    const timers: Array<() => void> = [];
    const guard = new GuardedConnection(inner, {
      maxPacketBytes: 65_536,
      clientBufferBytes: 1 << 20,
      packetsPerSecond: 10,
      remoteAddress: '192.0.2.9',
      onLoggedIn: () => undefined,
      onRefused: () => undefined,
      now: () => 0,
      setTimer: (fn) => {
        timers.push(fn);
        return () => undefined;
      },
      holdSource: (hold) => holds.push(hold),
    });
    guard.resume();
    inner.write(connectPacket({ clientId: 'x', username: 'u', password: 'p' }));
    guard.loggedIn();
    for (let i = 0; i < 10; i++) guard.webSocketPing();
    expect(holds).toEqual([]);
    guard.webSocketPing();
    // the pings reach no read of the stream: the socket below it is what stops being read
    expect(holds).toEqual([true]);
    expect(inner.isPaused()).toBe(true);
    timers[0]!();
    expect(holds).toEqual([true, false]);
    expect(inner.isPaused()).toBe(false);
    guard.destroy();
  });
});

describe('what ws refuses itself', () => {
  const head = (method: string, key: string, version: string) =>
    `${method} / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Protocol: mqtt\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: ${version}\r\n\r\n`;
  const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

  /** Sends `request`, then `frame` once the 101 came: what came back before the broker closed. */
  async function exchange(port: number, request: string, frame?: Buffer): Promise<string> {
    const { connect: tcp } = await import('node:net');
    const s = tcp({ port, host: '127.0.0.1' });
    let got = '';
    s.on('data', (d) => {
      if (got === '' && frame) s.write(frame);
      got += d.toString('latin1');
    });
    s.on('error', () => undefined);
    s.write(request);
    await new Promise((resolve) => s.once('close', resolve));
    return got;
  }

  it('is answered once and logged: a bad key or version, not a GET; a frame over the cap, unmasked', async () => {
    const b = await startTestBroker({ limits: { connectTimeoutMs: 60_000 } });
    try {
      const port = b.broker.ports.ws!;
      expect(await exchange(port, head('GET', 'short', '13'))).toMatch(/^HTTP\/1\.1 400 /);
      expect(await exchange(port, head('GET', KEY, '7'))).toMatch(/^HTTP\/1\.1 400 /);
      expect(await exchange(port, head('POST', KEY, '13'))).toMatch(/^HTTP\/1\.1 405 /);
      expect(b.log.withCode('mqtt-ws-bad-request')[0]).toMatchObject({ listener: 'ws', status: 400 });
      // a binary frame announcing 2^40 bytes, then one sent without a mask: each closes the socket
      const huge = Buffer.from([0x82, 0xff, 0, 0, 1, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
      expect(await exchange(port, head('GET', KEY, '13'), huge)).toMatch(/^HTTP\/1\.1 101 /);
      expect(await exchange(port, head('GET', KEY, '13'), Buffer.from([0x82, 0x02, 0x10, 0x00]))).toMatch(
        /^HTTP\/1\.1 101 /,
      );
      expect(b.log.withCode('mqtt-ws-frame-refused')[0]).toMatchObject({
        listener: 'ws',
        frame: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH',
      });
      await b.broker.close();
      // once per code and window, summed up at the end: the second of each is counted
      expect(b.log.withCode('mqtt-ws-bad-request').at(-1)).toMatchObject({ suppressed: 2 });
      expect(b.log.withCode('mqtt-ws-frame-refused').at(-1)).toMatchObject({ suppressed: 1 });
    } finally {
      await b.broker.close();
    }
  });
});

describe('the upgrade request reader', () => {
  const head =
    'GET /mqtt HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n__proto__: p\r\nSec-WebSocket-Protocol: mqtt\r\nSec-WebSocket-Protocol: mqttv3.1\r\n\r\n';

  function read(parts: string[]): { req: UpgradeRequest | null; problems: number[] } {
    const socket = new PassThrough();
    const out = { req: null as UpgradeRequest | null, problems: [] as number[] };
    readUpgradeRequest(
      socket,
      (req) => {
        out.req = req;
      },
      (p) => out.problems.push(p.status),
    );
    for (const part of parts) socket.write(part);
    socket.destroy();
    return out;
  }

  it('reads a head that comes a byte at a time, its end split across reads', () => {
    const { req, problems } = read([...head]);
    expect(problems).toEqual([]);
    expect(req).toMatchObject({ method: 'GET', url: '/mqtt' });
    expect(req!.headers['sec-websocket-protocol']).toBe('mqtt, mqttv3.1');
    // any header name is only a header
    expect(Object.getOwnPropertyDescriptor(req!.headers, '__proto__')?.value).toBe('p');
    expect(Object.getPrototypeOf(req!.headers)).toBeNull();
  });

  it('refuses what follows the head before the upgrade, and a head over 8 KiB, however it is cut', () => {
    expect(read([head.slice(0, -3), `${head.slice(-3)}x`]).problems).toEqual([400]);
    expect(read(Array.from({ length: 9 }, () => `X-Pad: ${'a'.repeat(1000)}\r\n`)).problems).toEqual([431]);
  });
});
