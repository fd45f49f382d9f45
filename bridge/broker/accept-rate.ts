// New connections a second from one source address, beyond loopback. Each accepted socket is
// work before any login: its TLS handshake or WebSocket upgrade, a guard, an aedes client. The
// pending bounds cap how many wait at once, not how fast they come back: 16 sockets of a stranger
// that reconnected as soon as each was closed (an empty WebSocket message) took the daemon from
// 263 to 539 MiB in 15 s. A real client connects once and reconnects with a backoff.
import { isLoopbackSource, SourceThrottle, sourceKey } from './login-limits.ts';

/** new connections in a row from one source before the rate applies */
const BURST = 20;

export class AcceptRate {
  private readonly throttle: SourceThrottle;

  constructor(perSecond: number, now?: () => number) {
    this.throttle = new SourceThrottle({ burst: BURST, refillMs: 1000 / perSecond, ...(now ? { now } : {}) });
  }

  /** Whether a connection from `address` may be accepted now (and counts it). Loopback always may:
   * the simulator and local tools open many, and a local attacker already has the machine. */
  admit(address: string | undefined): boolean {
    const key = sourceKey(address);
    return isLoopbackSource(key) || this.throttle.take(key);
  }
}
