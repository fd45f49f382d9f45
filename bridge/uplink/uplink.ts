// The link to a city's central broker (mqtt.js). MQTT 5 first, 3.1.1 when the broker refuses it;
// TLS and credentials from config; the will marks the device offline; reconnects with exponential
// backoff and jitter. Each attempt is a fresh client: mqtt.js's own resend of in-flight messages
// is not durable and not ordered across reconnects, so the outbox publisher resends from disk.
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { IClientOptions, IConnackPacket, IPublishPacket, MqttClient } from 'mqtt';
import type { UplinkConfig } from '../../device/config/mqtt-schema.ts';
import { FixedHeaderScanner } from '../broker/connection-guard.ts';
import { encodePayload } from '../contract/payload.ts';
import type { Topic, TopicKind } from '../contract/topics.ts';
import type { DeviceStatus, PayloadOf } from '../contract/types.ts';
import type { PublishOptions, Sink } from '../sink.ts';
import { backoffDelay, FlapCounter, loadMqtt, passwordOption, redactUrl, statusReason } from './client-common.ts';
import { InFlightGate } from './in-flight-gate.ts';

export interface UplinkOptions {
  cfg: UplinkConfig;
  clientId: string;
  cmdTopic: Topic<'cmd'>;
  statusTopic: Topic<'status'>;
  logger: Logger;
  /** next durable session number; awaited before each attempt so the will carries it */
  nextSession: () => Promise<number>;
  willPayload: (session: number) => DeviceStatus;
  /** A message on the cmd subscription. Its PUBACK is sent when the promise settles, and mqtt.js
   * reads no further packet of this connection until then: resolve once the result is durable. */
  onCommand: (topic: string, payload: Buffer, packet: IPublishPacket) => Promise<void>;
  random?: () => number;
  env?: NodeJS.ProcessEnv;
  /** how often a refused cmd subscription is asked for again (default RESUBSCRIBE_MS) */
  resubscribeMs?: number;
  /** how long central may take to answer the cmd subscription (default SUBACK_TIMEOUT_MS) */
  subackTimeoutMs?: number;
}

/** Connection refused for the protocol version: 1 under 3.1.1, 0x84 under MQTT 5. */
const UNSUPPORTED_PROTOCOL = new Set([1, 132]);
/** CONNACK codes that refuse the device's login: 3.1.1's bad user name or password (4) and not
 * authorised (5), MQTT 5's 0x86, 0x87 and bad authentication method (0x8C). */
const LOGIN_REFUSED = new Set([4, 5, 0x86, 0x87, 0x8c]);
/** Socket errors that mean the broker took the connection and then dropped it (not that it could
 * not be reached): a broker that cannot parse an MQTT 5 CONNECT may reset rather than close. */
const DROPPED_BY_PEER = new Set(['ECONNRESET', 'EPIPE']);
/** How long a stop waits for central to acknowledge the publishes in flight before it drops them. */
const STOP_GRACE_MS = 3000;
/** The largest packet taken from central: a command is at most 4 KiB (docs/mqtt.md), with its topic
 * and MQTT 5 properties far below this. */
const MAX_INCOMING_BYTES = 64 * 1024;
/** MQTT's CONNACK packet type: the first thing a broker sends. */
const CONNACK = 2;
/** How often a cmd subscription central refused is asked for again, on the same connection. */
export const RESUBSCRIBE_MS = 60_000;
/** How long central may take to answer the cmd subscription before the connection is dropped and
 * made again (to the next node of a cluster): the link counts as up only once it has, so a broker
 * that took the connection and never answered the SUBSCRIBE (a cluster node that has lost its
 * peers, a broker's bug) kept events, state and status from central for as long as it pinged
 * back. As long as mqtt.js's connectTimeout for the CONNACK. */
export const SUBACK_TIMEOUT_MS = 30_000;

/** The return code of a SUBACK that refuses (0x80 or more), from mqtt.js's error (which carries
 * the SUBACK): central's broker is up and took the connection, its ACL does not let the device
 * read cmd. Null for any other failure. */
