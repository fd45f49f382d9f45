// Office-local time without ICU for the zones that keep one offset all year. Intl knows every IANA
// zone, but its first use maps ~6 MiB of ICU's zone and locale data from node's binary into the
// daemon (bench/lean.ts: the daemon's peak 6 MiB lower without it), and a Korean office's zone has
// had one offset since 1988: Asia/Seoul is UTC+09:00 with no daylight saving. Other zones go
// through Intl as before. tests/zone.test.ts checks this table against Intl over 1990-2100.

/** Zones with a single offset from UTC, in minutes, since 1988 (Seoul's last daylight saving). */
const FIXED_OFFSET_MINUTES: Readonly<Record<string, number>> = {
  'Asia/Seoul': 9 * 60,
  UTC: 0,
  'Etc/UTC': 0,
};

/** The zone's one offset in minutes, or null when its offset changes (then use Intl). */
export function fixedOffsetMinutes(timeZone: string): number | null {
  return FIXED_OFFSET_MINUTES[timeZone] ?? null;
}

/** Calendar fields of a local time (month 1-12, hour 0-23). */
export interface LocalFields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** The office-local calendar fields of `ms` in a fixed-offset zone, and its weekday (0: Sunday). */
export function fixedOffsetFields(ms: number, offsetMinutes: number): LocalFields & { weekday: number } {
  const t = new Date(ms + offsetMinutes * 60_000);
  return {
    year: t.getUTCFullYear(),
    month: t.getUTCMonth() + 1,
    day: t.getUTCDate(),
    hour: t.getUTCHours(),
    minute: t.getUTCMinutes(),
    second: t.getUTCSeconds(),
    weekday: t.getUTCDay(),
  };
}
