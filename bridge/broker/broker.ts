// The embedded broker (aedes, MQTT 3.1.1): logins in ./login.ts, the ACL of ./acl.ts, the
// listeners and their limits in ./listeners.ts. The daemon publishes and subscribes in-process.
import type { Aedes, AedesOptions, AedesPublishPacket, Client } from 'aedes';
import type { Logger } from 'pino';
import type { BrokerConfig } from '../../device/config/mqtt-schema.ts';
import {
  type Account,
  isRetainedCommand,
  mayPublish,
  mayRead,
  maySubscribe,
  payloadFor,
  type SatelliteRefusal,
  satelliteCommandEcho,
  satelliteCommandRefusal,
  satelliteStatusProblem,
} from './acl.ts';
import { parseTopic } from '../contract/topics.ts';
import { type ListenerPorts, type Listeners, openListeners } from './listeners.ts';
import type { StoredAccount } from './authenticator.ts';
import { MAX_CLIENT_ID_BYTES } from './client-ids.ts';
import { createLogin } from './login.ts';
import type { QueuePersistence } from './sessions.ts';
import { hashPassword } from './passwords.ts';
import { clip, clipName } from '../log-names.ts';
import { RateLimitedLog } from '../../device/util/rate-limited-log.ts';
import { RepeatDeliveries } from './repeat-deliveries.ts';
import { PublishRates } from './publish-rates.ts';
import { SubscriptionLimit } from './subscriptions.ts';

export interface EmbeddedBroker {
  readonly ports: ListenerPorts;
  /** Publish as the daemon (bypasses the ACL). Resolves when handed to subscribers. */
  publish(topic: string, payload: string | Buffer, opts: { qos: 0 | 1; retain: boolean }): Promise<void>;
  /** Messages published by clients that passed the ACL. */
  onMessage(topic: string, fn: (payload: Buffer, clientId: string | null) => void): Promise<void>;
  close(): Promise<void>;
}

export class BrokerConfigError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Refuse configurations that would expose the queue: checked before anything listens. */
export function checkBrokerConfig(cfg: BrokerConfig): void {
  if (isLoopback(cfg.host)) return;
  if (cfg.demo) {
    throw new BrokerConfigError(
      'broker-demo-exposed',
      `the demo account (central/central) works on loopback only; set mqtt.broker.demo=false or bind mqtt.broker.host to 127.0.0.1 (now ${cfg.host})`,
    );
  }
  if (cfg.accounts.length === 0) {
    throw new BrokerConfigError(
      'broker-open-listener',
      `refusing to listen on ${cfg.host} without accounts: add mqtt.broker.accounts (passwords from \`npm run hash-password\`) or bind 127.0.0.1`,
    );
  }
}

/** Where the daemon carries out the commands clients publish on its cmd topic (bridge/index.ts).
 * Run from authorizePublish, before aedes writes the publisher's PUBACK: a command is acknowledged
 * only once run() resolved, that is once its result is durable. */
export interface CommandGate {
  topic: string;
  /** `account`: the user name of the account that published it (its ids of the day are counted) */
  run(payload: Buffer, clientId: string | null, account?: string): Promise<void>;
  /** A command the ACL refused after reading its payload (a satellite's, for a counter its account
   * is not bound to): not carried out, answered on cmd/result; the publisher stays connected. */
  refuse(refusal: CommandRefusal): Promise<void>;
}

export type CommandRefusal = SatelliteRefusal;

/** Over its command allowance, a satellite's first keys on a connection are answered on cmd/result
 * (`rate-limited`: the clerk reads that the key was not carried out, and why) and the connection
 * stays; the next one closes it, as any refused publish does. A flood pays a login for each few. */
const RATE_REFUSALS_ANSWERED = 3;

