// The particle (으)로 after a counter's name, for the voice and for what is written (the portrait
// board's "…로 오십시오", the call's caption), from one rule, so the board and the voice never
// disagree on 창구로 / 창구 삼으로.
import { speakableText } from './audio/korean-number.ts';

/** The particle (으)로 after a word: 로 after a vowel or ㄹ, 으로 after any other final consonant. */
export function particleRo(word: string): '로' | '으로' {
  const last = word.trim().at(-1);
  if (last === undefined) return '로';
  const code = last.charCodeAt(0) - 0xac00;
  if (code < 0 || code > 11171) return '로'; // not a Hangul syllable: the sentence reads best with 로
  const finalConsonant = code % 28;
  return finalConsonant === 0 || finalConsonant === 8 ? '로' : '으로';
}

/**
 * The particle after a name as written: digits and letters as they are read (창구 3 → 으로, 창구 M
 * → 으로), and a bracket at the end left out, as Korean orthography writes a particle after the
 * word before the bracket: 여권(2층)으로, not 여권(2층)로 (the bracket's ")" is no syllable).
 * Full-width digits count as digits (창구 ３ → 으로).
 */
export function particleRoAfterName(name: string): '로' | '으로' {
  const withoutBracket =
    name
      .normalize('NFKC')
      .replace(/\s*[([][^()[\]]*[)\]]\s*$/, '')
      .trim() || name;
  const spoken = speakableText(withoutBracket)
    .replace(/[^\s가-힣]+\s*$/, '')
    .trim();
  return particleRo(spoken);
}
