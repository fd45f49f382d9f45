// Who may log in to the embedded broker, and at what cost to the office: one scrypt at a time
// (./login-limits.ts), a failure allowance per source address, and no scrypt for an unknown user
// name (but the first, before any verification was timed). An unknown name still waits, in the
// same queue, as long as a verification takes, so the time to a refusal does not tell which names
// exist.
import type { Account } from './acl.ts';
import { isLoopbackSource, OneAtATime, SourceThrottle, sourceKey } from './login-limits.ts';
import { hashPassword, verifyPassword } from './passwords.ts';

export interface StoredAccount extends Account {
  passwordHash: string;
}

export interface LoginRequest {
  username: string | undefined;
  password: Buffer | undefined;
  /** the socket's remote address */
  source: string | undefined;
  /** the socket closed while the login waited (its turn is skipped) */
  cancelled(): boolean;
}

export type LoginResult =
  | { ok: true; account: StoredAccount }
  /** 4: bad user name or password; 3: server unavailable (this source must wait) */
  | { ok: false; returnCode: 3 | 4; code: 'mqtt-auth-refused' | 'mqtt-auth-throttled' }
  /** the socket closed before the login's turn: nothing was checked, nobody waits for the answer */
  | { ok: false; returnCode: 3; cancelled: true };

export interface AuthenticatorOptions {
  accounts: ReadonlyMap<string, StoredAccount>;
  /** failed logins a source may have in a row (default 10), and one more per refillMs (3 s) */
  burst?: number;
  refillMs?: number;
  /** seams for tests */
  verify?: (password: string, encoded: string) => Promise<boolean>;
  /** one derivation at the default cost, to time it (default: hashPassword) */
  probe?: () => Promise<unknown>;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

const REFUSED = { ok: false, returnCode: 4, code: 'mqtt-auth-refused' } as const;
const THROTTLED = { ok: false, returnCode: 3, code: 'mqtt-auth-throttled' } as const;
const CANCELLED = { ok: false, returnCode: 3, cancelled: true } as const;
/** The cost `npm run hash-password` uses: the time an unknown name waits is measured on it. */
const DEFAULT_COST = '16384$8$1';

export class Authenticator {
  private readonly gate = new OneAtATime();
  private readonly throttle: SourceThrottle;
  private readonly verify: (password: string, encoded: string) => Promise<boolean>;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  /** moving average of one verification at the default cost, in ms; null until the first one */
  private verifyMs: number | null = null;
  private readonly probe: () => Promise<unknown>;

  private constructor(private readonly o: AuthenticatorOptions) {
    this.now = o.now ?? (() => performance.now());
    this.throttle = new SourceThrottle({ burst: o.burst ?? 10, refillMs: o.refillMs ?? 3000, now: o.now });
    this.verify = o.verify ?? verifyPassword;
    this.sleep = o.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.probe = o.probe ?? (() => hashPassword('probe'));
  }

  /** Nothing is derived at start: a derivation at the default cost holds 16 MB while it runs, the
   * daemon's largest moment at start on a 512 MB board. The first login times one (below). */
  static async create(o: AuthenticatorOptions): Promise<Authenticator> {
    return new Authenticator(o);
  }

  async login(req: LoginRequest): Promise<LoginResult> {
    const source = sourceKey(req.source);
    if (!this.throttle.take(source)) return THROTTLED;
    // Nothing to hide without a user name: refused at once (it still counts against the source).
    if (req.username === undefined || !req.password) return REFUSED;
    const result = await this.gate.run(() => this.check(req.username!, req.password!, req.cancelled));
    // Only on loopback does a good login give its token back. Beyond it, a client holding a weak
    // secret (a board's password) that logged in, dropped and logged in again from a few addresses
    // kept the one-at-a-time queue full of scrypt runs and a satellite's login waited 2.5 s here
    // (past the 5 s login deadline on a Pi). A real client logs in once per connection.
    if (result.ok && isLoopbackSource(source)) this.throttle.refund(source);
    // No password was tried: the attempt is not one of the source's guesses.
    else if ('cancelled' in result) this.throttle.refund(source);
    return result;
  }

  private async check(username: string, password: Buffer, cancelled: () => boolean): Promise<LoginResult> {
    if (cancelled()) return CANCELLED;
    const account = this.o.accounts.get(username);
    if (!account) {
      if (this.verifyMs === null) {
        // Not timed yet: derive once at the default cost, which takes as long as a verification.
        const t0 = this.now();
        await this.probe().catch(() => undefined);
        this.timed(this.now() - t0);
      } else {
        // Hold the queue as long as a verification would, without using the thread pool.
        await this.sleep(this.verifyMs);
      }
      return REFUSED;
    }
    const t0 = this.now();
    const ok = await this.verify(password.toString('utf8'), account.passwordHash).catch(() => false);
    if (account.passwordHash.startsWith(`scrypt$${DEFAULT_COST}$`)) this.timed(this.now() - t0);
    return ok ? { ok: true, account } : REFUSED;
  }

  private timed(ms: number): void {
    this.verifyMs = this.verifyMs === null ? ms : 0.8 * this.verifyMs + 0.2 * ms;
  }
}