export async function startBroker(
  cfg: BrokerConfig,
  logger: Logger,
  opts: { commands?: CommandGate } = {},
): Promise<EmbeddedBroker> {
  checkBrokerConfig(cfg);
  const log = logger.child({ sink: 'broker' });
  const accounts = await loadAccounts(cfg);
  const byClient = new WeakMap<Client, Account>();
  const login = await createLogin(accounts, byClient, log, {
    connectionsPerAccount: cfg.limits.connectionsPerAccount,
    sessions: {
      maxQueued: cfg.limits.sessionQueue,
      expiryMs: cfg.limits.sessionExpiryMinutes * 60_000,
      perAccount: cfg.limits.sessionsPerAccount,
      maxUnreleased: cfg.limits.inflightInbound,
    },
  });
  // aedes's own default persistence (memory), its queues bounded (./sessions.ts)
  const memoryPersistence = (await import('aedes-persistence')).default as unknown as () => QueuePersistence;
  const subscriptions = new SubscriptionLimit(cfg.limits.subscriptionsPerClient);
  // A satellite's command refused here: answered, and held back from every other reader (aclHooks)
  const refusedCommands = new WeakSet<object>();
  const persistence = storeGrantedOnly(
    queueNoRefused(login.sessions.wrap(memoryPersistence()), refusedCommands),
    subscriptions,
  );
  const clientLog = new RateLimitedLog(log);
  const repeats = new RepeatDeliveries();
  const stopping = new StopGate();
  const aedes = await createAedes(
    cfg,
    {
      ...login.hooks,
      preConnect(client, packet, done) {
        repeats.adopt(client);
        login.hooks.preConnect!(client, packet, done);
      },
      ...aclHooks({
        byClient,
        subscriptions,
        repeats,
        clientLog,
        publishRates: new PublishRates({
          commandBurst: cfg.limits.satelliteCommandBurst,
          commandsPerMinute: cfg.limits.satelliteCommandsPerMinute,
          centralCommandBurst: cfg.limits.centralCommandBurst,
          centralCommandsPerMinute: cfg.limits.centralCommandsPerMinute,
        }),
        commands: opts.commands,
        stopping,
        refusedCommands,
      }),
    },
    persistence as unknown as AedesOptions['persistence'],
    log,
  );
  aedes.on('clientDisconnect', login.clientGone);
  aedes.on('unsubscribe', (filters, client) => subscriptions.release(client, filters));
  const listeners = await listenOrClose(cfg, aedes, log);
  log.info(
    { host: cfg.host, ...listeners.ports, accounts: accounts.size, demo: cfg.demo },
    'embedded broker listening',
  );
  if (!isLoopback(cfg.host) && !cfg.tls) {
    log.warn(
      { code: 'broker-no-tls', host: cfg.host },
      'listening beyond loopback without TLS: passwords cross the LAN in clear',
    );
  } else if (!isLoopback(cfg.host) && (listeners.ports.tcp !== null || listeners.ports.ws !== null)) {
    log.warn(
      { code: 'broker-plaintext-lan', host: cfg.host, tcp: listeners.ports.tcp, ws: listeners.ports.ws },
      'TLS is on, but MQTT or WebSocket also listens in clear beyond loopback: a client that uses them sends its password in clear; set mqtt.broker.port and wsPort to null',
    );
  }
  return brokerApi(aedes, listeners, stopping, () => {
    login.close();
    clientLog.close();
  });
}

/** A refused command (its payload in `refused`) is not queued for a persistent session away: held
 * back at delivery anyway, it took a place of the session's bounded queue (limits.sessionQueue),
 * and a satellite's allowance of refusals an hour could crowd out what the session is there for. */
function queueNoRefused<P extends QueuePersistence>(p: P, refused: WeakSet<object>): P {
  const held = (packet: unknown): boolean => {
    const payload = (packet as { payload?: unknown }).payload;
    return typeof payload === 'object' && payload !== null && refused.has(payload);
  };
  const one = p.outgoingEnqueue.bind(p);
  const combi = p.outgoingEnqueueCombi.bind(p);
  p.outgoingEnqueue = async (sub, packet) => (held(packet) ? undefined : one(sub, packet));
  p.outgoingEnqueueCombi = async (subs, packet) => (held(packet) ? undefined : combi(subs, packet));
  return p;
}

