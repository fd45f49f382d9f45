// The embedded broker's network side: MQTT over TCP, over WebSocket (browser pages, allowed origins
// only: ./websocket-policy.ts), and over TLS and secure WebSocket when a certificate is configured. Every listener is a plain TCP server, so
// each socket is counted from its accept (./pending-connections.ts: a bound and a login deadline)
// before any TLS handshake or HTTP upgrade; TLS and HTTP are layered on the accepted socket here.
// What reaches aedes is a GuardedConnection (./connection-guard.ts: packet-size cap, send bound).
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { constants as cryptoConstants } from 'node:crypto';
import { createSecureContext, type SecureContext, TLSSocket } from 'node:tls';
import type { Aedes, Client, ConnackPacket } from 'aedes';
import pino, { type Logger } from 'pino';
import { createWebSocketStream, WebSocketServer } from 'ws';
import type { BrokerConfig } from '../../device/config/mqtt-schema.ts';
import { GuardedConnection, type GuardOptions, type GuardRefusal } from './connection-guard.ts';
import { type PendingSlot, PendingConnections } from './pending-connections.ts';
import { clip } from '../log-names.ts';
import { RateLimitedLog } from '../../device/util/rate-limited-log.ts';
import { answerAndClose, readUpgradeRequest } from './upgrade-request.ts';
import { AcceptRate } from './accept-rate.ts';
import { sourceKey } from './login-limits.ts';
import { upgradeRefusal } from './websocket-policy.ts';

export interface ListenerPorts {
  tcp: number | null;
  ws: number | null;
  tls: number | null;
  wss: number | null;
}

export interface Listeners {
  ports: ListenerPorts;
  close(): Promise<void>;
}

export class ListenError extends Error {
  readonly code = 'broker-listen-failed';
}

/** The broker's certificate, key or CA cannot be read or used: a person must fix the file or its
 * path (the daemon exits 2, so systemd does not restart it for ever). */
export class TlsFileError extends Error {
  readonly code = 'broker-tls-file';
}

function tlsContext(tls: NonNullable<BrokerConfig['tls']>): SecureContext {
  const read = (field: 'cert' | 'key' | 'ca', file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new TlsFileError(
        `mqtt.broker.tls.${field}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): check the path, and that the service user may read it`,
      );
    }
  };
  const files = {
    cert: read('cert', tls.cert),
    key: read('key', tls.key),
    ...(tls.ca ? { ca: read('ca', tls.ca) } : {}),
  };
  try {
    // No TLS 1.2 renegotiation: each is a full handshake (a signature with the key) on the event
    // loop, and a client may ask for one after another on a socket that never logs in; Node's own
    // limit does not hold for a TLSSocket made over a raw socket, as ours are (TLS 1.3 has none).
    return createSecureContext({ ...files, secureOptions: cryptoConstants.SSL_OP_NO_RENEGOTIATION });
  } catch (err) {
    if (/bad decrypt|passphrase|encrypted/i.test((err as Error).message)) {
      throw new TlsFileError(
        `mqtt.broker.tls.key: the key in ${tls.key} is encrypted (it has a passphrase, which the broker cannot ask for): store it unencrypted, readable by the service user only (openssl pkey -in ${tls.key} -out <new file>)`,
      );
    }
    throw new TlsFileError(
      `mqtt.broker.tls: the certificate and key in ${tls.cert} and ${tls.key} cannot be used (${(err as Error).message}): give a PEM certificate and its own private key`,
    );
  }
}

type ListenerName = keyof ListenerPorts;
/** Hands an accepted (and admitted) socket to MQTT or to the WebSocket upgrade. */
type OnSocket = (socket: Socket | TLSSocket, slot: PendingSlot, source: string | undefined) => void;

/** sources remembered as having logged in: an office has a few dozen clients */
const MAX_KNOWN_SOURCES = 1024;

const GUARD_MESSAGES: Record<GuardRefusal, string> = {
  'mqtt-packet-too-large': 'packet over the size limit: connection closed',
  'mqtt-malformed-header': 'malformed packet header: connection closed',
  'mqtt-not-connect-first': 'first packet is not a CONNECT: connection closed',
  'mqtt-too-much-before-login': 'too much data before login: connection closed',
  'mqtt-client-too-slow': 'client stopped reading: connection closed',
  'mqtt-ws-frame-refused':
    'WebSocket frame no MQTT client sends (an empty message, an unasked pong): connection closed',
};

const PENDING_MESSAGES = {
  'mqtt-connect-timeout': 'no login before the deadline: connection closed',
  'mqtt-too-many-pending': 'too many connections waiting to log in: connection closed',
  'mqtt-pending-evicted':
    'listener full: closed the oldest waiting connection of the address holding the most, to make room for another address',
} as const;

/** Idle time before the kernel probes a connection (then every 75 s, 9 times: Linux's defaults). */
export const TCP_KEEPALIVE_MS = 60_000;

const silent = pino({ level: 'silent' });

