// A stream between a client's socket and aedes that enforces what aedes cannot: aedes builds its
// mqtt-packet parser without a size limit and buffers a packet's whole body before looking at it,
// so a CONNECT announcing 200 MiB would be read into memory before anyone logged in. The guard
// reads each packet's fixed header itself and closes the socket as soon as one announces more than
// the cap. It also bounds what waits to be sent to the client: aedes would otherwise wait for a
// frozen client's socket to drain while every other client's deliveries queue behind it.
import { Duplex } from 'node:stream';
import { clipName } from '../log-names.ts';

export type GuardRefusal =
  /** a packet's fixed header announces more than maxPacketBytes */
  | 'mqtt-packet-too-large'
  /** a remaining length that is not a valid MQTT variable byte integer */
  | 'mqtt-malformed-header'
  /** the first packet is not a CONNECT */
  | 'mqtt-not-connect-first'
  /** more than one packet's worth of bytes before the login finished */
  | 'mqtt-too-much-before-login'
  /** more than clientBufferBytes waiting to be sent: the client stopped reading */
  | 'mqtt-client-too-slow'
  /** an empty WebSocket message, or pongs nobody asked for: nothing an MQTT client sends */
  | 'mqtt-ws-frame-refused';

export interface GuardOptions {
  maxPacketBytes: number;
  clientBufferBytes: number;
  /** packets a second a logged-in client may send (a read that ends none counts as one), after a
   * burst of as many: past them its socket is not read until the allowance is back */
  packetsPerSecond: number;
  /** seams for tests */
  now?: () => number;
  /** runs `fn` after `ms`; returns what cancels it */
  setTimer?: (fn: () => void, ms: number) => () => void;
  /** bytes queued below the guard that the inner stream does not count (a WebSocket's own buffer) */
  extraBuffered?: () => number;
  /** stops (true) or restarts (false) reading below the inner stream while the client is held past
   * its allowance: a WebSocket's pings make no reads of its stream, so pausing that stream does not
   * stop them */
  holdSource?: (hold: boolean) => void;
  /** the socket's source address (a WebSocket stream does not carry it) */
  remoteAddress: string | undefined;
  /** the broker sent CONNACK 0 */
  onLoggedIn(): void;
  onRefused(reason: GuardRefusal, details: Record<string, unknown>): void;
}

const CONNECT = 1;
const SUBSCRIBE = 8;
const UNSUBSCRIBE = 10;
/** The fixed header: one type byte and at most four bytes of remaining length. */
const MAX_HEADER = 5;
/** What a WebSocket message costs of the budget before login at least: an MQTT client sends its
 * CONNECT in one, and a stranger's thousands of 1-byte messages are each the receiver's work. */
const WS_MESSAGE_BYTES = 1024;
/** The broker never pings a WebSocket client, so a pong answers nothing: a few are tolerated. */
const MAX_PONGS = 16;

/** Walks packet boundaries across chunks without keeping any body bytes. */
export class FixedHeaderScanner {
  private state: 'type' | 'length' | 'body' = 'type';
  private type = 0;
  private length = 0;
  private lengthBytes = 0;
  private bodyLeft = 0;
  /** bytes scanned before the current chunk */
  private offset = 0;
  packets = 0;
  /** where the first packet ends, in bytes from the start of the stream (null until its header is
   * read) */
  firstPacketEnd: number | null = null;
  /** the work the packets so far ask of the broker: one each, a SUBSCRIBE or UNSUBSCRIBE one per
   * topic filter it can hold (at least 4 bytes each: a 64 KiB one carries ~11,000 filters, each
   * authorised, answered and logged by aedes) */
  units = 0;

  /** `first`: the type the first packet must have (a CONNECT from a client; a CONNACK from a broker
   * when the scanner reads what a broker sends) */
  constructor(
    private readonly maxPacketBytes: number,
    private readonly first = CONNECT,
  ) {}

