// Runs a job at most once per interval however often it is requested, and always once more
// after the last request: a burst of 100 presses gives a few publishes, the last one current.

export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  // Monotonic: the wall clock steps (NTP at a boot without RTC, an admin's date -s), and a step
  // back of N hours held every state and status publish for N hours.
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export class Coalescer {
  private last = Number.NEGATIVE_INFINITY;
  private timer: unknown = null;

  constructor(
    private readonly job: () => void,
    private readonly intervalMs: number,
    private readonly timers: Timers = realTimers,
  ) {}

  request(): void {
    if (this.timer !== null) return; // the scheduled run will see the newest state
    const wait = this.last + this.intervalMs - this.timers.now();
    if (wait <= 0) {
      this.run();
      return;
    }
    this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      this.run();
    }, wait);
  }

  cancel(): void {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
  }

  private run(): void {
    this.last = this.timers.now();
    this.job();
  }
}
