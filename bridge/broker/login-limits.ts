// What keeps logins from starving the office: scrypt runs on libuv's thread pool, the same four
// threads that carry the journal's writes and fdatasync, so logins are verified one at a time
// (three threads stay free for the journal whatever arrives), and a source whose logins keep
// failing is refused at once, without scrypt, until its allowance refills.

/** Runs tasks one after another, in arrival order. */
export class OneAtATime {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

export interface ThrottleOptions {
  /** failed logins a source may have in a row before it must wait */
  burst: number;
  /** one more failed login is allowed this often */
  refillMs: number;
  now?: () => number;
  /** sources remembered at most (the oldest are forgotten first) */
  maxSources?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** A token bucket per source address: each login takes a token, a success gives it back. */
export class SourceThrottle {
  private readonly buckets = new Map<string, Bucket>();
  private readonly now: () => number;

  constructor(private readonly o: ThrottleOptions) {
    // monotonic: a wall clock stepped back (NTP at a boot without RTC) made the refill negative,
    // and every source (a satellite's logins and commands included) waited as long as the step
    this.now = o.now ?? (() => performance.now());
  }

  /** Takes a token (or `cost` of one) for `source`; false when the source must wait. */
  take(source: string, cost = 1): boolean {
    const b = this.refilled(source);
    // a hair under: a cost of 1/3 taken three times from one token is not short by a rounding
    if (b.tokens < cost - 1e-9) return false;
    b.tokens = Math.max(0, b.tokens - cost);
    return true;
  }

  /** A login that succeeded does not count against its source. */
  refund(source: string): void {
    const b = this.refilled(source);
    b.tokens = Math.min(this.o.burst, b.tokens + 1);
  }

  private refilled(source: string): Bucket {
    const t = this.now();
    let b = this.buckets.get(source);
    if (!b) {
      this.forgetIfFull();
      b = { tokens: this.o.burst, at: t };
      this.buckets.set(source, b);
    }
    b.tokens = Math.min(this.o.burst, b.tokens + Math.max(0, t - b.at) / this.o.refillMs);
    b.at = t;
    return b;
  }

  private forgetIfFull(): void {
    const max = this.o.maxSources ?? 10_000;
    if (this.buckets.size < max) return;
    for (const [source, b] of this.buckets) {
      if (this.buckets.size < max) return;
      // Sources whose allowance is back in full carry no state worth keeping; then the oldest.
      if (b.tokens + (this.now() - b.at) / this.o.refillMs >= this.o.burst) this.buckets.delete(source);
    }
    const oldest = this.buckets.keys().next();
    if (!oldest.done && this.buckets.size >= max) this.buckets.delete(oldest.value);
  }
}

/** The key a source is throttled by: an IPv4 address, or the /64 prefix of an IPv6 address (a
 * host on an IPv6 LAN can pick any address of its prefix). */
/** A source key (sourceKey) of this machine itself: 127.0.0.0/8 or ::1's /64. */
export function isLoopbackSource(key: string): boolean {
  return /^127\.\d+\.\d+\.\d+$/.test(key) || key === '0:0:0:0::/64';
}

export function sourceKey(address: string | undefined): string {
  if (!address) return 'unknown';
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (v4) return v4[1]!;
  if (!address.includes(':')) return address;
  const [head = '', tail = ''] = address.split('::');
  const groups = [...head.split(':').filter(Boolean)];
  const rest = tail.split(':').filter(Boolean);
  while (groups.length + rest.length < 8) groups.push('0');
  groups.push(...rest);
  return `${groups.slice(0, 4).join(':')}::/64`;
}