function refusalCode(err: Error & { packet?: { cmd?: string; granted?: unknown[] } }): number | null {
  const granted = err.packet?.cmd === 'suback' ? err.packet.granted : undefined;
  const code = granted?.find((g): g is number => typeof g === 'number' && g >= 0x80);
  return code ?? null;
}

/** One connection attempt: what its client has said so far. */
interface Attempt {
  client: MqttClient;
  session: number;
  /** a CONNACK came: accepting (connect) or refusing (an error with a numeric reason code) */
  connack: boolean;
  refusedProtocol: boolean;
  /** the broker was never reached (refused, unreachable, TLS failed) or never answered */
  unreachable: boolean;
  /** why it ended, as the client or the uplink said it first (null: closed without a word) */
  reason: string | null;
}

export class Uplink implements Sink {
  readonly name = 'uplink';
  private client: MqttClient | null = null;
  private up = false;
  private stopped = true;
  private attempt = 0;
  private timer: NodeJS.Timeout | null = null;
  private protocolVersion: 4 | 5;
  /** mqtt.uplink.url as a list: the nodes of a cluster, tried in turn */
  private readonly urls: string[];
  private urlIndex = 0;
  private readonly connectFns: Array<() => void> = [];
  private readonly disconnectFns: Array<() => void> = [];
  session = 0;
  /** MQTT 5 Receive Maximum from the last CONNACK (null: none announced, or MQTT 3.1.1) */
  private brokerReceiveMaximum: number | null = null;
  /** the connection's QoS 1 publishes within that Receive Maximum; made at its CONNACK */
  private gate: InFlightGate | null = null;
  private lastError: string | null = null;
  /** the reasons already logged at warn since the link was last up: the nodes of a cluster each
   * fail with their own (their address is in it), so "the same as the last one" never held while
   * the uplink went round them, and each attempt was a warning for as long as central was away */
  private readonly reasonsSeen = new Set<string>();
  /** on 3.1.1 because an MQTT 5 attempt was closed before its CONNACK, and no 3.1.1 connection
   * has worked yet: a 3.1.1 attempt closed the same way goes back to MQTT 5 */
  private fellBackOnClose = false;
  /** connections closed before a CONNACK in a row (the first is logged at warn) */
  private noConnackStreak = 0;
  private tlsFiles: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {};
  /** central refused the cmd subscription (and has not taken it since): up for publishing, deaf */
  private refused = false;
  private resubscribeTimer: NodeJS.Timeout | null = null;
  /** the wait for the SUBACK of the connection's cmd subscription */
  private subackTimer: NodeJS.Timeout | null = null;
  private readonly commandsFns: Array<() => void> = [];
  private readonly attemptFailedFns: Array<() => void> = [];
  /** the connection attempt under way or last made */
  private current: Attempt | null = null;
  private lastFailureReason: string | null = null;
  /** central refused the login of the attempt under way or last made; said at error level once
   * until a login works */
  private loginRefusedNow = false;
  private loginRefusalSaid = false;
  /** drops right after the link came up: a cloned card's twin at central (client-common.ts) */
  private readonly flaps = new FlapCounter(() =>
    this.o.logger.error(
      { code: 'uplink-flapping', clientId: this.o.clientId },
      `the link to central drops right after it is made, again and again: does another device log in with the client id "${this.o.clientId}"? Two devices given one office.id and device.id (a card cloned and its config not edited) take central's connection from each other, and central gets both under one office, their events with the same seq numbers: give each its own (docs/deploy.md, "Before you clone the card"). Else central's broker closes the connection once made: its log says why`,
    ),
  );
  /** the last failure was one of those drops: the counter keeps its count until the link next
   * drops, so an outage after a flapping spell (central's port refused) would still be called one */
  private lastFailureFlapped = false;

  constructor(private readonly o: UplinkOptions) {
    this.protocolVersion = o.cfg.protocolVersion;
    this.urls = Array.isArray(o.cfg.url) ? o.cfg.url : [o.cfg.url];
  }

  /** The node in use, or to be tried next. */
  currentUrl(): string {
    return this.urls[this.urlIndex]!;
  }

  receiveMaximum(): number | null {
    return this.brokerReceiveMaximum;
  }

  connected(): boolean {
    // a client being ended (a packet too large, a stop) takes no more publishes: they would fail
    // with mqtt.js's "client disconnecting", which is not central refusing them
    return this.up && !this.stopped && this.client?.disconnecting !== true;
  }

