// aedes's login hooks for the embedded broker, in the order a CONNECT meets them: the client id on
// its own (./client-ids.ts), then the password (./authenticator.ts: one scrypt at a time, limits per
// source), then whether this account may use this id. Refusals are logged rate-limited, with the
// client's id and user name cut short (both may be 65,535 bytes long).
import type { AedesOptions, AuthenticateError, Client } from 'aedes';
import type { Logger } from 'pino';
import type { Account } from './acl.ts';
import { Authenticator, type StoredAccount } from './authenticator.ts';
import { ClientIdOwners, clientIdProblem } from './client-ids.ts';
import { clip, RateLimitedLog } from './rate-limited-log.ts';

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
  close(): void;
}

export async function createLogin(
  accounts: ReadonlyMap<string, StoredAccount>,
  byClient: WeakMap<Client, Account>,
  logger: Logger,
): Promise<Login> {
  const auth = await Authenticator.create({ accounts });
  const owners = new ClientIdOwners(accounts.keys());
  const log = new RateLimitedLog(logger);
  // aedes replaces an empty id with a generated one before authenticate: keep what was sent.
  const sentIds = new WeakMap<Client, string>();
  /** the connection that holds each id now (a takeover by the same account replaces it) */
  const live = new Map<string, Client>();

  const refuse = (client: Client, username: string | undefined, returnCode: RefusalCode, code: string) => {
    const source = (client.conn as { remoteAddress?: string }).remoteAddress;
    log.warn(code, { clientId: clip(client.id), username: clip(username), source, returnCode }, 'connection refused');
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
          if (!r.ok) return done(refuse(client, username, r.returnCode, r.code), false);
          // Checked only now: before the password, an answer would tell which names exist.
          if (!owners.mayUse(client.id, r.account.username)) {
            return done(refuse(client, username, 2, 'mqtt-client-id-taken'), false);
          }
          owners.hold(client.id, r.account.username);
          live.set(client.id, client);
          byClient.set(client, r.account);
          done(null, true);
        });
      },
    },
    clientGone(client) {
      if (live.get(client.id) !== client) return; // taken over: the id lives on
      live.delete(client.id);
      if (client.clean) owners.release(client.id);
    },
    close() {
      log.close();
    },
  };
}