  /** null when the chunk is acceptable, else why not (and what was announced). */
  scan(chunk: Buffer): { reason: GuardRefusal; details: Record<string, unknown> } | null {
    let i = 0;
    while (i < chunk.length) {
      if (this.state === 'body') {
        const n = Math.min(this.bodyLeft, chunk.length - i);
        this.bodyLeft -= n;
        i += n;
        if (this.bodyLeft === 0) this.state = 'type';
        continue;
      }
      const byte = chunk[i++]!;
      if (this.state === 'type') {
        this.type = byte >> 4;
        if (this.packets === 0 && this.type !== this.first)
          return { reason: 'mqtt-not-connect-first', details: { type: this.type } };
        this.state = 'length';
        this.length = 0;
        this.lengthBytes = 0;
        continue;
      }
      this.length += (byte & 0x7f) * 128 ** this.lengthBytes++;
      if (byte & 0x80) {
        if (this.lengthBytes === MAX_HEADER - 1) return { reason: 'mqtt-malformed-header', details: {} };
        continue;
      }
      if (this.length > this.maxPacketBytes) {
        return {
          reason: 'mqtt-packet-too-large',
          details: { type: this.type, announced: this.length, max: this.maxPacketBytes },
        };
      }
      if (this.packets++ === 0) this.firstPacketEnd = this.offset + i + this.length;
      this.units += this.type === SUBSCRIBE || this.type === UNSUBSCRIBE ? Math.max(1, this.length >> 2) : 1;
      this.bodyLeft = this.length;
      this.state = this.length > 0 ? 'body' : 'type';
    }
    this.offset += chunk.length;
    return null;
  }
}

function unrefTimer(fn: () => void, ms: number): () => void {
  const t = setTimeout(fn, ms);
  t.unref();
  return () => clearTimeout(t);
}

/** What aedes reads and writes instead of the socket. `loggedIn()` lifts the pre-login budget. */
export class GuardedConnection extends Duplex {
  private readonly scanner: FixedHeaderScanner;
  private beforeLogin = 0;
  /** bytes read before the login */
  private readBeforeLogin = 0;
  /** what came behind the CONNECT before the login: handed to aedes once it has sent CONNACK 0 */
  private held: Buffer[] = [];
  private login = false;
  private refused = false;
  /** the packet allowance (a token bucket of packetsPerSecond, as deep): may go below zero by
   * what one read brought, which is then waited for */
  private tokens: number;
  private tokensAt: number;
  private counted = 0;
  private pongs = 0;
  /** not read until the allowance is back: what cancels that wait */
  private throttled: (() => void) | null = null;

  constructor(
    private readonly inner: Duplex,
    private readonly o: GuardOptions,
  ) {
    super({ allowHalfOpen: false });
    this.scanner = new FixedHeaderScanner(o.maxPacketBytes);
    this.tokens = o.packetsPerSecond;
    this.tokensAt = this.now();
    inner.on('data', (chunk: Buffer) => this.fromClient(chunk));
    inner.once('end', () => this.push(null));
    inner.on('error', (err) => this.destroy(err));
    inner.once('close', () => this.destroy());
  }

  /** The address the socket came from (per-source login limits). */
  get remoteAddress(): string | undefined {
    return this.o.remoteAddress;
  }

  loggedIn(): void {
    if (this.login) return;
    this.login = true;
    // the allowance starts now: what came before the login had its own budget
    this.counted = this.scanner.units;
    this.tokensAt = this.now();
    this.o.onLoggedIn();
    const held = this.held;
    this.held = [];
    if (held.length > 0 && !this.refused && !this.push(Buffer.concat(held))) this.inner.pause();
  }

  private refuse(reason: GuardRefusal, details: Record<string, unknown>): void {
    if (this.refused) return;
    this.refused = true;
    // aedes hangs its Client on the stream it reads (conn.client): name it when there is one.
    const clientId = (this as { client?: { id?: string | null } }).client?.id ?? undefined;
    this.o.onRefused(reason, clientId ? { clientId: clipName(clientId), ...details } : details);
    this.inner.destroy();
    this.destroy();
  }

  /** A WebSocket message of `bytes` arrived (its bytes come to fromClient as a read of their own).
   * An empty one makes no read, so it would cost nothing: MQTT never sends one, it is refused. */
  webSocketMessage(bytes: number): void {
    if (this.refused) return;
    if (bytes === 0) {
      this.refuse('mqtt-ws-frame-refused', { frame: 'empty message' });
      return;
    }
    if (!this.login) this.chargeBeforeLogin(Math.max(0, WS_MESSAGE_BYTES - bytes));
  }