  onConnect(fn: () => void): void {
    this.connectFns.push(fn);
  }

  onDisconnect(fn: () => void): void {
    this.disconnectFns.push(fn);
  }

  /** Whether central refuses the device its cmd subscription: the link is up for events, state
   * and status, and no command arrives. */
  commandsRefused(): boolean {
    return this.refused;
  }

  /** Called at each connection attempt that ended without the link coming up (refused,
   * unreachable, no CONNACK, closed before the SUBACK): onDisconnect is only for a link that was up,
   * and a device started while central is away must say so too. */
  onAttemptFailed(fn: () => void): void {
    this.attemptFailedFns.push(fn);
  }

  /** Why the link last went down or an attempt failed, in the client's words ("connect
   * ECONNREFUSED 10.1.2.3:8883", "Connection refused: Not authorized"), for the status: the code
   * `uplink-down` alone sent the admin to the log. Null before any failure. */
  failureReason(): string | null {
    return this.lastFailureReason;
  }

  private failedFor(reason: string): void {
    this.lastFailureFlapped = false;
    this.lastFailureReason = statusReason(reason);
  }

  /** Called when commandsRefused() changes while the link is up. */
  onCommandsChanged(fn: () => void): void {
    this.commandsFns.push(fn);
  }

  /** Starts connecting; never waits for central (the office works without it). Throws only for
   * a configuration that can never work (unreadable certificate files). */
  start(): void {
    const { cfg } = this.o;
    for (const name of ['ca', 'cert', 'key'] as const) {
      const file = cfg[name];
      if (!file) continue;
      try {
        this.tlsFiles[name] = readFileSync(file);
      } catch (err) {
        throw Object.assign(
          new Error(
            `cannot read mqtt.uplink.${name} (${file}): ${(err as Error).message}; fix the path or remove the key`,
          ),
          { code: 'uplink-tls-file' },
        );
      }
    }
    this.stopped = false;
    void this.connect();
  }

