// The fixed-offset zones (device/util/zone.ts) are computed without ICU; they must give what Intl
// gives, to the character, for every instant the daemon can meet.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { localTime } from '../device/util/time.ts';
import { fixedOffsetMinutes } from '../device/util/zone.ts';
import { clockTexts } from '../display/board/model.ts';

/** localTime as it was before the fixed-offset table: through Intl only. */
function intlLocalTime(ms: number, timeZone: string) {
  const f = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
  const p: Record<string, string> = {};
  for (const part of f.formatToParts(new Date(ms))) p[part.type] = part.value;
  const msPart = ((ms % 1000) + 1000) % 1000;
  const asUtc = Date.UTC(+p.year!, +p.month! - 1, +p.day!, +p.hour!, +p.minute!, +p.second!, msPart);
  const off = Math.round((asUtc - ms) / 60000);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const date = `${pad(+p.year!, 4)}-${p.month}-${p.day}`;
  const sign = off >= 0 ? '+' : '-';
  const iso = `${date}T${p.hour}:${p.minute}:${p.second}.${pad(msPart, 3)}${sign}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
  return { date, minutes: +p.hour! * 60 + +p.minute!, iso };
}

function intlClock(now: number, timeZone: string) {
  const f = new Intl.DateTimeFormat('ko-KR', {
    timeZone,
    month: 'numeric',
    day: 'numeric',
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
  const parts: Record<string, string> = {};
  for (const p of f.formatToParts(new Date(now))) parts[p.type] = p.value;
  const date = `${parts.month}월 ${parts.day}일 (${parts.weekday})`;
  const time = `${parts.hour}:${parts.minute}`;
  return { date, time, minuteKey: `${date} ${time}` };
}

const FROM = Date.UTC(1988, 11, 1);
const TO = Date.UTC(2100, 0, 1);

describe('zones with one offset, without ICU', () => {
  it('Asia/Seoul and UTC are in the table; a zone with daylight saving is not', () => {
    expect(fixedOffsetMinutes('Asia/Seoul')).toBe(540);
    expect(fixedOffsetMinutes('UTC')).toBe(0);
    expect(fixedOffsetMinutes('Europe/Berlin')).toBeNull();
  });

  for (const zone of ['Asia/Seoul', 'UTC', 'Etc/UTC']) {
    it(`${zone}: the office-local time and the board's clock equal Intl's, 1988-2100`, () => {
      fc.assert(
        fc.property(fc.integer({ min: FROM, max: TO }), (ms) => {
          expect(localTime(ms, zone)).toEqual(intlLocalTime(ms, zone));
          expect(clockTexts(ms, zone)).toEqual(intlClock(ms, zone));
        }),
        { numRuns: 3000 },
      );
      // the edges of a Seoul day, and a boot in 1970 before NTP answers
      for (const iso of ['2026-12-31T14:59:59.999Z', '2026-12-31T15:00:00.000Z', '1970-01-01T00:00:00.000Z']) {
        const ms = Date.parse(iso);
        expect(localTime(ms, zone)).toEqual(intlLocalTime(ms, zone));
        expect(clockTexts(ms, zone)).toEqual(intlClock(ms, zone));
      }
    });
  }

  it('a zone with daylight saving still goes through Intl', () => {
    const summer = Date.parse('2026-07-01T12:00:00Z');
    expect(localTime(summer, 'Europe/Berlin').iso).toBe('2026-07-01T14:00:00.000+02:00');
    expect(clockTexts(summer, 'Europe/Berlin')).toEqual(intlClock(summer, 'Europe/Berlin'));
  });
});