/** aedes stores every filter of a persistent session's SUBSCRIBE packet, those it refused too
 * (aedes 1.2, storeSubscriptions): only the granted ones are kept here. */
function storeGrantedOnly<P extends QueuePersistence>(p: P, subscriptions: SubscriptionLimit): P {
  const q = p as P & { addSubscriptions(client: Client, subs: Array<{ topic: string }>): Promise<void> };
  const add = q.addSubscriptions.bind(q);
  q.addSubscriptions = (client, subs) => add(client, subscriptions.grantedOf(client, subs));
  return q;
}

/** The configured accounts, and the simulator's demo account when it is on. */
async function loadAccounts(cfg: BrokerConfig): Promise<Map<string, StoredAccount>> {
  const accounts = new Map<string, StoredAccount>(cfg.accounts.map((a) => [a.username, a]));
  if (cfg.demo && !accounts.has('central')) {
    accounts.set('central', {
      username: 'central',
      role: 'central',
      offices: ['*'],
      passwordHash: await hashPassword('central', { N: 1024, r: 8, p: 1 }),
    });
  }
  return accounts;
}

type Hooks = Pick<
  AedesOptions,
  'preConnect' | 'authenticate' | 'authorizePublish' | 'authorizeSubscribe' | 'authorizeForward'
>;

async function createAedes(
  cfg: BrokerConfig,
  hooks: Hooks,
  persistence: AedesOptions['persistence'],
  log: Logger,
): Promise<Aedes> {
  const { Aedes } = await import('aedes');
  const aedes = await Aedes.createBroker({
    persistence,
    // QoS 2 publishes a client may leave waiting for their PUBREL: each holds its packet (up to
    // limits.maxPacketBytes), and aedes's 1,000 let one connection hold 64 MB. aedes counts them
    // per connection; ./sessions.ts counts them per session (what a resumed session kept counts),
    // refuses first and logs it: aedes's bound, one above, is only a backstop.
    maxInflightInbound: cfg.limits.inflightInbound + 1,
    // Only a fallback: the listeners' guard never lets aedes wait for a client's drain
    // (./connection-guard.ts drops a client that stops reading instead).
    drainTimeout: 10_000,
    queueLimit: 100,
    connectTimeout: cfg.limits.connectTimeoutMs,
    maxClientsIdLength: MAX_CLIENT_ID_BYTES, // MQTT 3.1 only; ./login.ts checks every level
    ...hooks,
  });
  aedes.on('clientError', (client, err) => {
    if ('errorCode' in err) return; // a refused login: ./login.ts logged it
    log.debug({ clientId: clipName(client.id), err: err.message }, 'client error');
  });
  return aedes;
}