  publish<K extends TopicKind>(topic: Topic<K>, payload: PayloadOf<K>, opts: PublishOptions): Promise<void> {
    const client = this.client;
    // From the CONNACK on, not only once the cmd subscription is acknowledged: a persistent session
    // delivers the commands queued for it right after the CONNACK, before the SUBACK, and their
    // results must go out (their PUBACKs follow them on the same connection).
    if (!client || !(this.up || client.connected)) return Promise.reject(new Error('uplink offline'));
    // Stopping: nothing new goes out during the grace but a command's result (its PUBACK follows
    // it). Sent, an event was one more publish for the grace to wait for, and a repeat after the
    // restart whenever the grace ran out before its PUBACK; the outbox sends it after the restart.
    if (this.stopped && !opts.answer) return Promise.reject(new Error('uplink stopping'));
    const properties = this.protocolVersion === 5 && opts.properties ? opts.properties : undefined;
    const send = (done: (err?: Error) => void): void => {
      client.publish(
        topic,
        encodePayload(payload),
        { qos: opts.qos, retain: opts.retain, ...(properties ? { properties } : {}) },
        (err) => done(err),
      );
    };
    const gate = this.gate;
    return new Promise((resolve, reject) => {
      if (opts.qos === 0 || !gate) return send((err) => (err ? reject(err) : resolve()));
      gate.acquire(
        () =>
          send((err) => {
            gate.release(reject);
            if (err) reject(err);
            else resolve();
          }),
        reject,
        opts.answer,
      );
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.clearResubscribe();
    this.clearSubackTimer();
    const client = this.client;
    const wasUp = this.up;
    // What is in flight gets its grace on the connection as it is: central's acknowledgements
    // still reach the publishers (the outbox's cursor moves on them, so an event central took is
    // not sent again at the next start), and a command delivered meanwhile is carried out and
    // answered (mqtt.js reads no PUBACK behind a command it has not been told is done). The gate
    // and the link were closed first, and every event acknowledged during the grace was sent
    // again after a clean restart. connected() is false from the stop on: nothing new goes out
    // but results, and what the gate still held is dropped (never sent: the outbox resends it).
    this.gate?.shed();
    if (client && wasUp) await settleInFlight(client);
    this.client = null;
    this.closeGate();
    this.setDown();
    if (client) await endClient(client, wasUp);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const { logger } = this.o;
    let session: number;
    try {
      session = await this.o.nextSession();
    } catch (err) {
      logger.error({ code: 'session-write-failed', err }, 'could not persist the session number; retrying');
      this.failedFor(`the session number could not be written: ${(err as Error).message}`);
      this.attemptFailed();
      this.schedule();
      return;
    }
    if (this.stopped) return;
    const mqtt = await loadMqtt();
    // stopped while the client library loaded: a client made now would connect after the stop
    if (this.stopped) return;
    let client: MqttClient;
    try {
      client = mqtt.connect(this.currentUrl(), this.clientOptions(session));
    } catch (err) {
      logger.error(
        { code: 'uplink-connect-failed', reason: (err as Error).message },
        'could not start a connection; retrying',
      );
      this.failedFor((err as Error).message);
      this.attemptFailed();
      this.schedule();
      return;
    }
    this.client = client;
    this.capIncoming(client);
    const attempt: Attempt = {
      client,
      session,
      connack: false,
      refusedProtocol: false,
      unreachable: false,
      reason: null,
    };
    this.current = attempt;
    this.loginRefusedNow = false;
    client.on('connect', (packet) => this.onConnack(attempt, packet));
    // Not the 'message' event, which mqtt.js emits before it acknowledges: handleMessage is called
    // before the PUBACK goes out, and the PUBACK waits for its callback. A command is acknowledged
    // to central's broker only once its result is durable; a power cut before that leaves it
    // unacknowledged, and the broker delivers it again to the next session (clean: false).
    client.handleMessage = (packet, done) => this.onMessage(client, packet, done);
    client.on('error', (err: Error & { code?: number | string }) => this.onClientError(attempt, err));
    client.on('close', () => this.onClientClose(attempt));
  }

  /** mqtt.js reads every packet whole, whatever size its header announces: a 100 MiB publish on
   * the office's cmd at central's broker (anyone central lets publish there) would be read into a
   * Pi's memory before the command's own 4 KiB limit could refuse it. Each packet's fixed header is
   * read as it arrives, and the connection is dropped at one that announces more than
   * MAX_INCOMING_BYTES; the broker delivers the command again at the next connection, where it is
   * dropped again, and the log says so. Over MQTT 5 the broker is also told the limit (CONNECT's
   * Maximum Packet Size), and a broker that keeps it discards such a packet instead of sending it. */
  private capIncoming(client: MqttClient): void {
    const stream = client.stream as NodeJS.ReadableStream | undefined;
    if (!stream) return;
    const scanner = new FixedHeaderScanner(MAX_INCOMING_BYTES, CONNACK);
    const onData = (chunk: Buffer): void => {
      const refused = scanner.scan(chunk);
      if (!refused) return;
      stream.removeListener('data', onData);
      // a malformed header is mqtt.js's parser's to refuse, as before: the cap is about size
      if (refused.reason !== 'mqtt-packet-too-large') return;
      this.o.logger.error(
        { code: 'uplink-packet-too-large', reason: refused.reason, ...refused.details },
        'central sent a packet larger than the uplink takes; connection dropped',
      );
      this.because(client, `central sent a packet over ${MAX_INCOMING_BYTES / 1024} KiB`);
      client.end(true);
      (stream as { destroy?: () => void }).destroy?.();
    };
    stream.on('data', onData);
  }

  private clientOptions(session: number): IClientOptions {
    const { cfg, logger } = this.o;
    return {
      protocolVersion: this.protocolVersion,
      clientId: this.o.clientId,
      keepalive: cfg.keepaliveSec,
      clean: false,
      reconnectPeriod: 0, // ours, with jitter (schedule())
      connectTimeout: 15_000,
      resubscribe: false,
      queueQoSZero: false,
      rejectUnauthorized: cfg.rejectUnauthorized,
      will: {
        topic: this.o.statusTopic,
        payload: Buffer.from(encodePayload<'status'>(this.o.willPayload(session))),
        qos: 1,
        retain: true,
      },
      ...(this.protocolVersion === 5
        ? { properties: { sessionExpiryInterval: cfg.sessionExpirySec, maximumPacketSize: MAX_INCOMING_BYTES } }
        : {}),
      ...(cfg.username ? { username: cfg.username } : {}),
      ...passwordOption(cfg, {
        env: this.o.env ?? process.env,
        logger,
        missingCode: 'uplink-password-env-missing',
      }),
      ...this.tlsFiles,
    };
  }

  /** Accepted: subscribe to cmd, and only then count the link as up. */
  private onConnack(attempt: Attempt, packet: IConnackPacket): void {
    const { client, session } = attempt;
    const { logger } = this.o;
    attempt.connack = true;
    this.brokerReceiveMaximum = packet.properties?.receiveMaximum ?? null;
    if (client !== this.client) return;
    this.loginRefusalSaid = false;
    this.closeGate();
    this.gate = new InFlightGate(this.brokerReceiveMaximum);
    // Small packets at once, not held by Nagle's algorithm until the one before is acknowledged:
    // an event, a result, a PUBACK of a command each wait otherwise for the broker's (delayed)
    // TCP acknowledgement. mqtt.js leaves the socket's default; a WebSocket stream has no such call.
    (client.stream as { setNoDelay?: (on: boolean) => void } | undefined)?.setNoDelay?.(true);
    this.waitForSuback(client);
    client.subscribe(this.o.cmdTopic, { qos: 1 }, (err) => {
      if (client !== this.client) return;
      this.clearSubackTimer();
      if (err && refusalCode(err) === null) {
        logger.error({ code: 'uplink-subscribe-failed', err: err.message }, 'could not subscribe to cmd; reconnecting');
        this.because(client, `the cmd subscription failed: ${err.message}`);
        client.end(true);
        return;
      }
      // A refusal is central's ACL, not a broken link: reconnecting would only cut the events,
      // state and status central does take. Up, then, and the subscription asked for again.
      if (err) this.subscriptionRefused(client, err);
      else if (this.refused) this.subscriptionTaken();
      this.attempt = 0;
      this.lastError = null;
      this.reasonsSeen.clear();
      this.fellBackOnClose = false;
      this.noConnackStreak = 0;
      this.session = session;
      this.up = true;
      this.flaps.up();
      logger[this.flaps.count > 0 ? 'debug' : 'info'](
        { url: redactUrl(this.currentUrl()), protocolVersion: this.protocolVersion, session },
        'uplink connected',
      );
      for (const fn of this.connectFns) fn();
    });
  }

  /** Says once (until central takes it) that the cmd subscription is refused, and asks again in
   * RESUBSCRIBE_MS on the same connection. */
  private subscriptionRefused(client: MqttClient, err: Error): void {
    const { logger } = this.o;
    if (!this.refused) {
      logger.error(
        { code: 'uplink-subscribe-failed', reason: err.message, returnCode: refusalCode(err) },
        `central refused the cmd subscription: events, state and status go out, central's commands do not arrive; asked again every ${(this.o.resubscribeMs ?? RESUBSCRIBE_MS) / 1000} s (the device's account at central must be allowed to read ${this.o.cmdTopic})`,
      );
    } else {
      logger.debug({ code: 'uplink-subscribe-failed', reason: err.message }, 'cmd subscription refused again');
    }
    const changed = !this.refused;
    this.refused = true;
    if (changed && this.up) for (const fn of this.commandsFns) fn();
    this.clearResubscribe();
    this.resubscribeTimer = setTimeout(() => {
      this.resubscribeTimer = null;
      if (client !== this.client) return;
      client.subscribe(this.o.cmdTopic, { qos: 1 }, (again) => {
        if (client !== this.client) return;
        if (again && refusalCode(again) !== null) return this.subscriptionRefused(client, again);
        if (again) {
          this.because(client, `the cmd subscription failed: ${again.message}`);
          return void client.end(true);
        }
        this.subscriptionTaken();
        for (const fn of this.commandsFns) fn();
      });
    }, this.o.resubscribeMs ?? RESUBSCRIBE_MS);
  }

  /** The end of a refusal: said once, without the failure's code (a filter on it finds faults). */
  private subscriptionTaken(): void {
    this.refused = false;
    this.o.logger.info(
      { was: 'uplink-subscribe-failed' },
      'central took the cmd subscription: its commands arrive again',
    );
  }

  /** (Re)starts the wait for the cmd subscription's SUBACK. */
  private waitForSuback(client: MqttClient): void {
    const waitMs = this.o.subackTimeoutMs ?? SUBACK_TIMEOUT_MS;
    this.clearSubackTimer();
    this.subackTimer = setTimeout(() => {
      this.subackTimer = null;
      if (client !== this.client || this.up) return;
      this.o.logger.warn(
        { code: 'uplink-subscribe-timeout', waitedMs: waitMs, url: redactUrl(this.currentUrl()) },
        'central took the connection but has not answered the cmd subscription; connecting again',
      );
      this.because(client, `central did not answer the cmd subscription within ${waitMs / 1000} s`);
      client.end(true);
    }, waitMs);
  }

  private clearSubackTimer(): void {
    if (this.subackTimer) clearTimeout(this.subackTimer);
    this.subackTimer = null;
  }

  private clearResubscribe(): void {
    if (this.resubscribeTimer) clearTimeout(this.resubscribeTimer);
    this.resubscribeTimer = null;
  }

  private onMessage(client: MqttClient, packet: IPublishPacket, done: (err?: Error) => void): void {
    // A message on a connection being replaced is left unacknowledged: the broker delivers it
    // again to the next session.
    if (client !== this.client) return;
    this.o.onCommand(packet.topic, packet.payload as Buffer, packet).then(
      () => {
        // A persistent session's queued commands come before the SUBACK, and mqtt.js reads the
        // next packet only once this one is carried out: the wait counts from the last of them
        // (a backlog longer than the wait dropped a connection central was answering on).
        if (client === this.client && this.subackTimer) this.waitForSuback(client);
        done();
      },
      // onCommand never rejects (the handler answers every failure); were it to, the command
      // stays unacknowledged and the broker delivers it again after the reconnect.
      (err: unknown) => {
        this.o.logger.error({ code: 'internal-error', err: String(err) }, 'command not acknowledged');
        client.end(true);
      },
    );
  }

  /** The reason the uplink itself ends `client`'s connection for, unless its client said one first. */
  private because(client: MqttClient, reason: string): void {
    if (this.current?.client === client) this.current.reason ??= reason;
  }

  private onClientError(attempt: Attempt, err: Error & { code?: number | string }): void {
    attempt.reason ??= err.message;
    if (typeof err.code === 'number' && LOGIN_REFUSED.has(err.code) && attempt.client === this.client) {
      attempt.connack = true;
      this.sayLoginRefused(err.message);
      return;
    }
    if (typeof err.code === 'number') {
      attempt.connack = true;
      if (UNSUPPORTED_PROTOCOL.has(err.code) && this.protocolVersion === 5) attempt.refusedProtocol = true;
    } else if (!attempt.connack && !(typeof err.code === 'string' && DROPPED_BY_PEER.has(err.code))) {
      // connection refused, no route, DNS, TLS, or no CONNACK within connectTimeout: nothing
      // about the protocol version
      attempt.unreachable = true;
    }
    // Central away for hours must not flood the log: a repeated reason goes to debug (a bounded
    // memory of them: a reason with a changing part in it is not kept for ever).
    const repeated = err.message === this.lastError || this.reasonsSeen.has(err.message) || this.reasonsSeen.size >= 16;
    const level = repeated ? 'debug' : 'warn';
    if (!repeated) this.reasonsSeen.add(err.message);
    this.lastError = err.message;
    this.o.logger[level]({ code: 'uplink-error', reason: err.message, attempt: this.attempt }, 'uplink error');
  }

  private onClientClose(attempt: Attempt): void {
    const { client } = attempt;
    if (client !== this.client) return;
    this.client = null;
    this.current = null;
    this.closeGate();
    this.clearResubscribe();
    this.clearSubackTimer();
    client.removeAllListeners('message');
    client.end(true);
    const wasUp = this.up;
    if (wasUp) this.flapped();
    if (!attempt.refusedProtocol) {
      // before setDown(): its listeners read it
      this.failedFor(
        attempt.reason ??
          (attempt.connack ? 'central closed the connection' : 'central closed the connection before its CONNACK'),
      );
    }
    this.lastFailureFlapped = wasUp && this.flaps.flapping();
    this.setDown();
    // The same node again with 3.1.1 is how a 3.1.1-only broker (RabbitMQ) is reached at every
    // start: not a failed attempt, or its office's status would say uplink-down all day.
    let otherVersion = false;
    if (attempt.refusedProtocol) {
      this.o.logger.info({ code: 'uplink-mqtt5-refused' }, 'central refused MQTT 5; using 3.1.1');
      this.protocolVersion = 4;
      this.attempt = 0;
      otherVersion = true;
    } else if (attempt.connack || attempt.unreachable) {
      // The node died, dropped us or cannot be reached: the next attempt goes to the next node.
      this.nextNode(wasUp);
    } else if (this.closedBeforeConnack()) {
      otherVersion = true;
    } else {
      this.nextNode(wasUp);
    }
    if (!wasUp && !otherVersion) this.attemptFailed();
    this.schedule();
  }

  /** The broker took the connection and closed it without a CONNACK. Brokers that cannot parse an
   * MQTT 5 CONNECT do that (RabbitMQ's MQTT plugin up to 3.12): try 3.1.1 next. If 3.1.1 is closed
   * the same way before any 3.1.1 connection worked, the version was not the cause: MQTT 5 again. */
  /** Returns true when the next attempt should be the same node with another protocol version. */
  private closedBeforeConnack(): boolean {
    const { logger } = this.o;
    this.noConnackStreak++;
    // Read by a newcomer too: in the simulator this is central not started (the simulator's cable
    // takes the connection and closes it), so it says where to look and that nothing is lost.
    logger[this.noConnackStreak === 1 ? 'warn' : 'debug'](
      {
        code: 'uplink-no-connack',
        url: redactUrl(this.currentUrl()),
        protocolVersion: this.protocolVersion,
        attempts: this.noConnackStreak,
      },
      `the connection to central was closed before central's MQTT reply (no CONNACK): check that mqtt.uplink.url is the host and port of central's MQTT broker (mqtts:// for a TLS port) and that the broker runs there (the simulated one: npm run central)${this.protocolVersion === 5 ? '; MQTT 3.1.1 is tried next' : ', and speaks MQTT 3.1.1 (mqtt.uplink.protocolVersion)'}; the office keeps its events and retries`,
    );
    if (this.protocolVersion === 5) {
      logger.info(
        { code: 'uplink-mqtt5-refused' },
        'central closed an MQTT 5 connection before its CONNACK; trying 3.1.1',
      );
      this.protocolVersion = 4;
      this.fellBackOnClose = true;
      return true;
    }
    if (this.fellBackOnClose) {
      this.protocolVersion = 5;
      this.fellBackOnClose = false;
    }
    return false;
  }

  /** Failover: the next URL of the list, round and round (one URL: the same one). A node that
   * comes back is not returned to: the uplink stays where it works. */
  private nextNode(wasConnected: boolean): void {
    if (this.urls.length < 2) return;
    const from = this.currentUrl();
    this.urlIndex = (this.urlIndex + 1) % this.urls.length;
    // A failover is news; a cluster away for hours cycling through its nodes is not.
    this.o.logger[wasConnected ? 'info' : 'debug'](
      { code: 'uplink-next-node', from: redactUrl(from), to: redactUrl(this.currentUrl()) },
      'trying the next node of mqtt.uplink.url',
    );
  }

  /** True when central refused the last attempt's login (the status: `uplink-login-refused`). */
  loginRefused(): boolean {
    return this.loginRefusedNow;
  }

  /** A wrong password or an account central's ACL does not know retries for ever and never fixes
   * itself; the log said it as one more "uplink error" warning among the retries. Said once at
   * error level with what to check, and to the status. */
  private sayLoginRefused(reason: string): void {
    this.loginRefusedNow = true;
    const username = this.o.cfg.username ?? null;
    this.o.logger[this.loginRefusalSaid ? 'debug' : 'error'](
      { code: 'uplink-login-refused', reason, username, attempt: this.attempt },
      username === null
        ? 'central refused the login of this office, which gives no user name: set mqtt.uplink.username and passwordEnv to the account central made for this office'
        : `central refused this office's login as "${username}": check the password (${this.passwordSource()}) against that account at central's broker, and that its ACL lets the account in`,
    );
    this.loginRefusalSaid = true;
  }

  /** Where this office's uplink password comes from, as the admin finds it: the variable and the
   * service's secrets file written with the config (docs/deploy.md, step 5), or the config itself. The refusal used to name
   * a variable also when the config held the password, sending the admin to look for one. */
  private passwordSource(): string {
    const env = this.o.cfg.passwordEnv;
    if (env)
      return `the variable ${env} that mqtt.uplink.passwordEnv names, in /etc/beonho/environment on an installed office`;
    if (this.o.cfg.password !== undefined) return 'mqtt.uplink.password in the config';
    return 'none is configured: set mqtt.uplink.passwordEnv';
  }

  /** True while the link keeps dropping right after it is made (the status: `uplink-flapping`):
   * the last failure was such a drop, not an attempt that failed since. */
  flapping(): boolean {
    return this.lastFailureFlapped;
  }

  /** A link that drops again within FLAP_MS of coming up, again and again: each reconnect waits
   * longer, as failed attempts do, the drops go to debug, and the likely cause is said once. */
  private flapped(): void {
    const drops = this.flaps.dropped();
    if (drops > 0) this.attempt = drops;
  }

  private attemptFailed(): void {
    if (this.stopped) return;
    for (const fn of this.attemptFailedFns) fn();
  }

  private closeGate(): void {
    this.gate?.close();
    this.gate = null;
  }

  private setDown(): void {
    if (!this.up) return;
    this.up = false;
    // A stop closes the link on purpose: not a loss to alert on.
    if (this.stopped) this.o.logger.info('uplink closed at stop; events not yet at central stay in the outbox');
    else
      this.o.logger[this.flaps.count > 1 ? 'debug' : 'warn'](
        { code: 'uplink-down' },
        'uplink lost; events stay in the outbox',
      );
    for (const fn of this.disconnectFns) fn();
  }

  /** Exponential backoff with "equal jitter": half fixed, half random, so a city's offices do not
   * all reconnect in the same second after central comes back. */
  private schedule(): void {
    if (this.stopped || this.timer) return;
    const { reconnectMinMs, reconnectMaxMs } = this.o.cfg;
    const delay = backoffDelay(this.attempt, reconnectMinMs, reconnectMaxMs, (this.o.random ?? Math.random)());
    this.attempt++;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.connect();
    }, delay);
  }
}

