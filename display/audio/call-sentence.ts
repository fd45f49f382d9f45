// The voice call: "천삼십오번 고객님, 삼번 창구로 오십시오". Built once as a list of spoken words and
// pauses; the espeak voice joins them into text, the clip voice looks each word up in its pack.
import { particleRo, particleRoAfterName } from '../korean-particle.ts';
import { readTicketNumber, speakableText } from './korean-number.ts';

export type SpokenPart = { kind: 'word'; text: string } | { kind: 'pause'; ms: number };

/** The pause a comma makes between "…고객님" and the counter. */
export const COMMA_PAUSE_MS = 250;

/** How a counter is spoken: its configured name ("3번 창구" → 삼번 창구), or "<id>번 창구". */
export function counterReading(counterId: string, counterName: string | undefined): string {
  const name = counterName?.trim() || `${counterId}번 창구`;
  // Brackets are not heard: "민원실(2층)" is said 민원실 이층, and the particle then follows 층
  // (이층으로), not the bracket (이층)로, said apart as a stray 로. No other sign is heard either:
  // espeak says "/", "&", "+", "~" in English (여권 slash 비자), and spells a name with ㆍ or ・
  // (the middle dots Korean keyboards give) jamo by jamo; a clip's file name cannot hold "/".
  // 여권/비자 is said 여권 비자, as a person reads it. Full-width digits and letters (３번 창구, as a
  // Korean input method types them) and ① are read as the digits they are (NFKC): espeak said
  // nothing for them, and the counter's number was lost (번 창구로).
  return spokenWords(name) || spokenWords(`${counterId}번 창구`);
}

function spokenWords(name: string): string {
  return speakableText(name.normalize('NFKC'))
    .replace(/[^\s가-힣]+/g, ' ')
    .replace(/\s+/g, ' ')
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
  return `${ticket}번 고객님, ${name}${particleRoAfterName(name)} 오십시오`;
}

function word(text: string): SpokenPart {
  return { kind: 'word', text };
}