/** The ACL of ./acl.ts, applied to each publish, subscription and delivery. */
function aclHooks(o: {
  byClient: WeakMap<Client, Account>;
  subscriptions: SubscriptionLimit;
  repeats: RepeatDeliveries;
  publishRates: PublishRates;
  /** a client chooses how often it is refused: these warnings are summed up, not one a refusal */
  clientLog: RateLimitedLog;
  commands?: CommandGate | undefined;
  stopping: StopGate;
  /** the payloads of satellite commands refused here */
  refusedCommands: WeakSet<object>;
}): Omit<Hooks, 'preConnect' | 'authenticate'> {
  const { byClient, clientLog: log, commands } = o;
  const rateAnswers = new WeakMap<Client, number>();
  // A satellite's command refused here is answered on cmd/result and, under MQTT 3.1.1, still
  // acknowledged (refusing one publish would close the connection): aedes then delivered it to
  // every other reader of cmd (a central account on this broker), so a stolen satellite password
  // put a command the office refused in front of central. Its payload, the same object aedes
  // hands on, is held back from every reader here, and from a persistent session's queue by
  // queueNoRefused.
  const { refusedCommands } = o;
  /** The refusal to answer for a satellite's command over its allowance, or null: close instead. */
  const rateRefusal = (client: Client | null, account: Account, payload: Buffer): SatelliteRefusal | null => {
    const answered = client ? (rateAnswers.get(client) ?? 0) : RATE_REFUSALS_ANSWERED;
    if (!client || !commands || answered >= RATE_REFUSALS_ANSWERED) return null;
    // only a command of its own is answered: the id is echoed on cmd/result
    const echo = satelliteCommandEcho(account, payload);
    if (echo.id === null) return null;
    rateAnswers.set(client, answered + 1);
    return {
      ...echo,
      code: 'rate-limited',
      message:
        account.role === 'satellite'
          ? `keys faster than this unit's allowance (limits.satelliteCommandsPerMinute per counter): not carried out`
          : `commands faster than this account's allowance on the office's broker (limits.centralCommandsPerMinute): not carried out; retry later with the same id`,
    };
  };
  return {
    authorizePublish(client, packet, callback) {
      // The daemon is stopping: aedes.close() ends every connection without its DISCONNECT, so it
      // publishes every client's will through here. A will on `cmd` (a central's or a satellite's
      // "if I vanish" command) was carried out then, at every stop and restart of the daemon,
      // though no client had vanished, and its result could no longer be published. Nothing a
      // client sends is carried out once the broker is closing.
      if (o.stopping.closing) {
        callback(new Error('the broker is stopping'));
        return;
      }
      // Wills pass through here too (client null when it outlived its client): same rule for all.
      // A refusal closes the connection: MQTT 3.1.1 has no way to refuse a single publish.
      const account = client ? byClient.get(client) : undefined;
      const badStatus = account ? satelliteStatusProblem(account, packet.topic, packet.payload as Buffer) : null;
      const refused =
        packet.topic.startsWith('$SYS/') || !account || !mayPublish(account, packet.topic)
          ? 'mqtt-publish-denied'
          : isRetainedCommand(packet.topic, packet.retain)
            ? 'mqtt-retained-command'
            : badStatus
              ? 'mqtt-status-invalid'
              : null;
      if (refused) {
        log.warn(
          refused,
          {
            clientId: clipName(client?.id),
            topic: clipName(packet.topic, 200),
            ...(badStatus ? { why: badStatus } : {}),
          },
          'publish refused',
        );
        callback(new Error('publish not authorized'));
        return;
      }
      const kind = account?.role === 'satellite' ? parseTopic(packet.topic)?.kind : undefined;
      const centralOver =
        account?.role === 'central' &&
        packet.topic === commands?.topic &&
        !o.publishRates.takeCentral(account.username);
      if (
        centralOver ||
        ((kind === 'cmd' || kind === 'status') &&
          !o.publishRates.take(account!.username, kind, account!.counters?.length ?? 0))
      ) {
        const what = account!.role === 'central' ? 'central account' : 'satellite';
        const limit =
          account!.role === 'central' ? 'limits.centralCommandsPerMinute' : 'limits.satelliteCommandsPerMinute';
        const answer =
          (centralOver || kind === 'cmd') && packet.topic === commands?.topic
            ? rateRefusal(client, account!, packet.payload as Buffer)
            : null;
        if (answer && commands) {
          refusedCommands.add(packet.payload as Buffer);
          // its own code: summed up apart from the closes (one summary per code and 10 s)
          log.warn(
            'mqtt-rate-answered',
            { clientId: clipName(client?.id), user: clip(account!.username), cmdId: clip(answer.id ?? undefined) },
            `${what} over its command rate (${limit}): refused on cmd/result, still connected`,
          );
          commands.refuse(answer).then(
            () => callback(null),
            (err: Error) => callback(err),
          );
          return;
        }
        log.warn(
          'mqtt-publish-rate',
          { clientId: clipName(client?.id), user: clip(account!.username), topic: clipName(packet.topic, 200) },
          kind === 'status'
            ? 'satellite over its status rate: connection closed'
            : `${what} over its command rate (${limit}): connection closed`,
        );
        callback(new Error('publish rate exceeded'));
        return;
      }
      if (commands && packet.topic === commands.topic && account?.role === 'satellite') {
        // A satellite commands only its own counters: checked in the payload, not only the topic.
        const refusal = satelliteCommandRefusal(account, packet.payload as Buffer);
        if (refusal) {
          refusedCommands.add(packet.payload as Buffer);
          log.warn(
            refusal.code,
            { clientId: clipName(client?.id), user: clip(account.username), cmdId: clip(refusal.id ?? undefined) },
            'satellite command refused',
          );
          commands.refuse(refusal).then(
            () => callback(null),
            (err: Error) => callback(err),
          );
          return;
        }
      }
      if (commands && packet.topic === commands.topic) {
        commands.run(packet.payload as Buffer, client?.id ?? null, account?.username).then(
          () => callback(null),
          (err: Error) => callback(err),
        );
        return;
      }
      callback(null);
    },
    authorizeSubscribe(client, sub, callback) {
      const account = byClient.get(client);
      const refused =
        !account || !maySubscribe(account, sub.topic)
          ? 'mqtt-subscribe-denied'
          : !o.subscriptions.take(client, sub.topic)
            ? 'mqtt-too-many-subscriptions'
            : null;
      if (refused) {
        log.warn(
          refused,
          { clientId: clipName(client.id), topic: clipName(sub.topic, 200) },
          refused === 'mqtt-subscribe-denied'
            ? 'subscribe denied: the filter matches nothing this account may read'
            : 'subscribe denied: the connection holds limits.subscriptionsPerClient filters already',
        );
        callback(null, null); // SUBACK 0x80 for this filter, connection stays
        return;
      }
      callback(null, sub);
    },
    authorizeForward(client, packet) {
      if (typeof packet.payload === 'object' && refusedCommands.has(packet.payload)) return null;
      if (o.repeats.isRepeat(client, packet)) return null;
      const account = byClient.get(client);
      if (!account || !mayRead(account, packet.topic, packet.payload)) return null;
      const payload = payloadFor(account, packet.topic, packet.payload as Buffer);
      // a copy: the same packet goes on to the other subscribers
      return payload === packet.payload ? packet : { ...packet, payload };
    },
  };
}

