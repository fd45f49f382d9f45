// What turns a bouncing contact into one press, and a child hammering a button into one ticket
// per interval. Shared by the GPIO and Firmata drivers so both behave the same; timers are the
// global ones so tests drive them with fake timers.
import type { Logger } from 'pino';

/** Reports a level only after it has held still for `ms`: a press counts once however it bounces. */
export class LevelDebouncer {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stable: boolean;

  constructor(
    private readonly ms: number,
    /** reads the current level (true = pressed) when the contact has settled */
    private readonly sample: () => boolean,
    private readonly onStable: (pressed: boolean) => void,
    initial = false,
  ) {
    this.stable = initial;
  }

  /** The contact moved (an interrupt, a Firmata report). */
  edge(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      const level = this.sample();
      if (level === this.stable) return;
      this.stable = level;
      this.onStable(level);
    }, this.ms);
  }

  /** Forget a contact in motion (board lost, shutdown): no press may fire later. */
  cancel(pressedNow = false): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.stable = pressedNow;
  }
}

/** At most one accepted event per interval; the rest are counted, never silently dropped. */
export class RateLimiter {
  private last = Number.NEGATIVE_INFINITY;
  rejected = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number,
  ) {}

  allow(): boolean {
    const t = this.now();
    const since = t - this.last;
    // The default clock is the wall clock, which NTP may step back (a Pi boots without a real-time
    // clock): the time since the last press is then negative, and without `since >= 0` every press
    // would be refused until the clock caught up with it, an hour for a one-hour step.
    if (since >= 0 && since < this.intervalMs) {
      this.rejected += 1;
      return false;
    }
    this.last = t;
    return true;
  }
}

export interface ButtonFilterOptions {
  button: string;
  debounceMs: number;
  rateLimitMs: number;
  now: () => number;
  logger: Logger;
  sample: () => boolean;
  initial?: boolean;
  onPress: (button: string) => void;
  /** called after each rejection, so the driver can publish its health */
  onRejected: () => void;
}

/** One dispenser button: debounce, then rate limit, then a press. */
export class ButtonFilter {
  readonly limiter: RateLimiter;
  readonly debouncer: LevelDebouncer;
  presses = 0;

  constructor(private readonly o: ButtonFilterOptions) {
    this.limiter = new RateLimiter(o.rateLimitMs, o.now);
    this.debouncer = new LevelDebouncer(o.debounceMs, o.sample, (pressed) => this.settled(pressed), o.initial ?? false);
  }

  private settled(pressed: boolean): void {
    if (!pressed) return;
    if (!this.limiter.allow()) {
      this.o.logger.info(
        { button: this.o.button, rejected: this.limiter.rejected },
        'button press rejected by the rate limit',
      );
      this.o.onRejected();
      return;
    }
    this.presses += 1;
    this.o.onPress(this.o.button);
  }
}