/**
 * At stop, the publishes in flight get STOP_GRACE_MS to be acknowledged, or until the connection
 * closes. mqtt.js's own clean end waits for them for ever, and on a link that died meanwhile its
 * callback never came: the daemon's whole stop hung until systemd killed it (no checkpoint, no
 * cursor written). What is still unacknowledged then is dropped with the connection (endClient):
 * events are resent from the journal at the next start, and a result or a status is published
 * again there.
 */
async function settleInFlight(client: MqttClient): Promise<void> {
  if (inFlight(client) > 0 && client.connected) {
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        client.removeListener('packetreceive', received);
        client.removeListener('close', done);
        resolve();
      };
      // Not mqtt.js's outgoingEmpty: it is said only once its own end has begun, so every stop
      // with a publish in flight took the whole grace. A received packet is handled (an
      // acknowledgement taken out of `outgoing`) right after packetreceive, in the same turn.
      const received = (): void => {
        queueMicrotask(() => {
          if (inFlight(client) === 0) done();
        });
      };
      const timer = setTimeout(done, STOP_GRACE_MS);
      client.on('packetreceive', received);
      client.once('close', done);
    });
  }
}

/** Ends a client at stop: a clean DISCONNECT (no will) when nothing is in flight any more, else
 * (and while still connecting) dropped at once. */
async function endClient(client: MqttClient, connected: boolean): Promise<void> {
  const clean = connected && client.connected && inFlight(client) === 0;
  await new Promise<void>((resolve) => client.end(!clean, {}, () => resolve()));
}

function inFlight(client: MqttClient): number {
  return Object.keys(client.outgoing).length;
}