  /** A WebSocket ping arrived, which ws has answered with a pong: work that no packet counts. A
   * stranger's pings cost nothing before, and a socket never logging in kept the daemon at a full
   * core; a ping now costs what a message does before the login, a packet of the allowance after. */
  webSocketPing(): void {
    if (this.refused) return;
    if (!this.login) this.chargeBeforeLogin(WS_MESSAGE_BYTES);
    else this.spend(1);
  }

  /** A WebSocket pong arrived (the broker sends no pings). */
  webSocketPong(): void {
    if (!this.refused && ++this.pongs > MAX_PONGS) this.refuse('mqtt-ws-frame-refused', { frame: 'pong' });
  }

  /** Counts `bytes` against what may arrive before the login; false (and closed) past it. */
  private chargeBeforeLogin(bytes: number): boolean {
    this.beforeLogin += bytes;
    const budget = this.o.maxPacketBytes + MAX_HEADER;
    if (this.beforeLogin <= budget) return true;
    this.refuse('mqtt-too-much-before-login', { bytes: this.beforeLogin, max: budget });
    return false;
  }

  private fromClient(chunk: Buffer): void {
    if (this.refused) return;
    const bad = this.scanner.scan(chunk);
    if (bad) {
      this.refuse(bad.reason, bad.details);
      return;
    }
    if (!this.login) {
      // CONNECT (or anything pipelined behind it) while the login runs: at most one packet's worth.
      if (!this.chargeBeforeLogin(chunk.length)) return;
      this.beforeLoginRead(chunk);
      return;
    }
    // A read costs at least one: a WebSocket client sending its packets a byte a frame makes
    // each frame a read of its own, and every read is work however few packets it ends.
    this.spend(Math.max(1, this.scanner.units - this.counted));
    this.counted = this.scanner.units;
    if (!this.push(chunk)) this.inner.pause();
  }

  /** aedes gets the CONNECT alone until the login: it handled a packet that came in a read of its
   * own right behind the CONNECT (a second TLS record, the rest of a full 64 KiB read) before it
   * even started the password check, as a client with no id and no account; refusing it threw, and
   * one connection with no password ended the daemon. What follows the CONNECT waits here. */
  private beforeLoginRead(chunk: Buffer): void {
    const start = this.readBeforeLogin;
    this.readBeforeLogin += chunk.length;
    const end = this.scanner.firstPacketEnd;
    const cut = end === null ? chunk.length : Math.max(0, Math.min(chunk.length, end - start));
    if (cut < chunk.length) this.held.push(chunk.subarray(cut));
    if (cut > 0 && !this.push(chunk.subarray(0, cut))) this.inner.pause();
  }

  private now(): number {
    return this.o.now?.() ?? performance.now();
  }

  /** Charges `units` packets (those of the chunk just scanned, or a WebSocket ping). aedes answers
   * a read's packets in one go (a 64 KiB read of PINGREQs is 32,000 answers): past the allowance
   * the socket is left unread for as long as those packets are worth, so one connection cannot
   * hold the event loop. */
  private spend(units: number): void {
    const rate = this.o.packetsPerSecond;
    const t = this.now();
    this.tokens = Math.min(rate, this.tokens + ((t - this.tokensAt) * rate) / 1000);
    this.tokensAt = t;
    this.tokens -= units;
    if (this.tokens >= 0 || this.throttled) return;
    this.inner.pause();
    this.o.holdSource?.(true);
    const wait = Math.ceil((-this.tokens * 1000) / rate);
    this.throttled = (this.o.setTimer ?? unrefTimer)(() => {
      this.throttled = null;
      if (this.refused || this.destroyed) return;
      this.o.holdSource?.(false);
      this.inner.resume();
    }, wait);
  }

  override _read(): void {
    if (this.throttled === null) this.inner.resume();
  }

  // Accept every write at once, so aedes never waits on this client's drain (that wait holds a
  // delivery slot shared by all clients); drop the client instead once its backlog is over the bound.
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (!this.refused && !this.inner.destroyed) {
      this.inner.write(chunk);
      const buffered = this.inner.writableLength + (this.o.extraBuffered?.() ?? 0);
      if (buffered > this.o.clientBufferBytes)
        this.refuse('mqtt-client-too-slow', { buffered, max: this.o.clientBufferBytes });
    }
    cb();
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.inner.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.throttled?.();
    this.throttled = null;
    this.inner.destroy();
    cb(err);
  }
}