export async function openListeners(cfg: BrokerConfig, aedes: Aedes, logger: Logger = silent): Promise<Listeners> {
  const set = new ListenerSet(cfg, aedes, logger);
  try {
    const ports: ListenerPorts = { tcp: null, ws: null, tls: null, wss: null };
    if (cfg.port !== null) ports.tcp = await set.listen('tcp', cfg.port);
    if (cfg.wsPort !== null) ports.ws = await set.listen('ws', cfg.wsPort);
    if (cfg.tls) {
      const tls = tlsContext(cfg.tls);
      ports.tls = await set.listen('tls', cfg.tls.port, tls);
      if (cfg.tls.wsPort !== null) ports.wss = await set.listen('wss', cfg.tls.wsPort, tls);
    }
    return { ports, close: () => set.close() };
  } catch (err) {
    await set.close();
    throw err;
  }
}

/** The servers, the sockets they accepted, and what closes them all. */
class ListenerSet {
  private readonly log: RateLimitedLog;
  /** new connections a second per source address (./accept-rate.ts) */
  private readonly accepts: AcceptRate;
  private readonly servers: Server[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly pendings: PendingConnections[] = [];
  private readonly websockets: WebSocketServer[] = [];
  /** sources that have logged in (the office's boards and satellites), newest last: a full
   * listener still admits them (./pending-connections.ts) */
  private readonly known = new Set<string>();

  private readonly onConnack = (packet: ConnackPacket, client: Client): void => {
    if (packet.returnCode !== 0 || !(client.conn instanceof GuardedConnection)) return;
    client.conn.loggedIn();
    const key = sourceKey(client.conn.remoteAddress);
    this.known.delete(key);
    this.known.add(key);
    if (this.known.size > MAX_KNOWN_SOURCES) this.known.delete(this.known.values().next().value!);
  };

  constructor(
    private readonly cfg: BrokerConfig,
    private readonly aedes: Aedes,
    logger: Logger,
  ) {
    this.log = new RateLimitedLog(logger);
    this.accepts = new AcceptRate(cfg.limits.acceptsPerSecond);
    aedes.on('connackSent', this.onConnack);
  }

  /** A TCP server on `port`; TLS on top when `tls` is given; MQTT or WebSocket by its name. */
  async listen(name: ListenerName, port: number, tls?: SecureContext): Promise<number> {
    const onSocket = name === 'ws' || name === 'wss' ? this.websocket(name) : this.mqtt(name);
    const pending = this.pending(name);
    const server = createNetServer((raw) => {
      // A client may ask for no MQTT keepalive (0): a peer gone without a FIN (power cut, cable)
      // would then hold its connection, its slot of its account and its memory for good.
      raw.setKeepAlive(true, TCP_KEEPALIVE_MS);
      this.sockets.add(raw);
      raw.once('close', () => this.sockets.delete(raw));
      raw.on('error', () => raw.destroy());
      if (!this.accepts.admit(raw.remoteAddress)) {
        this.log.warn(
          'mqtt-accept-rate',
          { listener: name, source: raw.remoteAddress },
          'too many new connections from this address (limits.acceptsPerSecond): closed',
        );
        raw.destroy();
        return;
      }
      const slot = pending.admit(raw);
      if (!slot) return;
      const source = raw.remoteAddress;
      if (!tls) return onSocket(raw, slot, source);
      const secure = new TLSSocket(raw, { isServer: true, secureContext: tls });
      let established = false;
      secure.once('secure', () => {
        established = true;
      });
      secure.on('error', (err: NodeJS.ErrnoException) => {
        // A handshake that failed used to close without a word: plain MQTT or HTTP on a TLS port
        // (a satellite given mqtt:// for 8883), a TLS version or cipher the client cannot do.
        // A reset is the network's, not a handshake's.
        if (!established && err.code !== 'ECONNRESET' && err.code !== 'EPIPE') {
          this.log.warn(
            'mqtt-tls-handshake-failed',
            { listener: name, source, reason: err.code ?? clip(err.message, 200) },
            'TLS handshake failed (not TLS, or nothing in common with the client): connection closed',
          );
        }
        secure.destroy();
      });
      onSocket(secure, slot, source);
    });
    const bound = await bind(server, port, this.cfg.host);
    this.servers.push(server);
    return bound;
  }

  private pending(name: ListenerName): PendingConnections {
    const pending = new PendingConnections({
      max: this.cfg.limits.pendingConnections,
      maxPerSource: this.cfg.limits.pendingPerSource,
      timeoutMs: this.cfg.limits.connectTimeoutMs,
      isKnown: (source) => this.known.has(source),
      onRefused: (reason, details) => this.log.warn(reason, { listener: name, ...details }, PENDING_MESSAGES[reason]),
    });
    this.pendings.push(pending);
    return pending;
  }

  /** The stream aedes gets: the guard around the socket (or around the WebSocket's stream). */
  private guard(
    name: ListenerName,
    inner: Duplex,
    slot: PendingSlot,
    source?: string,
    below?: Pick<GuardOptions, 'extraBuffered' | 'holdSource'>,
  ) {
    return new GuardedConnection(inner, {
      ...below,
      maxPacketBytes: this.cfg.limits.maxPacketBytes,
      clientBufferBytes: this.cfg.limits.clientBufferBytes,
      packetsPerSecond: this.cfg.limits.packetsPerSecond,
      remoteAddress: source,
      onLoggedIn: () => slot.release(),
      onRefused: (reason, details) =>
        this.log.warn(reason, { listener: name, source, ...details }, GUARD_MESSAGES[reason]),
    });
  }

  private mqtt(name: ListenerName): OnSocket {
    return (socket, slot, source) => {
      this.aedes.handle(this.guard(name, socket, slot, source));
    };
  }

  /** HTTP on the accepted socket, for the upgrade only (./websocket-policy.ts decides who). */
  private websocket(name: ListenerName): OnSocket {
    // Frames hold at most one whole packet: nothing a client may send needs bigger ones.
    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.cfg.limits.maxPacketBytes + 5,
      // An MQTT client sends a packet in one frame; ws's default of 16,384 fragments a message let
      // a stranger make the receiver walk 16,000 empty frames for one byte, before any login.
      maxFragments: 4,
      // (allowSynchronousEvents stays on, ws's default for servers: with one message a turn, the
      // socket kept being read while its messages waited, and a stranger's churn of empty
      // messages took the daemon to 400 MiB instead of 180)
      handleProtocols: () => 'mqtt', // upgradeRefusal made sure it was asked for
    });
    this.websockets.push(wss);
    // What ws refuses itself, in the upgrade (a bad Sec-WebSocket-Key or -Version, not a GET, a
    // malformed subprotocol list) or in a frame (over maxPayload, unmasked, an unknown opcode, bad
    // UTF-8 in a text frame): ws answered or closed without a word in the log.
    wss.on('wsClientError', (err: Error, socket: Duplex, req: IncomingMessage) => {
      const status = req.method === 'GET' ? 400 : 405;
      this.log.warn(
        'mqtt-ws-bad-request',
        { listener: name, source: req.socket.remoteAddress, status },
        `WebSocket listener: ${err.message}; connection closed`,
      );
      answerAndClose(socket, status, err.message);
    });
    return (socket, slot, source) => {
      readUpgradeRequest(
        socket,
        (req) => {
          const refusal = upgradeRefusal(req, this.cfg.wsOrigins);
          if (refusal) {
            const origin = clip(req.headers.origin, 200);
            this.log.warn(refusal.code, { listener: name, source, origin }, 'WebSocket upgrade refused');
            return answerAndClose(socket, refusal.status, refusal.message);
          }
          // synchronously, from the read that ended the request: ws reads the socket from here on
          wss.handleUpgrade(req as unknown as IncomingMessage, socket, Buffer.alloc(0), (ws) => {
            // a small read buffer: its messages are taken off the socket until it is full, whatever
            // the guard's allowance says (4,096 one-byte messages, not 16,384)
            const inner = createWebSocketStream(ws, { readableHighWaterMark: 4096 });
            const stream = this.guard(name, inner, slot, source, {
              extraBuffered: () => ws.bufferedAmount,
              holdSource: (hold) => (hold ? ws.pause() : ws.resume()),
            });
            ws.once('error', (err: Error & { code?: string }) =>
              this.log.warn(
                'mqtt-ws-frame-refused',
                { listener: name, source, frame: err.code, error: err.message },
                'WebSocket frame refused by the WebSocket layer: connection closed',
              ),
            );
            ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => stream.webSocketMessage(messageBytes(data)));
            // ws answers each ping itself (and drops a client owed over 60 pongs): each still counts
            ws.on('ping', () => stream.webSocketPing());
            ws.on('pong', () => stream.webSocketPong());
            this.aedes.handle(stream, req as unknown as IncomingMessage);
          });
        },
        (problem) =>
          this.log.warn(
            'mqtt-ws-bad-request',
            { listener: name, source, status: problem.status },
            `WebSocket listener: ${problem.message}; connection closed`,
          ),
      );
    };
  }

  async close(): Promise<void> {
    this.aedes.off('connackSent', this.onConnack);
    for (const wss of this.websockets) {
      for (const c of wss.clients) c.terminate();
      wss.close();
    }
    for (const s of this.sockets) s.destroy();
    for (const p of this.pendings) p.close();
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    this.log.close();
  }
}

function messageBytes(data: Buffer | ArrayBuffer | Buffer[]): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  return data.byteLength;
}

function bind(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE' || err.code === 'EACCES' || err.code === 'EADDRNOTAVAIL') {
        reject(
          new ListenError(
            `cannot listen on ${host}:${port} (${err.code}): another broker may hold the port; set mqtt.broker.port/wsPort (or --broker-port/--ws-port), or turn the embedded broker off`,
          ),
        );
      } else reject(err);
    });
    server.listen(port, host, () => {
      server.removeAllListeners('error');
      resolve((server.address() as AddressInfo).port);
    });
  });
}
