// A satellite's link to the main unit's embedded broker (mqtt.js, MQTT 3.1.1: the embedded broker
// speaks nothing else). It reads the office's retained state, its events, the devices' status and
// the results of its own commands; it publishes its own presence (birth, and a will that says
// offline) and, only while connected, its counters' commands.
//
// Fail safe, not store and forward: a clean session (the broker keeps nothing for us while we are
// away), and a fresh mqtt.js client for every attempt, so a command published before a cut is
// never sent again by mqtt.js on the next connection (a late "next" would call someone nobody is
// waiting for). A command is published only while the link is up; otherwise send() says so at once.
import { readFileSync } from 'node:fs';
import { connect as connectTcp, Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { IClientOptions, MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { encodePayload } from '../../bridge/contract/payload.ts';
import { type OfficeTopics, officeTopics, parseTopic } from '../../bridge/contract/topics.ts';
import type { Command, CommandResult, DeviceStatus } from '../../bridge/contract/types.ts';
import { backoffDelay, FlapCounter, loadMqtt, passwordOption, redactUrl } from '../../bridge/uplink/client-common.ts';
import type { SatelliteSection } from '../config/satellite-schema.ts';
import type { Snapshot } from '../queue/snapshot-types.ts';
import type { QueueEvent } from '../queue/types.ts';
import { within } from '../util/stop-parts.ts';

export class LinkConfigError extends Error {
  readonly code = 'main-tls-file';
}

export interface MainLinkHandlers {
  /** a new connection (CONNACK): whatever arrives from now on is from it (the broker may deliver
   * the retained state before it acknowledges the subscription) */
  connected(): void;
  /** connected and subscribed: keys may be sent */
  up(): void;
  /** the link was up and is not any more */
  down(reason: string): void;
  /** an attempt ended without the link coming up (unreachable, refused by the network, closed
   * before it was made), with the reason in the client's words; not a refused login (`refused`) */
  failed?(reason: string): void;
  /** the main unit refused our login (user name or password): a person must fix the config */
  refused?(): void;
  state(snapshot: Snapshot): void;
  event(event: QueueEvent): void;
  result(result: CommandResult): void;
  status(status: DeviceStatus): void;
}

export interface MainLinkOptions {
  cfg: SatelliteSection['main'];
  office: string;
  /** this satellite's device id: its user name, client id and status topic */
  device: string;
  logger: Logger;
  handlers: MainLinkHandlers;
  /** the next durable session number of our presence (bridge/uplink/session.ts) */
  nextSession: () => Promise<number>;
  /** our presence when connected; the will is the same with online:false and nothing else */
  birth: (session: number) => DeviceStatus;
  random?: () => number;
  env?: NodeJS.ProcessEnv;
}

/** How long a stop waits for the main unit to acknowledge our offline status. */
const GOODBYE_MS = 1000;

export class MainLink {
  private client: MqttClient | null = null;
  /** the client's TCP socket, to reset it (abort()); null over WebSocket */
  private socket: Socket | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = true;
  /** the attempt under way had its login refused */
  private attemptRefused = false;
  private attempt = 0;
  private session = 0;
  private lastError: string | null = null;
  /** why the attempt under way (or the link it made) ended, as said first in it; lastError spans
   * attempts, to keep a repeated reason out of the log */
  private attemptReason: string | null = null;
  private isUp = false;
  /** drops right after the link came up: another satellite with our device id (client-common.ts) */
  private readonly flaps = new FlapCounter(() =>
    this.o.logger.error(
      { code: 'main-link-flapping', device: this.o.device },
      `the link to the main unit drops right after it is made, again and again: is another satellite configured with the device id "${this.o.device}"? Two devices with one id take the link from each other`,
    ),
  );
  /** a refused login was said since the link was last up */
  private refusalSaid = false;
  private readonly topics: OfficeTopics;
  private readonly tls: { ca?: Buffer };

  constructor(private readonly o: MainLinkOptions) {
    this.topics = officeTopics(o.office);
    this.tls = {};
  }

  get up(): boolean {
    return this.isUp;
  }

  /** Reads the CA file (an unreadable one stops the start: a person must fix it) and connects. */
  start(): void {
    if (this.o.cfg.ca) {
      try {
        this.tls.ca = readFileSync(this.o.cfg.ca);
      } catch (err) {
        throw new LinkConfigError(`satellite.main.ca: cannot read ${this.o.cfg.ca}: ${(err as Error).message}`);
      }
    }
    this.stopped = false;
    void this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const client = this.client;
    this.client = null;
    const wasUp = this.isUp;
    this.isUp = false;
    if (!client) return;
    // Connected: say offline ourselves (retained), then a clean DISCONNECT (no will). A main unit
    // gone silent (a cable pulled without a word) never acknowledges it, and mqtt.js keeps waiting
    // until its keepalive gives up (1.5 x keepaliveSec, up to 90 s), past systemd's stop timeout;
    // a clean DISCONNECT waits for every publish in flight too. So it gets GOODBYE_MS, then the
    // connection is dropped: the broker then publishes our will, which says offline as well.
    if (wasUp && client.connected) {
      const offline = this.publishStatus(client, {
        v: 1,
        office: this.o.office,
        device: this.o.device,
        online: false,
        session: this.session,
      }).catch(() => undefined);
      await within(offline, GOODBYE_MS);
    }
    const clean = wasUp && client.connected && Object.keys(client.outgoing).length === 0;
    await new Promise<void>((resolve) => client.end(!clean, {}, () => resolve()));
  }

  /**
   * Publishes a command now, at QoS 1: resolves on its PUBACK, rejects when the link dropped first.
   * Returns null, and publishes nothing, when the link is down: the caller refuses the key at once.
   */
  send(cmd: Command): Promise<void> | null {
    const client = this.client;
    if (!this.isUp || !client?.connected) return null;
    return new Promise((resolve, reject) => {
      client.publish(this.topics.cmd, encodePayload<'cmd'>(cmd), { qos: 1, retain: false }, (err) =>
        err ? reject(err) : resolve(),
      );
    });
  }

  /**
   * Drops the connection now with a TCP reset (then reconnects as after any drop). A plain close
   * would still let the kernel send, and resend, whatever the connection holds: a command the
   * network did not carry yet would reach the main unit whenever the path comes back. A reset
   * throws it away. Over WebSocket the socket is ws's: it is only closed.
   */
  abort(reason: string): void {
    const client = this.client;
    if (!client) return;
    this.lastError = reason;
    this.attemptReason ??= reason;
    // the TCP socket as it is now: mqtt.js may have made its stream after the connect call
    const stream = client.stream;
    const tcp =
      this.socket && !this.socket.destroyed
        ? this.socket
        : stream instanceof Socket && !(stream instanceof TLSSocket) && !stream.destroyed
          ? stream
          : null;
    // `how` says whether what the connection held was thrown away (reset) or may still be sent (close)
    this.o.logger.warn(
      { code: 'main-link-reset', reason, how: tcp ? 'reset' : 'close' },
      'link to the main unit reset',
    );
    try {
      if (tcp) {
        tcp.resetAndDestroy();
        return;
      }
    } catch {
      // a socket that is not TCP: close it below
    }
    client.end(true);
  }

  /** Our presence again (a component's health changed). Nothing while the link is down. */
  republish(): void {
    const client = this.client;
    if (!this.isUp || !client) return;
    void this.publishStatus(client, this.o.birth(this.session)).catch(() => undefined);
  }

  private publishStatus(client: MqttClient, status: DeviceStatus): Promise<void> {
    return new Promise((resolve, reject) => {
      client.publish(
        this.topics.status(this.o.device),
        encodePayload<'status'>(status),
        { qos: 1, retain: true },
        (err) => (err ? reject(err) : resolve()),
      );
    });
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    this.attemptRefused = false;
    this.attemptReason = null;
    const { cfg, logger } = this.o;
    let session: number;
    try {
      session = await this.o.nextSession();
    } catch (err) {
      logger.error({ code: 'main-link-error', reason: (err as Error).message }, 'session number not written; retrying');
      this.attemptReason = `the session number could not be written: ${(err as Error).message}`;
      this.attemptEnded();
      this.schedule();
      return;
    }
    if (this.stopped) return;
    const mqtt = await loadMqtt();
    // Stopped while the client library loaded (the first attempt, right after the start): a client
    // made now would link and say we are online after the stop.
    if (this.stopped) return;
    const opts: IClientOptions = {
      protocolVersion: 4,
      clientId: this.o.device,
      username: cfg.username ?? this.o.device,
      ...passwordOption(cfg, { env: this.o.env ?? process.env, logger, missingCode: 'main-password-env-missing' }),
      clean: true,
      keepalive: cfg.keepaliveSec,
      reconnectPeriod: 0, // ours, with jitter (schedule()), each attempt a fresh client
      connectTimeout: 5000,
      resubscribe: false,
      queueQoSZero: false,
      rejectUnauthorized: cfg.rejectUnauthorized,
      ...this.tls,
      will: {
        topic: this.topics.status(this.o.device),
        payload: Buffer.from(
          encodePayload<'status'>({ v: 1, office: this.o.office, device: this.o.device, online: false, session }),
        ),
        qos: 1,
        retain: true,
      },
    };
    let client: MqttClient;
    let socket: Socket | null = null;
    try {
      // Over TLS the TCP socket is ours, handed to the TLS layer, so abort() can reset it.
      socket = tlsTarget(cfg.url);
      client = mqtt.connect(cfg.url, socket ? ({ ...opts, socket } as IClientOptions) : opts);
    } catch (err) {
      socket?.destroy();
      this.error(`could not start a connection: ${(err as Error).message}`);
      this.attemptEnded();
      this.schedule();
      return;
    }
    this.client = client;
    this.socket =
      socket ?? (client.stream instanceof Socket && !(client.stream instanceof TLSSocket) ? client.stream : null);
    client.on('connect', () => {
      if (client !== this.client) return;
      this.o.handlers.connected();
      const t = this.topics;
      client.subscribe([t.state, t.events, t.cmdResult, `${t.all.slice(0, -1)}devices/+/status`], { qos: 1 }, (err) => {
        if (client !== this.client) return;
        if (err) {
          this.error(`subscribe refused: ${err.message}`);
          client.end(true);
          return;
        }
        this.attempt = 0;
        this.lastError = null;
        this.refusalSaid = false;
        this.session = session;
        this.isUp = true;
        this.flaps.up();
        logger[this.flaps.count > 0 ? 'debug' : 'info'](
          { url: redactUrl(cfg.url), session },
          'linked to the main unit',
        );
        void this.publishStatus(client, this.o.birth(session)).catch(() => undefined);
        this.o.handlers.up();
      });
    });
    client.on('message', (topic, payload) => {
      if (client === this.client) this.message(topic, payload);
    });
    client.on('error', (err: Error & { code?: unknown }) => {
      if (client !== this.client) return;
      // CONNACK 4 (bad user name or password) or 5 (not authorized)
      if (err.code === 4 || err.code === 5) this.refused(err.message);
      else this.error(err.message);
    });
    client.on('close', () => {
      if (client !== this.client) return;
      this.client = null;
      this.socket = null;
      // Never reused: what mqtt.js still holds for it (an unacknowledged key) dies with it.
      client.end(true);
      if (this.isUp) {
        this.isUp = false;
        this.flapped();
        logger[this.flaps.count > 1 ? 'debug' : 'warn']({ code: 'main-link-down' }, 'link to the main unit lost');
        this.o.handlers.down(this.attemptReason ?? 'the main unit closed the connection');
      } else {
        this.attemptEnded();
      }
      this.schedule();
    });
  }

  private message(topic: string, payload: Buffer): void {
    const t = parseTopic(topic);
    if (!t || t.office !== this.o.office) return;
    let doc: unknown;
    try {
      doc = JSON.parse(payload.toString('utf8'));
    } catch {
      // An empty retained message (a cleared status) or garbage: nothing to show.
      return;
    }
    if (doc === null || typeof doc !== 'object') return;
    const h = this.o.handlers;
    switch (t.kind) {
      case 'state':
        h.state(doc as Snapshot);
        break;
      case 'events':
        h.event(doc as QueueEvent);
        break;
      case 'cmd/result':
        h.result(doc as CommandResult);
        break;
      case 'status':
        h.status(doc as DeviceStatus);
        break;
    }
  }

  /** A link that drops again within FLAP_MS of coming up, again and again (two satellites given
   * one device id take the client id from each other; a main unit refusing us after the CONNACK):
   * each reconnect waits longer, as failed attempts do, and it is said once, not three lines and a
   * session write to the card every second. */
  private flapped(): void {
    const drops = this.flaps.dropped();
    if (drops > 0) this.attempt = drops;
  }

  /** A wrong password retries for ever and never fixes itself: an installer reading `npm run status`
   * saw only DISCONNECTED, as for a cable, and the log's one warning among the retries. Said once
   * at error level with what to check, and reported to the status. */
  private refused(reason: string): void {
    const username = this.o.cfg.username ?? this.o.device;
    this.lastError = reason;
    this.attemptReason ??= reason;
    this.o.logger[this.refusalSaid ? 'debug' : 'error'](
      { code: 'main-link-refused', reason, username },
      `the main unit refused this satellite's login as "${username}": check satellite.main.password (or the variable passwordEnv names) against that account's passwordHash on the main unit, and that the account exists there`,
    );
    this.refusalSaid = true;
    this.attemptRefused = true;
    this.o.handlers.refused?.();
  }

  /** An attempt that ended without the link coming up: the status says why (a satellite whose main
   * unit could not be reached said only DISCONNECTED, the reason in the log alone). A refused
   * login has its own word (`refused`). */
  private attemptEnded(): void {
    if (this.stopped || this.attemptRefused) return;
    this.o.handlers.failed?.(this.attemptReason ?? 'the main unit closed the connection before the link was made');
  }

  private error(reason: string): void {
    // A main unit away for an hour must not flood the log: a repeated reason goes to debug.
    const level = reason === this.lastError ? 'debug' : 'warn';
    this.lastError = reason;
    this.attemptReason ??= reason;
    this.o.logger[level]({ code: 'main-link-error', reason }, 'main unit link error');
  }

  private schedule(): void {
    if (this.stopped || this.timer) return;
    const { reconnectMinMs, reconnectMaxMs } = this.o.cfg;
    // Equal jitter, so a floor of satellites does not reconnect at once.
    const wait = backoffDelay(this.attempt, reconnectMinMs, reconnectMaxMs, (this.o.random ?? Math.random)());
    this.attempt++;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.connect();
    }, wait);
  }
}

/** For an mqtts:// (tls://, ssl://) URL, a TCP connection to its host and port; null otherwise. */
function tlsTarget(url: string): Socket | null {
  const u = new URL(url);
  if (!['mqtts:', 'tls:', 'ssl:'].includes(u.protocol)) return null;
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return connectTcp({ host, port: u.port ? Number(u.port) : 8883 });
}
