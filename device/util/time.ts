// Office-local time without a date library: Intl knows every IANA zone, and the few operations the
// queue needs (local date, minutes since midnight, ISO 8601 with offset) are small. A zone with one
// offset all year (Asia/Seoul) is computed without ICU (./zone.ts).
import { fixedOffsetFields, fixedOffsetMinutes, type LocalFields } from './zone.ts';

const formatters = new Map<string, Intl.DateTimeFormat>();

/** One Intl formatter per locale and options, kept: building one costs ICU's locale and zone
 * lookups each time (a fraction of a millisecond, and native memory), and the board's clock and
 * every queue decision read the time. */
export function cachedFormatter(locale: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = `${locale} ${JSON.stringify(options)}`;
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(locale, options);
    formatters.set(key, f);
  }
  return f;
}

function formatter(timeZone: string): Intl.DateTimeFormat {
  return cachedFormatter('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}

export interface LocalTime {
  /** YYYY-MM-DD in the office's zone */
  date: string;
  /** minutes since local midnight */
  minutes: number;
  /** ISO 8601 with the zone's offset, milliseconds included */
  iso: string;
}

export function localTime(at: number, timeZone: string): LocalTime {
  // an ISO time has whole milliseconds: a fraction (a monotonic clock's) would be printed as one
  const ms = Math.floor(at);
  const fixed = fixedOffsetMinutes(timeZone);
  if (fixed !== null) return format(fixedOffsetFields(ms, fixed), ((ms % 1000) + 1000) % 1000, fixed);
  return localTimeByIntl(ms, timeZone);
}

/** localTime through Intl, for any zone (tests/zone.test.ts holds the fixed-offset path to it). */
export function localTimeByIntl(ms: number, timeZone: string): LocalTime {
  const msPart = ((ms % 1000) + 1000) % 1000;
  const p: Record<string, string> = {};
  for (const part of formatter(timeZone).formatToParts(new Date(ms))) p[part.type] = part.value;
  const f: LocalFields = {
    year: Number(p.year),
    month: Number(p.month),
    day: Number(p.day),
    hour: Number(p.hour),
    minute: Number(p.minute),
    second: Number(p.second),
  };
  const asUtc = Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second, msPart);
  return format(f, msPart, Math.round((asUtc - ms) / 60000));
}

function format(f: LocalFields, msPart: number, offsetMin: number): LocalTime {
  const sign = offsetMin >= 0 ? '+' : '-';
  const abs = Math.abs(offsetMin);
  const date = `${pad(f.year, 4)}-${pad(f.month, 2)}-${pad(f.day, 2)}`;
  const time = `${pad(f.hour, 2)}:${pad(f.minute, 2)}:${pad(f.second, 2)}.${pad(msPart, 3)}`;
  const iso = `${date}T${time}${sign}${pad(Math.floor(abs / 60), 2)}:${pad(abs % 60, 2)}`;
  return { date, minutes: f.hour * 60 + f.minute, iso };
}

/** "17:30" -> 1050 */
export function hhmmToMinutes(hhmm: string): number {
  const [h, m] = hhmm.split(':');
  return Number(h) * 60 + Number(m);
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}
