// The simulated central system's broker (aedes, MQTT 3.1.1): TCP for the offices' uplinks and
// WebSocket for the central page in the browser, accounts from sim/central/accounts.yaml (scrypt
// hashes, as the embedded broker's), the ACL of ./acl.ts. Loopback only: it is a stand-in.
// Client ids and topics a client chose are logged as the embedded broker logs them (clipName: a
// phone or resident number typed as an id, or a name in a topic, never reaches the log).
import { readFile } from 'node:fs/promises';
import type { Aedes, AuthenticateError, Client } from 'aedes';
import type { Logger } from 'pino';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { type Listeners, openListeners } from '../../bridge/broker/listeners.ts';
import { clipName } from '../../bridge/log-names.ts';
import { accountSchema, brokerSchema } from '../../device/config/mqtt-schema.ts';
import { verifyPassword } from '../../bridge/broker/passwords.ts';
import { type CentralAccount, mayPublish, mayRead } from './acl.ts';

const accountsFile = z.strictObject({
  accounts: z.array(
    z.strictObject({
      username: z.string().min(1).max(64),
      passwordHash: accountSchema.shape.passwordHash,
      role: z.enum(['central', 'office']),
      offices: z.array(z.string()).min(1),
    }),
  ),
});
type StoredAccount = z.infer<typeof accountsFile>['accounts'][number];

export async function readAccounts(file: string): Promise<StoredAccount[]> {
  const parsed = accountsFile.safeParse(parseYaml(await readFile(file, 'utf8')));
  if (!parsed.success) {
    throw Object.assign(
      new Error(`${file}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`),
      {
        code: 'central-accounts-invalid',
      },
    );
  }
  return parsed.data.accounts;
}

export interface CentralBroker {
  ports: { tcp: number; ws: number };
  close(): Promise<void>;
}

export async function startCentralBroker(
  opts: { accounts: StoredAccount[]; tcpPort: number; wsPort: number },
  logger: Logger,
): Promise<CentralBroker> {
  const log = logger.child({ part: 'central-broker' });
  const accounts = new Map(opts.accounts.map((a) => [a.username, a]));
  const byClient = new WeakMap<Client, CentralAccount>();
  const { Aedes } = await import('aedes');
  const aedes: Aedes = await Aedes.createBroker({
    drainTimeout: 10_000,
    authenticate(client, username, password, done) {
      const account = username === undefined ? undefined : accounts.get(username);
      const refuse = (): void => {
        log.warn({ code: 'mqtt-auth-refused', clientId: clipName(client.id) }, 'connection refused');
        const err = new Error('bad user name or password') as AuthenticateError;
        err.returnCode = 4 as AuthenticateError['returnCode'];
        done(err, false);
      };
      if (!account || !password) return refuse();
      verifyPassword(password.toString('utf8'), account.passwordHash).then(
        (ok) => {
          if (!ok) return refuse();
          byClient.set(client, account);
          log.info({ clientId: clipName(client.id), username }, 'client connected');
          done(null, true);
        },
        () => refuse(),
      );
    },
    authorizePublish(client, packet, callback) {
      const account = client ? byClient.get(client) : undefined;
      if (packet.topic.startsWith('$SYS/') || !account || !mayPublish(account, packet.topic)) {
        log.warn(
          { code: 'mqtt-publish-denied', clientId: clipName(client?.id), topic: clipName(packet.topic, 200) },
          'publish denied',
        );
        callback(new Error('publish not authorized'));
        return;
      }
      callback(null);
    },
    authorizeSubscribe(_client, sub, callback) {
      callback(null, sub.topic.startsWith('$') ? null : sub);
    },
    authorizeForward(client, packet) {
      const account = byClient.get(client);
      return account && mayRead(account, packet.topic) ? packet : null;
    },
  });
  let listeners: Listeners;
  try {
    // The same listeners as the office's embedded broker (loopback only here). Every simulated
    // office comes from 127.0.0.1, where a city's offices come from addresses of their own: one
    // source may fill the pending bound, as before it was shared per source.
    const limits = { pendingPerSource: 32, pendingConnections: 32 };
    listeners = await openListeners(brokerSchema.parse({ port: opts.tcpPort, wsPort: opts.wsPort, limits }), aedes);
  } catch (err) {
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    throw err;
  }
  const tcp = listeners.ports.tcp!;
  const ws = listeners.ports.ws!;
  log.info({ tcp, ws, accounts: accounts.size }, 'central broker listening');
  return {
    ports: { tcp, ws },
    async close() {
      // Clients first (aedes.close ends every connection), then the listening sockets.
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await listeners.close();
    },
  };
}
