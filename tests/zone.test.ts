// The fixed-offset zones (device/util/zone.ts) are computed without ICU; they must give what the
// Intl path gives (the one every other zone takes), to the character, for every instant the
// daemon can meet.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { localTime, localTimeByIntl } from '../device/util/time.ts';
import { fixedOffsetMinutes } from '../device/util/zone.ts';
import { clockTexts, clockTextsByIntl } from '../display/board/model.ts';

const FROM = Date.UTC(1988, 11, 1);
const TO = Date.UTC(2100, 0, 1);

describe('zones with one offset, without ICU', () => {
  it('Asia/Seoul and UTC are in the table; a zone with daylight saving is not', () => {
    expect(fixedOffsetMinutes('Asia/Seoul')).toBe(540);
    expect(fixedOffsetMinutes('UTC')).toBe(0);
    expect(fixedOffsetMinutes('Europe/Berlin')).toBeNull();
    // midnight in Seoul, and its clock on the board: a Friday
    const newYear = Date.parse('2026-12-31T15:00:00.000Z');
    expect(localTime(newYear, 'Asia/Seoul')).toEqual({
      date: '2027-01-01',
      minutes: 0,
      iso: '2027-01-01T00:00:00.000+09:00',
    });
    expect(clockTexts(newYear, 'Asia/Seoul')).toMatchObject({ date: '1월 1일 (금)', time: '00:00' });
  });

  for (const zone of ['Asia/Seoul', 'UTC', 'Etc/UTC']) {
    it(`${zone}: the office-local time and the board's clock equal Intl's, 1988-2100`, () => {
      fc.assert(
        fc.property(fc.integer({ min: FROM, max: TO }), (ms) => {
          expect(localTime(ms, zone)).toEqual(localTimeByIntl(ms, zone));
          expect(clockTexts(ms, zone)).toEqual(clockTextsByIntl(ms, zone));
        }),
        { numRuns: 3000 },
      );
      // the edges of a Seoul day, and a boot in 1970 before NTP answers
      for (const iso of ['2026-12-31T14:59:59.999Z', '2026-12-31T15:00:00.000Z', '1970-01-01T00:00:00.000Z']) {
        const ms = Date.parse(iso);
        expect(localTime(ms, zone)).toEqual(localTimeByIntl(ms, zone));
        expect(clockTexts(ms, zone)).toEqual(clockTextsByIntl(ms, zone));
      }
    });
  }

  it('a zone with daylight saving still goes through Intl', () => {
    const summer = Date.parse('2026-07-01T12:00:00Z');
    expect(localTime(summer, 'Europe/Berlin').iso).toBe('2026-07-01T14:00:00.000+02:00');
    expect(clockTexts(summer, 'Europe/Berlin')).toEqual(clockTextsByIntl(summer, 'Europe/Berlin'));
  });
});

describe('an instant with a fraction of a millisecond (a monotonic clock added in)', () => {
  it("is written with whole milliseconds, in any zone, as the contract's date-time", () => {
    const at = Date.parse('2026-11-26T00:00:00.413Z') + 0.7939453125;
    expect(localTime(at, 'Asia/Seoul').iso).toBe('2026-11-26T09:00:00.413+09:00');
    expect(localTime(at, 'Europe/Berlin').iso).toBe('2026-11-26T01:00:00.413+01:00');
  });
});
