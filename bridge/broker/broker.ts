// The embedded broker (aedes, MQTT 3.1.1): accounts with scrypt hashes and the ACL of ./acl.ts;
// the listeners are in ./listeners.ts. The daemon publishes and subscribes in-process.
import type { Aedes, AedesOptions, AedesPublishPacket, AuthenticateError, Client } from 'aedes';
import type { Logger } from 'pino';
import type { BrokerConfig } from '../../device/config/mqtt-schema.ts';
import { type Account, mayPublish, mayRead, maySubscribe } from './acl.ts';
import { type ListenerPorts, type Listeners, openListeners } from './listeners.ts';
import { Authenticator, type StoredAccount } from './authenticator.ts';
import { hashPassword } from './passwords.ts';

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

const CONNACK_TEXT = { 2: 'identifier rejected', 3: 'server unavailable', 4: 'bad user name or password' };

function authError(returnCode: keyof typeof CONNACK_TEXT): AuthenticateError {
  const err = new Error(CONNACK_TEXT[returnCode]) as AuthenticateError;
  err.returnCode = returnCode as AuthenticateError['returnCode'];
  return err;
}

export async function startBroker(cfg: BrokerConfig, logger: Logger): Promise<EmbeddedBroker> {
  checkBrokerConfig(cfg);
  const log = logger.child({ part: 'broker' });
  const accounts = await loadAccounts(cfg);
  const byClient = new WeakMap<Client, Account>();
  const aedes = await createAedes(
    cfg,
    {
      ...(await loginHooks(accounts, byClient, log)),
      ...aclHooks(byClient, log),
    },
    log,
  );
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
  }
  return brokerApi(aedes, listeners);
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

type Hooks = Pick<AedesOptions, 'authenticate' | 'authorizePublish' | 'authorizeSubscribe' | 'authorizeForward'>;

async function createAedes(cfg: BrokerConfig, hooks: Hooks, log: Logger): Promise<Aedes> {
  const { Aedes } = await import('aedes');
  const aedes = await Aedes.createBroker({
    // A frozen subscriber must not stall delivery to everyone else (aedes docs on concurrency).
    drainTimeout: 10_000,
    queueLimit: 100,
    connectTimeout: cfg.limits.connectTimeoutMs,
    maxClientsIdLength: 64,
    ...hooks,
  });
  aedes.on('clientError', (client, err) => log.debug({ clientId: client.id, err: err.message }, 'client error'));
  return aedes;
}

/** Logins (./authenticator.ts): the account of each client, for the ACL. */
async function loginHooks(
  accounts: Map<string, StoredAccount>,
  byClient: WeakMap<Client, Account>,
  log: Logger,
): Promise<Pick<Hooks, 'authenticate'>> {
  const auth = await Authenticator.create({ accounts });
  return {
    authenticate(client, username, password, done) {
      const conn = client.conn as { remoteAddress?: string; destroyed?: boolean };
      const cancelled = () => client.closed || conn.destroyed === true;
      void auth.login({ username, password, source: conn.remoteAddress, cancelled }).then((r) => {
        if (!r.ok) {
          log.warn({ code: r.code, clientId: client.id, username, source: conn.remoteAddress }, 'connection refused');
          done(authError(r.returnCode), false);
          return;
        }
        byClient.set(client, r.account);
        done(null, true);
      });
    },
  };
}

/** The ACL of ./acl.ts, applied to each publish, subscription and delivery. */
function aclHooks(byClient: WeakMap<Client, Account>, log: Logger): Omit<Hooks, 'authenticate'> {
  return {
    authorizePublish(client, packet, callback) {
      // Wills pass through here too (client null when it outlived its client): same rule for all.
      const account = client ? byClient.get(client) : undefined;
      if (packet.topic.startsWith('$SYS/') || !account || !mayPublish(account, packet.topic)) {
        log.warn({ code: 'mqtt-publish-denied', clientId: client?.id, topic: packet.topic }, 'publish denied');
        callback(new Error('publish not authorized'));
        return;
      }
      callback(null);
    },
    authorizeSubscribe(client, sub, callback) {
      const account = byClient.get(client);
      if (!account || !maySubscribe(account, sub.topic)) {
        log.warn({ code: 'mqtt-subscribe-denied', clientId: client.id, topic: sub.topic }, 'subscribe denied');
        callback(null, null); // SUBACK 0x80 for this filter, connection stays
        return;
      }
      callback(null, sub);
    },
    authorizeForward(client, packet) {
      const account = byClient.get(client);
      return account && mayRead(account, packet.topic) ? packet : null;
    },
  };
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
function brokerApi(aedes: Aedes, listeners: Listeners): EmbeddedBroker {
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
      // Clients first (aedes.close ends every connection), then the listening sockets.
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await listeners.close();
    },
  };
}
