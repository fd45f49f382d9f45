// Warnings that a hostile client can provoke at will (refused logins, oversized packets, sockets
// over the limit): the first of each code in an interval is logged in full, the rest are counted
// and summed up in one line when the interval ends. 100 refused logins once wrote 6.57 MB of log.
import type { Logger } from 'pino';

interface Window {
  msg: string;
  suppressed: number;
  timer: NodeJS.Timeout;
}

export class RateLimitedLog {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly log: Logger,
    private readonly intervalMs = 10_000,
  ) {}

  warn(code: string, fields: Record<string, unknown>, msg: string): void {
    const w = this.windows.get(code);
    if (w) {
      w.suppressed++;
      return;
    }
    this.log.warn({ code, ...fields }, msg);
    const timer = setTimeout(() => this.flush(code), this.intervalMs);
    timer.unref();
    this.windows.set(code, { msg, suppressed: 0, timer });
  }

  private flush(code: string): void {
    const w = this.windows.get(code);
    if (!w) return;
    this.windows.delete(code);
    clearTimeout(w.timer);
    if (w.suppressed > 0) {
      const intervalSec = this.intervalMs / 1000;
      this.log.warn(
        { code, suppressed: w.suppressed, intervalSec },
        `${w.msg}: ${w.suppressed} more in the last ${intervalSec} s`,
      );
    }
  }

  /** Writes the pending summaries (at shutdown). */
  close(): void {
    for (const code of [...this.windows.keys()]) this.flush(code);
  }
}

/** A client-chosen string cut for a log line (ids and user names may be 65,535 bytes long). */
export function clip(s: string | undefined, max = 64): string | undefined {
  if (s === undefined || s.length <= max) return s;
  return `${s.slice(0, max)}…(+${s.length - max})`;
}
