import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { callCaption, callParts, spokenText } from '../display/audio/call-sentence.ts';
import { particleRo } from '../display/korean-particle.ts';
import { koreanNumber, readTicketNumber, speakableText } from '../display/audio/korean-number.ts';

// An independent reader of Sino-Korean numbers, the inverse of koreanNumber: digits multiply the
// small unit after them (a bare unit counts as 1), groups end at 만/억/조.
const DIGIT: Record<string, number> = { 영: 0, 일: 1, 이: 2, 삼: 3, 사: 4, 오: 5, 육: 6, 칠: 7, 팔: 8, 구: 9 };
const SMALL: Record<string, number> = { 십: 10, 백: 100, 천: 1000 };
const BIG: Record<string, number> = { 만: 1e4, 억: 1e8, 조: 1e12 };
function parseKorean(s: string): number {
  let total = 0;
  let group = 0;
  let digit: number | null = null;
  for (const ch of s) {
    if (ch in DIGIT) {
      if (digit !== null) throw new Error(`two digits in a row in ${s}`);
      digit = DIGIT[ch]!;
    } else if (ch in SMALL) {
      group += (digit ?? 1) * SMALL[ch]!;
      digit = null;
    } else if (ch in BIG) {
      total += (group + (digit ?? 0) || 1) * BIG[ch]!;
      group = 0;
      digit = null;
    } else throw new Error(`unexpected ${ch} in ${s}`);
  }
  return total + group + (digit ?? 0);
}

describe('koreanNumber', () => {
  it.each([
    [0, '영'],
    [1, '일'],
    [2, '이'],
    [9, '구'],
    [10, '십'],
    [11, '십일'],
    [16, '십육'],
    [20, '이십'],
    [35, '삼십오'],
    [100, '백'],
    [101, '백일'],
    [110, '백십'],
    [111, '백십일'],
    [999, '구백구십구'],
    [1000, '천'],
    [1001, '천일'],
    [1010, '천십'],
    [1035, '천삼십오'],
    [1100, '천백'],
    [1999, '천구백구십구'],
    [2001, '이천일'],
    [9999, '구천구백구십구'],
    [10000, '만'],
    [10001, '만일'],
    [11000, '만천'],
    [20000, '이만'],
    [99999, '구만구천구백구십구'],
    [100000, '십만'],
    [110000, '십일만'],
    [1000000, '백만'],
    [10000000, '천만'],
    [12345678, '천이백삼십사만오천육백칠십팔'],
    [100000000, '일억'],
    [100010000, '일억만'],
    [300000001, '삼억일'],
    [1000000000000, '일조'],
  ])('%i → %s', (n, expected) => {
    expect(koreanNumber(n)).toBe(expected);
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53])('rejects %s', (n) => {
    expect(() => koreanNumber(n)).toThrow(RangeError);
  });

  it('reads back to the same number (0 to the largest safe integer)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: 0, max: 99999 }), fc.maxSafeNat()), (n) => {
        expect(parseKorean(koreanNumber(n))).toBe(n);
      }),
      { numRuns: 2000 },
    );
  });

  it('never says 일 before 십, 백, 천 or a leading 만, and never 영 inside a number', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (n) => {
        const s = koreanNumber(n);
        expect(s).toMatch(/^[일이삼사오육칠팔구십백천만억조]+$/);
        expect(s).not.toMatch(/일[십백천]/);
        expect(s).not.toMatch(/^일만/);
      }),
    );
  });

  it('grows by one ending syllable per added unit digit: n*10+d ends in the reading of d', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e12 }), fc.integer({ min: 1, max: 9 }), (n, d) => {
        expect(koreanNumber(n * 10 + d).endsWith(koreanNumber(d))).toBe(true);
      }),
    );
  });
});

describe('readTicketNumber', () => {
  it.each([
    ['1035', '천삼십오'],
    ['0042', '사십이'],
    ['0000', '영'],
    ['A035', '에이 삼십오'],
    ['B100', '비 백'],
    ['AB001', '에이 비 일'],
    ['a7', '에이 칠'],
    ['1-2', '일 이'],
  ])('%s → %s', (ticket, expected) => {
    expect(readTicketNumber(ticket)).toBe(expected);
  });

  it('reads any prefixed ticket as letter names then the number', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Z]{0,2}$/),
        fc.integer({ min: 0, max: 99999 }),
        fc.integer({ min: 1, max: 5 }),
        (prefix, n, width) => {
          const ticket = `${prefix}${String(n).padStart(width, '0')}`;
          const words = readTicketNumber(ticket).split(' ');
          expect(words.length).toBe(prefix.length + 1);
          expect(parseKorean(words.at(-1)!)).toBe(n);
        },
      ),
    );
  });
});

