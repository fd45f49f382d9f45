// What a recorded clip pack must contain for a given office: the syllables every number is made
// of, the fixed words of the sentence, the letter names of the ticket prefixes in use, and each
// counter's words. Used by make-clip-pack.ts (list, check, or generate a starter pack) and by
// the tests.
import pino from 'pino';
import type { Config } from '../../device/config/schema.ts';
import { callParts } from './call-sentence.ts';
import { ClipVoice, segmentWord } from './clip-voice.ts';
import { LETTER_NAMES } from './korean-number.ts';

/** Every ticket number is said with these syllables (영 only for a number 0). */
export const NUMBER_SYLLABLES = ['영', '일', '이', '삼', '사', '오', '육', '칠', '팔', '구', '십', '백', '천', '만'];
/** The fixed words of "…번 고객님, …로 오십시오". */
export const SENTENCE_WORDS = ['번', '고객님', '오십시오'];

/** The clips (file names without .wav) a pack needs to say every call of this config. */
export function clipWords(config: Pick<Config, 'services' | 'counters'>): string[] {
  const words = new Set<string>([...NUMBER_SYLLABLES, ...SENTENCE_WORDS]);
  for (const s of config.services) for (const c of s.numbers.prefix) words.add(LETTER_NAMES[c]!);
  const canSay = (w: string): boolean => segmentWord(w, (piece) => words.has(piece)) !== null;
  for (const counter of config.counters) {
    // The words after the pause are the counter's ("삼번", "창구로"); the last is 오십시오.
    const parts = callParts('1', counter.id, counter.name);
    const pause = parts.findIndex((p) => p.kind === 'pause');
    for (const p of parts.slice(pause + 1, -1)) {
      // A word the syllables cannot make is recorded whole: "창구로" sounds better than 창+구+로.
      if (p.kind === 'word' && !canSay(p.text)) words.add(p.text);
    }
  }
  return [...words];
}

/** Words of the config that a pack in `dir` cannot say. */
export async function missingClips(dir: string, config: Pick<Config, 'services' | 'counters'>): Promise<string[]> {
  const voice = new ClipVoice({ dir, logger: pino({ level: 'silent' }) });
  await voice.load();
  return clipWords(config).filter((w) => voice.segment(w) === null);
}
