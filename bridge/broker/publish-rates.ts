// How often a satellite account may publish, and how many commands a central account may send on
// the office's broker (its password on the LAN is the next likeliest to leak; its bound is below).
// A satellite is a clerk's keypad and a screen: a few keys a minute, and a status when a part's
// health changes (coalesced to one a second). Its password sits on a device in a public room, so
// its account is the likeliest in a stranger's hands, and without a bound one satellite made the
// main unit run 3,000 refused commands a second (each remembered for two days by id and fsync'd:
// 157 MiB more and 89 MB of command log in 90 s, reloaded at every start), or toggled its
// counter's pause 495 times a second (every event journaled and sent to every reader), or sent
// 8 KB statuses to every reader at 8.5 MiB/s.
// Past its allowance a publish is refused, which in MQTT 3.1.1 closes the connection: reconnecting
// then costs a login token (./login-limits.ts), so a flood slows itself down.
import { SourceThrottle } from './login-limits.ts';

export interface PublishRateLimits {
  /** commands in a row before the rate applies, per counter the account carries */
  commandBurst: number;
  /** commands a minute after the burst, per counter the account carries */
  commandsPerMinute: number;
  /** a central account's commands on this broker: in a row, then a minute. Without them a stolen
   * central password on the LAN made the daemon take ~2,700 useless commands a second, each
   * remembered for two days and fsync'd (77 MiB more and 21 MB of command log in 34 s) */
  centralCommandBurst?: number;
  centralCommandsPerMinute?: number;
}

/** Statuses: the birth at each connection, its will, and the health changes coalesced to one a
 * second. At 30 a minute a satellite whose printer's health flapped every second was cut off after
 * 20 s, and then again at each reconnect's birth: twice the coalescing rate, so that one never is.
 * A stranger's 8 KB statuses at that rate are 16 KB/s to each reader. */
const STATUS_BURST = 20;
const STATUSES_PER_MINUTE = 120;

export class PublishRates {
  private readonly commands: SourceThrottle;
  private readonly statuses: SourceThrottle;
  private readonly central: SourceThrottle | null;

  constructor(limits: PublishRateLimits, now?: () => number) {
    this.central =
      limits.centralCommandBurst !== undefined && limits.centralCommandsPerMinute !== undefined
        ? new SourceThrottle({
            burst: limits.centralCommandBurst,
            refillMs: 60_000 / limits.centralCommandsPerMinute,
            ...(now ? { now } : {}),
          })
        : null;
    this.commands = new SourceThrottle({
      burst: limits.commandBurst,
      refillMs: 60_000 / limits.commandsPerMinute,
      ...(now ? { now } : {}),
    });
    this.statuses = new SourceThrottle({
      burst: STATUS_BURST,
      refillMs: 60_000 / STATUSES_PER_MINUTE,
      ...(now ? { now } : {}),
    });
  }

  /** Whether `username` may publish one more of `kind` now (and counts it). A unit carrying the
   * keypads of `counters` counters has as many clerks: its command allowance is that many times
   * one clerk's (at least one's). Over the allowance the whole unit's connection is closed, every
   * clerk's key with it: two clerks of one unit, a key each a second, were cut off at the 24th. */
  take(username: string, kind: 'cmd' | 'status', counters = 1): boolean {
    if (kind === 'status') return this.statuses.take(username);
    return this.commands.take(username, 1 / Math.max(1, counters));
  }

  /** Whether the central account `username` may publish one more command now (and counts it). */
  takeCentral(username: string): boolean {
    return this.central ? this.central.take(username) : true;
  }
}
