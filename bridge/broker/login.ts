// aedes's login hooks for the embedded broker, in the order a CONNECT meets them: the client id on
// its own (./client-ids.ts), then the password (./authenticator.ts: one scrypt at a time, limits per
// source), then whether this account may use this id. Refusals are logged rate-limited, with the
// client's id and user name cut short (both may be 65,535 bytes long).
import type { AedesOptions, AuthenticateError, Client } from 'aedes';
import type { Logger } from 'pino';
import type { Account } from './acl.ts';
import { Authenticator, type StoredAccount } from './authenticator.ts';
import { ClientIdOwners, clientIdProblem } from './client-ids.ts';
import { clip, clipName } from '../log-names.ts';
import { RateLimitedLog } from '../../device/util/rate-limited-log.ts';
import { type SessionLimits, Sessions } from './sessions.ts';

const CONNACK_TEXT = { 2: 'identifier rejected', 3: 'server unavailable', 4: 'bad user name or password' };
type RefusalCode = keyof typeof CONNACK_TEXT;

function authError(returnCode: RefusalCode): AuthenticateError {
  const err = new Error(CONNACK_TEXT[returnCode]) as AuthenticateError;
  err.returnCode = returnCode as AuthenticateError['returnCode'];
  return err;
}

export interface Login {
  hooks: Pick<AedesOptions, 'preConnect' | 'authenticate'>;
  /** aedes's clientDisconnect: a clean session's id is free again */
  clientGone(client: Client): void;
  /** the bounded sessions: aedes's persistence goes through `sessions.wrap()` */
  sessions: Sessions;
  close(): void;
}

export interface LoginLimits {
  /** live connections of one account (its client ids differ); one more gets CONNACK 3 */
  connectionsPerAccount: number;
  sessions: SessionLimits;
}

export async function createLogin(
  accounts: ReadonlyMap<string, StoredAccount>,
  byClient: WeakMap<Client, Account>,
  logger: Logger,
  limits: LoginLimits,
): Promise<Login> {
  const auth = await Authenticator.create({ accounts });
  const owners = new ClientIdOwners(accounts.keys());
  const log = new RateLimitedLog(logger);
  /** the connection that holds each id now (a takeover by the same account replaces it) */
  const live = new Map<string, Client>();
  const sessions = new Sessions(limits.sessions, {
    dropped: (clientId, dropped) =>
      log.warn(
        'mqtt-session-queue-full',
        { clientId: clipName(clientId), dropped, maxQueued: limits.sessions.maxQueued },
        'a session away has a full queue: messages dropped for it',
      ),
    unreleasedFull: (clientId, held) =>
      log.warn(
        'mqtt-inflight-full',
        { clientId: clipName(clientId), held, max: limits.sessions.maxUnreleased },
        'a session holds limits.inflightInbound QoS 2 publishes waiting for their PUBREL: one more refused, connection closed',
      ),
    expired: (clientId, username) => {
      if (!live.has(clientId)) owners.release(clientId);
      logger.info(
        { code: 'mqtt-session-expired', clientId: clipName(clientId), username: clip(username) },
        'a session away too long ended: its subscriptions, queue and client id are gone',
      );
    },
  });
  /** `client`'s connection ended: a clean session's id is free again, a persistent one waits. */
  const gone = (client: Client): void => {
    if (live.get(client.id) !== client) return; // taken over: the id lives on
    live.delete(client.id);
    if (client.clean) owners.release(client.id);
    sessions.closed(client, byClient.get(client)?.username);
  };
  /** live connections of `username`, but the one `id` names (a takeover replaces it). A client
   * closed between its password check and its registration never gets aedes's clientDisconnect:
   * it is let go here, or it would count against its account for good. */
  const connectionsOf = (username: string, id: string): number => {
    let n = 0;
    for (const [liveId, c] of [...live]) {
      if (c.closed) gone(c);
      else if (liveId !== id && byClient.get(c)?.username === username) n++;
    }
    return n;
  };
  // aedes replaces an empty id with a generated one before authenticate: keep what was sent.
  const sentIds = new WeakMap<Client, string>();

  const refuse = (client: Client, username: string | undefined, returnCode: RefusalCode, code: string) => {
    const source = (client.conn as { remoteAddress?: string }).remoteAddress;
    log.warn(
      code,
      { clientId: clipName(client.id), username: clipName(username), source, returnCode },
      'connection refused',
    );
    return authError(returnCode);
  };

  return {
    hooks: {
      preConnect(client, packet, done) {
        sentIds.set(client, packet.clientId);
        done(null, true);
      },
      authenticate(client, username, password, done) {
        const problem = clientIdProblem(sentIds.get(client) ?? client.id, client.clean);
        if (problem) return done(refuse(client, username, 2, problem), false);
        const conn = client.conn as { remoteAddress?: string; destroyed?: boolean };
        const cancelled = () => client.closed || conn.destroyed === true;
        void auth.login({ username, password, source: conn.remoteAddress, cancelled }).then((r) => {
          // a socket closed while its login waited is not a refused login: nothing to log
          if (!r.ok && 'cancelled' in r) return done(authError(r.returnCode), false);
          if (!r.ok) return done(refuse(client, username, r.returnCode, r.code), false);
          // closed while its password was checked: aedes registers it no more, so nor do we
          if (cancelled()) return done(authError(3), false);
          // Checked only now: before the password, an answer would tell which names exist.
          const name = r.account.username;
          if (!owners.mayUse(client.id, name)) {
            return done(refuse(client, username, 2, 'mqtt-client-id-taken'), false);
          }
          if (connectionsOf(name, client.id) >= limits.connectionsPerAccount) {
            return done(refuse(client, username, 3, 'mqtt-too-many-connections'), false);
          }
          if (!sessions.mayOpen(name, client.id, client.clean)) {
            return done(refuse(client, username, 3, 'mqtt-too-many-sessions'), false);
          }
          owners.hold(client.id, name);
          live.set(client.id, client);
          byClient.set(client, r.account);
          sessions.opened(client, name);
          done(null, true);
        });
      },
    },
    clientGone: gone,
    sessions,
    close() {
      sessions.close();
      log.close();
    },
  };
}
