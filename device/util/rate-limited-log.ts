// Warnings that a hostile client can provoke at will (refused logins, oversized packets, sockets
// over the limit): the first of each code in an interval is logged in full, the rest are counted
// and summed up in one line when the interval ends. 100 refused logins once wrote 6.57 MB of log.
// A code that goes on window after window (a stranger's client retrying for days) is summed up
// over longer and longer windows, up to an hour: a summary every 10 s was still 17,280 lines a day
// per code on the journal of an SD card. A window that ends with nothing to add ends the run: the
// next one is news again, logged in full.
import type { Logger } from 'pino';
import { REF_MAX_DIGITS } from '../../bridge/commands/ref.ts';

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

/** A client-chosen string cut for a log line (ids and user names may be 65,535 bytes long). aedes
 * types a client's id as a string, but it is null until the CONNECT has been read: a log line must
 * never throw for it. */
export function clip(s: string | null | undefined, max = 64): string | undefined {
  if (s === undefined || s === null) return undefined;
  if (s.length <= max) return s;
  return `${s.slice(0, max)}…(+${s.length - max})`;
}

const DIGIT = /\p{Nd}/gu;

/** A name a client chose (its client id, the user name it tried, a topic), cut as clip() cuts it,
 * for a log line: the journal must not keep a phone or resident registration number typed as a
 * user name or a client id. The rule is `ref`'s (bridge/commands/ref.ts), counted, not matched to
 * shapes: with more than REF_MAX_DIGITS digits (after NFKC, any script) every digit shows as `#`;
 * a character that is not printable ASCII shows as `?` (a name in Hangul). The contract's slugs
 * and topics stay readable; an id with many digits is still told apart by its letters and length,
 * and the line's source address. */
export function clipName(s: string | null | undefined, max = 64): string | undefined {
  if (s === undefined || s === null) return undefined;
  const kept = s.length <= max ? s : s.slice(0, max);
  const digits = kept.normalize('NFKC').match(DIGIT)?.length ?? 0;
  let shown = kept.replace(/[^\x20-\x7e]/gu, '?');
  if (digits > REF_MAX_DIGITS) shown = shown.replace(/[0-9]/g, '#');
  return kept === s ? shown : `${shown}…(+${s.length - max})`;
}
