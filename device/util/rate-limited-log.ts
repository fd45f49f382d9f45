// Warnings that can come at every event: a hostile client's (refused logins, oversized packets,
// sockets over the limit), or a speech process refused at every call while memory is short. The
// first of each code in an interval is logged in full, the rest are counted and summed up in one
// line when the interval ends. 100 refused logins once wrote 6.57 MB of log.
// A code that goes on window after window (a stranger's client retrying for days) is summed up
// over longer and longer windows, up to an hour: a summary every 10 s was still 17,280 lines a day
// per code on the journal of an SD card. A window that ends with nothing to add ends the run: the
// next one is news again, logged in full.
import type { Logger } from 'pino';

interface Window {
  level: 'warn' | 'info';
  msg: string;
  suppressed: number;
  ms: number;
  timer: NodeJS.Timeout;
}

/** how much longer each window of a code that goes on is than the one before */
const GROWTH = 6;
export const MAX_SUMMARY_INTERVAL_MS = 3_600_000;

export class RateLimitedLog {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly log: Logger,
    private readonly intervalMs = 10_000,
  ) {}

  warn(code: string, fields: Record<string, unknown>, msg: string): void {
    this.say('warn', code, fields, msg);
  }

  /** The same for news that is no fault (a command repeated, as at-least-once delivery does). */
  info(code: string, fields: Record<string, unknown>, msg: string): void {
    this.say('info', code, fields, msg);
  }

  private say(level: Window['level'], code: string, fields: Record<string, unknown>, msg: string): void {
    const w = this.windows.get(code);
    if (w) {
      w.suppressed++;
      return;
    }
    this.log[level]({ code, ...fields }, msg);
    this.windows.set(code, { level, msg, suppressed: 0, ms: this.intervalMs, timer: this.arm(code, this.intervalMs) });
  }

  private arm(code: string, ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => this.flush(code, true), ms);
    timer.unref();
    return timer;
  }

  private flush(code: string, goOn: boolean): void {
    const w = this.windows.get(code);
    if (!w) return;
    clearTimeout(w.timer);
    if (w.suppressed === 0 || !goOn) this.windows.delete(code);
    if (w.suppressed > 0) {
      const intervalSec = w.ms / 1000;
      this.log[w.level](
        { code, suppressed: w.suppressed, intervalSec },
        `${w.msg}: ${w.suppressed} more in the last ${intervalSec} s`,
      );
    }
    if (!this.windows.has(code)) return;
    w.suppressed = 0;
    w.ms = Math.max(this.intervalMs, Math.min(w.ms * GROWTH, MAX_SUMMARY_INTERVAL_MS));
    w.timer = this.arm(code, w.ms);
  }

  /** Writes the pending summaries (at shutdown). */
  close(): void {
    for (const code of [...this.windows.keys()]) this.flush(code, false);
  }
}