describe('the call sentence', () => {
  it.each([
    ['창구', '로'],
    ['민원실', '로'], // ㄹ final
    ['삼', '으로'],
    ['일번', '으로'],
    ['오', '로'],
    ['Room', '로'],
  ])('particle after %s is %s', (w, p) => {
    expect(particleRo(w)).toBe(p);
  });

  it('says "천삼십오번 고객님, 삼번 창구로 오십시오" for 1035 at counter 3', () => {
    const parts = callParts('1035', '3', '3번 창구');
    expect(spokenText(parts)).toBe('천삼십오번 고객님, 삼번 창구로 오십시오');
    expect(parts.filter((p) => p.kind === 'pause')).toHaveLength(1);
    expect(callCaption('1035', '3', '3번 창구')).toBe('1035번 고객님, 3번 창구로 오십시오');
  });

  it.each([
    ['A035', '3', '3번 창구', '에이 삼십오번 고객님, 삼번 창구로 오십시오'],
    ['2001', '12', '12번 창구', '이천일번 고객님, 십이번 창구로 오십시오'],
    ['1001', 'p', '민원실', '천일번 고객님, 민원실로 오십시오'],
    ['1001', '7', undefined, '천일번 고객님, 칠번 창구로 오십시오'],
    ['1001', '2', '창구 3', '천일번 고객님, 창구 삼으로 오십시오'],
    ['1001', '2', '여권 A', '천일번 고객님, 여권 에이로 오십시오'],
  ])('%s at %s (%s) → %s', (ticket, counter, name, expected) => {
    expect(spokenText(callParts(ticket, counter, name))).toBe(expected);
  });

  it('holds only Hangul words for any ticket and counter name', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Z]{0,2}\d{1,5}$/),
        fc.stringMatching(/^[0-9A-Za-z가-힣 ]{0,12}$/),
        (ticket, name) => {
          const parts = callParts(ticket, '1', name);
          for (const p of parts) if (p.kind === 'word') expect(p.text).toMatch(/^[가-힣]+$/);
        },
      ),
    );
  });

  it('says no sign of a counter name: espeak read / & + ~ in English and spelled ㆍ ・ names jamo by jamo', () => {
    expect(spokenText(callParts('1035', '5', '여권/비자'))).toBe('천삼십오번 고객님, 여권 비자로 오십시오');
    expect(spokenText(callParts('1035', '5', '여권ㆍ비자'))).toBe('천삼십오번 고객님, 여권 비자로 오십시오');
    expect(spokenText(callParts('1035', '5', '여권・비자 & 병역'))).toBe(
      '천삼십오번 고객님, 여권 비자 병역으로 오십시오',
    );
    expect(spokenText(callParts('1035', '5', '★'))).toBe('천삼십오번 고객님, 오번 창구로 오십시오');
  });

  it('reads full-width and circled digits of a counter name (espeak said nothing for them)', () => {
    expect(spokenText(callParts('1035', '3', '３번 창구'))).toBe('천삼십오번 고객님, 삼번 창구로 오십시오');
    expect(spokenText(callParts('1035', '1', '①번 창구'))).toBe('천삼십오번 고객님, 일번 창구로 오십시오');
  });

  it('holds only Hangul words, and a counter, for any counter name at all', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 20 }), (name) => {
        const parts = callParts('1035', '3', name);
        const pause = parts.findIndex((p) => p.kind === 'pause');
        expect(parts.length - pause - 2).toBeGreaterThan(0);
        for (const p of parts) if (p.kind === 'word') expect(p.text).toMatch(/^[가-힣]+$/);
      }),
      { numRuns: 500 },
    );
  });

  it('the caption writes the particle after the word before a bracket, as Korean is written', () => {
    expect(callCaption('1035', '2', '여권(2층)')).toBe('1035번 고객님, 여권(2층)으로 오십시오');
    expect(callCaption('1035', '2', '민원실(2층)')).toBe('1035번 고객님, 민원실(2층)로 오십시오');
    expect(callCaption('1035', '2', '창구 M')).toBe('1035번 고객님, 창구 M으로 오십시오');
  });

  it('speakableText turns digits and letters into words', () => {
    expect(speakableText('3번 창구')).toBe('삼번 창구');
    expect(speakableText('B-10')).toBe('비-십');
  });

  it('a sub-counter such as 3-1 is said 삼 다시 일, not 삼일 (counter 31)', () => {
    expect(speakableText('3-1번 창구')).toBe('삼 다시 일번 창구');
    expect(spokenText(callParts('1001', '3-1', '3-1번 창구'))).toBe('천일번 고객님, 삼 다시 일번 창구로 오십시오');
    expect(speakableText('12 - 2번')).toBe('십이 다시 이번');
  });

  it('a name in brackets is said without them, the particle after its last word', () => {
    expect(spokenText(callParts('A001', '7', '민원실(2층)'))).toBe('에이 일번 고객님, 민원실 이층으로 오십시오');
    expect(spokenText(callParts('1035', '8', '상담실 (B동)'))).toBe('천삼십오번 고객님, 상담실 비동으로 오십시오');
  });
});
