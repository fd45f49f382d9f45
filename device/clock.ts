// Clock discipline. A Pi has no real-time clock: it boots with a stale time (fake-hwclock, or
// 1970) until NTP answers, and NTP may then step the clock by hours. The queue's day and its
// numbering must not follow a clock that cannot be trusted.
//
// The rule: the effective time moves with the monotonic clock from the last trusted reading. A
// wall-clock step (wall and monotonic disagree by more than TOLERANCE) is accepted only when it is
// NTP's own: systemd-timesyncd touches /run/systemd/timesync/synchronized right after every
// synchronisation, the step it made included, so its step is read within moments of the flag's
// time. The flag stays from the first synchronisation until the next boot: a step made by hand on
// a synchronised machine (`date -s` with a wrong year) leaves it at the last synchronisation and is
// ignored, like any other untrusted step; time goes on from where it was. At boot, a wall clock earlier than
// the last event on disk is not trusted either: time resumes from that event.
// So a day opens only on a trustworthy date, a jump in the middle of a day neither resets the day
// nor reuses a number, and a real midnight (monotonic time passing) still opens the next day.
import { existsSync, statSync } from 'node:fs';
import { localTime } from './util/time.ts';

const TOLERANCE_MS = 2 * 60_000;
export const TIMESYNC_FLAG = '/run/systemd/timesync/synchronized';
/** where systemd-timesyncd saves the time at each synchronisation and at shutdown */
export const TIMESYNC_CLOCK_FILE = '/var/lib/systemd/timesync/clock';

/** Whether systemd-timesyncd says the system clock is synchronised. */
export function timesyncSynchronized(): boolean {
  return existsSync(TIMESYNC_FLAG);
}

/** Whether a step read now (`wall`, epoch ms) was systemd-timesyncd's: it touches its flag right
 * after each synchronisation, so its flag's time is within moments of the stepped clock. A flag
 * older (or newer) than that is an earlier synchronisation's, and the step someone else's. */
export function timesyncStepped(wall: number, flag = TIMESYNC_FLAG): boolean {
  try {
    return Math.abs(wall - statSync(flag).mtimeMs) <= TOLERANCE_MS;
  } catch {
    return false;
  }
}

/** Whether systemd-timesyncd keeps this machine's time: only then does its flag's absence mean
 * "not synchronised yet" (under chrony, in a container or on a developer's machine it says
 * nothing). */
export function timesyncdInUse(): boolean {
  return existsSync(TIMESYNC_FLAG) || existsSync(TIMESYNC_CLOCK_FILE);
}

export interface ClockDeps {
  wall: () => number;
  monotonic: () => number;
  /** whether the system says the clock is synchronised (NTP answered since the boot): at start, a
   * wall clock earlier than the last event is then trusted */
  synchronized?: () => boolean;
  /** whether a step read now at `wall` was NTP's own, so it is followed: by default timesyncStepped;
   * a test that hands in `synchronized` alone has it answer this too */
  stepConfirmed?: (wall: number) => boolean;
  /** epoch ms of the last event on disk (0 when none) */
  lastEventAt: number;
  onJump?: (info: { wall: number; expected: number; accepted: boolean }) => void;
  /** the wall clock agrees with the effective time again after a step that was ignored (set back
   * by hand): the end of what onJump reported, so the log says when it is over */
  onAgree?: (info: { ignoredMs: number }) => void;
}

export class ClockGuard {
  private anchorWall: number;
  private anchorMono: number;
  private readonly synchronized: () => boolean;
  private readonly stepConfirmed: (wall: number) => boolean;
  /** the last step that was ignored, for the device status */
  lastIgnoredJumpMs = 0;
  /** wall minus effective time while a step is being ignored: every later reading disagrees by
   * the same amount until NTP answers, which may be days on a network that blocks it, and is the
   * same step, not a new one to report */
  private ignoredOffset: number | null = null;

  constructor(private readonly deps: ClockDeps) {
    this.synchronized = deps.synchronized ?? timesyncSynchronized;
    this.stepConfirmed = deps.stepConfirmed ?? (deps.synchronized ? () => this.synchronized() : timesyncStepped);
    const wall = deps.wall();
    this.anchorMono = deps.monotonic();
    this.anchorWall = wall >= deps.lastEventAt || this.synchronized() ? wall : deps.lastEventAt;
  }

  /** set while pinned(): every reading inside one synchronous decision is the same instant */
  private pin: number | null = null;

  /** The effective time, epoch ms. Never earlier than the last trusted reading. */
  now = (): number => {
    if (this.pin !== null) return this.pin;
    const wall = this.deps.wall();
    const mono = this.deps.monotonic();
    const expected = this.anchorWall + (mono - this.anchorMono);
    if (Math.abs(wall - expected) <= TOLERANCE_MS) {
      if (this.ignoredOffset !== null) this.deps.onAgree?.({ ignoredMs: this.ignoredOffset });
      this.ignoredOffset = null;
      this.anchor(wall, mono);
      return wall;
    }
    const accepted = this.stepConfirmed(wall);
    const same = this.ignoredOffset !== null && Math.abs(wall - expected - this.ignoredOffset) <= TOLERANCE_MS;
    if (accepted || !same) this.deps.onJump?.({ wall, expected, accepted });
    if (accepted) {
      this.ignoredOffset = null;
      this.anchor(wall, mono);
      return wall;
    }
    this.ignoredOffset = wall - expected;
    this.lastIgnoredJumpMs = wall - expected;
    this.anchor(expected, mono);
    // whole milliseconds, as the wall clock gives: the monotonic clock's fractions would reach every
    // event's `at` ("…00.413.79+09:00"), which central's and the satellites' schemas refuse
    return Math.floor(expected);
  };

  /** Whether a new day should open now: only when the office's date is later than the queue's. */
  shouldOpenDay(stateDay: string | null, timeZone: string): boolean {
    const today = localTime(this.now(), timeZone).date;
    return stateDay === null || today > stateDay;
  }

  /** Runs fn with the time read once: a decision that asks "is it a new date?" and then stamps its
   * events must not see 23:59:59.999 for the first and 00:00:00.000 for the second. */
  pinned<T>(fn: () => T): T {
    if (this.pin !== null) return fn();
    this.pin = this.now();
    try {
      return fn();
    } finally {
      this.pin = null;
    }
  }

  private anchor(wall: number, mono: number): void {
    this.anchorWall = wall;
    this.anchorMono = mono;
  }
}
