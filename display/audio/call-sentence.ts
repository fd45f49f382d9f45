// The voice call: "천삼십오번 고객님, 삼번 창구로 오십시오". Built once as a list of spoken words and
// pauses; the espeak voice joins them into text, the clip voice looks each word up in its pack.
import { readTicketNumber, speakableText } from './korean-number.ts';

export type SpokenPart = { kind: 'word'; text: string } | { kind: 'pause'; ms: number };

/** The pause a comma makes between "…고객님" and the counter. */
export const COMMA_PAUSE_MS = 250;

/** The particle (으)로 after a word: 로 after a vowel or ㄹ, 으로 after any other final consonant. */
export function particleRo(word: string): '로' | '으로' {
  const last = word.trim().at(-1);
  if (last === undefined) return '로';
  const code = last.charCodeAt(0) - 0xac00;
  if (code < 0 || code > 11171) return '로'; // not a Hangul syllable: the sentence reads best with 로
  const finalConsonant = code % 28;
  return finalConsonant === 0 || finalConsonant === 8 ? '로' : '으로';
}

/** How a counter is spoken: its configured name ("3번 창구" → 삼번 창구), or "<id>번 창구". */
export function counterReading(counterId: string, counterName: string | undefined): string {
  const name = counterName?.trim() || `${counterId}번 창구`;
  // Brackets are not heard: "민원실(2층)" is said 민원실 이층, and the particle then follows 층
  // (이층으로), not the bracket (이층)로, said apart as a stray 로.
  return speakableText(name)
    .replace(/[()[\]]/g, ' ')
    .trim();
}

/** The call as spoken words and pauses. */
export function callParts(ticket: string, counterId: string, counterName: string | undefined): SpokenPart[] {
  const counter = counterReading(counterId, counterName);
  const counterWords = counter.split(/\s+/).filter(Boolean);
  const lastIndex = counterWords.length - 1;
  // The particle is glued to the last word of the counter's name: 창구로, 민원실로, 창구 삼으로.
  counterWords[lastIndex] = `${counterWords[lastIndex]}${particleRo(counter)}`;
  const ticketWords = readTicketNumber(ticket).split(' ');
  ticketWords[ticketWords.length - 1] += '번';
  return [
    ...ticketWords.map(word),
    word('고객님'),
    { kind: 'pause', ms: COMMA_PAUSE_MS },
    ...counterWords.map(word),
    word('오십시오'),
  ];
}

/** The spoken sentence as text: "천삼십오번 고객님, 삼번 창구로 오십시오". */
export function spokenText(parts: SpokenPart[]): string {
  let out = '';
  for (const p of parts) {
    if (p.kind === 'pause') out += ',';
    else out += (out ? ' ' : '') + p.text;
  }
  return out;
}

/** The sentence as a person would write it, digits kept: for logs and captions. */
export function callCaption(ticket: string, counterId: string, counterName: string | undefined): string {
  const name = counterName?.trim() || `${counterId}번 창구`;
  return `${ticket}번 고객님, ${name}${particleRo(speakableText(name))} 오십시오`;
}

function word(text: string): SpokenPart {
  return { kind: 'word', text };
}
