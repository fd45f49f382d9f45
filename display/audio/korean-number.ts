// Numbers read the Korean (Sino-Korean) way, as a clerk calls them: 1035 → 천삼십오, 10000 → 만.
// Spelled out in Hangul so both voices get exactly the same words: espeak reads Hangul reliably,
// and a recorded clip pack only has to cover the digit and unit syllables.

const DIGITS = ['영', '일', '이', '삼', '사', '오', '육', '칠', '팔', '구'] as const;
/** units inside a group of four digits: ones, 십, 백, 천 */
const SMALL_UNITS = ['', '십', '백', '천'] as const;
/** units of the groups of four digits: ones, 만, 억, 조 */
const BIG_UNITS = ['', '만', '억', '조'] as const;

/** English letter names as Korean speakers say them, for ticket prefixes such as "A035". */
export const LETTER_NAMES: Readonly<Record<string, string>> = {
  A: '에이',
  B: '비',
  C: '씨',
  D: '디',
  E: '이',
  F: '에프',
  G: '지',
  H: '에이치',
  I: '아이',
  J: '제이',
  K: '케이',
  L: '엘',
  M: '엠',
  N: '엔',
  O: '오',
  P: '피',
  Q: '큐',
  R: '알',
  S: '에스',
  T: '티',
  U: '유',
  V: '브이',
  W: '더블유',
  X: '엑스',
  Y: '와이',
  Z: '제트',
};

/** 0 to 9999 → e.g. 천삼십오; the digit 1 is silent before 십/백/천 (십, not 일십). Empty for 0. */
function readGroup(g: number): string {
  let out = '';
  for (let pos = 3; pos >= 0; pos--) {
    const d = Math.floor(g / 10 ** pos) % 10;
    if (d === 0) continue;
    out += (d === 1 && pos > 0 ? '' : DIGITS[d]!) + SMALL_UNITS[pos]!;
  }
  return out;
}

/**
 * The Sino-Korean reading of a non-negative safe integer: 1 → 일, 11 → 십일, 1035 → 천삼십오,
 * 2001 → 이천일, 10000 → 만, 110000 → 십일만, 100000000 → 일억, 0 → 영.
 * A group of exactly 1 before 만 is read 만 (not 일만), as everyone says it; before 억 and 조
 * the 일 stays (일억), as it does in speech.
 */
export function koreanNumber(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`koreanNumber: expected a non-negative safe integer, got ${n}`);
  }
  if (n === 0) return DIGITS[0];
  let out = '';
  let rest = n;
  for (let i = 0; rest > 0; i++) {
    const g = rest % 10000;
    rest = Math.floor(rest / 10000);
    if (g === 0) continue;
    const unit = BIG_UNITS[i];
    if (unit === undefined) throw new RangeError(`koreanNumber: ${n} is too large`);
    out = (g === 1 && i === 1 ? '' : readGroup(g)) + unit + out;
  }
  return out;
}

/**
 * How a ticket number is spoken, without the counter word 번: "1035" → 천삼십오, "A035" →
 * 에이 삼십오, "0042" → 사십이. The digits are read as one number (zero padding is for the eye),
 * a letter prefix by its English name and a space, so the pause separates letter from number.
 * Anything that is not letters-then-digits is read character by character, digits one by one.
 */
export function readTicketNumber(ticket: string): string {
  const m = /^([A-Za-z]{0,3})(\d{1,15})$/.exec(ticket.trim());
  if (m) {
    const letters = [...m[1]!.toUpperCase()].map((c) => LETTER_NAMES[c]).join(' ');
    const number = koreanNumber(Number(m[2]));
    return letters ? `${letters} ${number}` : number;
  }
  return readCharacters(ticket);
}

function readCharacters(text: string): string {
  const words: string[] = [];
  for (const c of text.toUpperCase()) {
    if (c >= '0' && c <= '9') words.push(DIGITS[Number(c)]!);
    else if (LETTER_NAMES[c]) words.push(LETTER_NAMES[c]);
  }
  return words.join(' ');
}

/**
 * Free text as it should be spoken: runs of digits become Korean numbers ("3번 창구" → 삼번 창구),
 * Latin letters their names ("A창구" → 에이창구), a dash between digits 다시 ("3-1" → 삼 다시 일).
 * Other characters stay as they are.
 */
export function speakableText(text: string): string {
  return (
    text
      // "3-1번 창구" is said 삼 다시 일: read as one run, 삼일 was heard as counter 31
      .replace(/(\d)\s*-\s*(?=\d)/g, '$1 다시 ')
      .replace(/\d+/g, (digits) => (digits.length <= 15 ? koreanNumber(Number(digits)) : readCharacters(digits)))
      .replace(/[A-Za-z]/g, (c) => LETTER_NAMES[c.toUpperCase()] ?? c)
  );
}
