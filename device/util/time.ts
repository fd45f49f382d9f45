// Office-local time without a date library: Intl knows every IANA zone, and the few operations the
// queue needs (local date, minutes since midnight, ISO 8601 with offset) are small.

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export interface LocalTime {
  /** YYYY-MM-DD in the office's zone */
  date: string;
  /** minutes since local midnight */
  minutes: number;
  /** ISO 8601 with the zone's offset, milliseconds included */
  iso: string;
}

export function localTime(ms: number, timeZone: string): LocalTime {
  const p: Record<string, string> = {};
  for (const part of formatter(timeZone).formatToParts(new Date(ms))) p[part.type] = part.value;
  const y = Number(p.year);
  const mo = Number(p.month);
  const d = Number(p.day);
  const h = Number(p.hour);
  const mi = Number(p.minute);
  const s = Number(p.second);
  const msPart = ((ms % 1000) + 1000) % 1000;
  const asUtc = Date.UTC(y, mo - 1, d, h, mi, s, msPart);
  const offsetMin = Math.round((asUtc - ms) / 60000);
  const sign = offsetMin >= 0 ? '+' : '-';
  const abs = Math.abs(offsetMin);
  const date = `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}`;
  const iso = `${date}T${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}.${pad(msPart, 3)}${sign}${pad(Math.floor(abs / 60), 2)}:${pad(abs % 60, 2)}`;
  return { date, minutes: h * 60 + mi, iso };
}

/** "17:30" -> 1050 */
export function hhmmToMinutes(hhmm: string): number {
  const [h, m] = hhmm.split(':');
  return Number(h) * 60 + Number(m);
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}
