// The embedded broker (aedes, MQTT 3.1.1): TCP, WebSocket and optional TLS listeners, accounts
// with scrypt hashes, and the ACL of ./acl.ts. The daemon publishes and subscribes in-process.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { Aedes, AedesPublishPacket, AuthenticateError, Client } from 'aedes';
import type { Logger } from 'pino';
import { createWebSocketStream, WebSocketServer } from 'ws';
import type { BrokerConfig } from '../../device/config/mqtt-schema.ts';
import { type Account, mayPublish, mayRead, maySubscribe } from './acl.ts';
import { hashPassword, verifyPassword } from './passwords.ts';

export interface EmbeddedBroker {
  readonly ports: { tcp: number; ws: number | null; tls: number | null };
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

interface StoredAccount extends Account {
  passwordHash: string;
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

function authError(message: string): AuthenticateError {
  const err = new Error(message) as AuthenticateError;
  err.returnCode = 4 as AuthenticateError['returnCode']; // bad user name or password
  return err;
}

export async function startBroker(cfg: BrokerConfig, logger: Logger): Promise<EmbeddedBroker> {
  checkBrokerConfig(cfg);
  const log = logger.child({ part: 'broker' });
  const accounts = new Map<string, StoredAccount>(cfg.accounts.map((a) => [a.username, a]));
  if (cfg.demo && !accounts.has('central')) {
    accounts.set('central', {
      username: 'central',
      role: 'central',
      offices: ['*'],
      passwordHash: await hashPassword('central', { N: 1024, r: 8, p: 1 }),
    });
  }
  const byClient = new WeakMap<Client, Account>();
  const dummyHash = await hashPassword(randomUUID());

  const { Aedes } = await import('aedes');
  const aedes: Aedes = await Aedes.createBroker({
    // A frozen subscriber must not stall delivery to everyone else (aedes docs on concurrency).
    drainTimeout: 10_000,
    queueLimit: 100,
    maxClientsIdLength: 64,
    authenticate(client, username, password, done) {
      const account = username === undefined ? undefined : accounts.get(username);
      if (!account || !password) {
        // Spend the same scrypt time for an unknown name, so timing does not reveal which names exist.
        void verifyPassword(password?.toString('utf8') ?? '', dummyHash).finally(() => {
          log.warn(
            { code: 'mqtt-auth-refused', clientId: client.id, anonymous: username === undefined },
            'connection refused',
          );
          done(authError('bad user name or password'), false);
        });
        return;
      }
      verifyPassword(password.toString('utf8'), account.passwordHash).then(
        (ok) => {
          if (!ok) {
            log.warn({ code: 'mqtt-auth-refused', clientId: client.id, username }, 'connection refused');
            done(authError('bad user name or password'), false);
            return;
          }
          byClient.set(client, account);
          done(null, true);
        },
        (err) => done(authError(String(err)), false),
      );
    },
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
  });
  aedes.on('clientError', (client, err) => log.debug({ clientId: client.id, err: err.message }, 'client error'));

  const servers: Array<Server | HttpServer> = [];
  const listen = (server: Server | HttpServer, port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'EADDRINUSE' || err.code === 'EACCES' || err.code === 'EADDRNOTAVAIL') {
          reject(
            new BrokerConfigError(
              'broker-listen-failed',
              `cannot listen on ${cfg.host}:${port} (${err.code}): another broker may hold the port; set mqtt.broker.port/wsPort (or --broker-port/--ws-port), or turn the embedded broker off`,
            ),
          );
        } else reject(err);
      });
      server.listen(port, cfg.host, () => {
        server.off('error', reject);
        servers.push(server);
        resolve((server.address() as AddressInfo).port);
      });
    });

  let wss: WebSocketServer | null = null;
  try {
    const tcp = await listen(createNetServer(aedes.handle), cfg.port);
    let ws: number | null = null;
    if (cfg.wsPort !== null) {
      const http = createHttpServer((_req, res) => {
        res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket only\n');
      });
      // Commands are capped at a few KiB; nothing a client may send needs bigger frames.
      wss = new WebSocketServer({ server: http, maxPayload: 256 * 1024 });
      wss.on('connection', (socket, req) => {
        aedes.handle(createWebSocketStream(socket), req);
      });
      ws = await listen(http, cfg.wsPort);
    }
    let tls: number | null = null;
    if (cfg.tls) {
      const server = createTlsServer(
        {
          cert: readFileSync(cfg.tls.cert),
          key: readFileSync(cfg.tls.key),
          ...(cfg.tls.ca ? { ca: readFileSync(cfg.tls.ca) } : {}),
        },
        aedes.handle,
      );
      tls = await listen(server, cfg.tls.port);
    }
    log.info({ host: cfg.host, tcp, ws, tls, accounts: accounts.size, demo: cfg.demo }, 'embedded broker listening');
    if (!isLoopback(cfg.host) && !cfg.tls) {
      log.warn(
        { code: 'broker-no-tls', host: cfg.host },
        'listening beyond loopback without TLS: passwords cross the LAN in clear',
      );
    }
    return {
      ports: { tcp, ws, tls },
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
        await closeAll(aedes, wss, servers);
      },
    };
  } catch (err) {
    await closeAll(aedes, wss, servers);
    throw err;
  }
}

async function closeAll(aedes: Aedes, wss: WebSocketServer | null, servers: Array<Server | HttpServer>): Promise<void> {
  for (const c of wss?.clients ?? []) c.terminate();
  wss?.close();
  await new Promise<void>((resolve) => aedes.close(() => resolve()));
  await Promise.all(
    servers.map(
      (s) =>
        new Promise<void>((resolve) => {
          (s as Server).close(() => resolve());
          (s as HttpServer).closeAllConnections?.();
        }),
    ),
  );
}