/** Set once the broker has begun to close: its clients' publishes, wills included, are refused. */
class StopGate {
  closing = false;
}

async function listenOrClose(cfg: BrokerConfig, aedes: Aedes, log: Logger): Promise<Listeners> {
  try {
    return await openListeners(cfg, aedes, log);
  } catch (err) {
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    throw err;
  }
}

/** What the bridge sees: in-process publish and subscribe, and close. */
/** `closed`: let go of what the broker's hooks hold (timers, pending log summaries). */
function brokerApi(aedes: Aedes, listeners: Listeners, stopping: StopGate, closed: () => void): EmbeddedBroker {
  return {
    ports: listeners.ports,
    publish(topic, payload, opts) {
      return new Promise((resolve, reject) => {
        aedes.publish(
          {
            cmd: 'publish',
            topic,
            payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
            qos: opts.qos,
            retain: opts.retain,
            dup: false,
          },
          (err) => (err ? reject(err) : resolve()),
        );
      });
    },
    onMessage(topic, fn) {
      return new Promise((resolve) => {
        aedes.subscribe(
          topic,
          (packet: AedesPublishPacket, cb: () => void) => {
            fn(packet.payload as Buffer, (packet as { clientId?: string }).clientId ?? null);
            cb();
          },
          resolve,
        );
      });
    },
    async close() {
      // From now on no publish of a client is taken: not the wills aedes.close() publishes.
      stopping.closing = true;
      // Clients first (aedes.close ends every connection), then the listening sockets.
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await listeners.close();
      closed();
    },
  };
}
