// A recorded voice: a directory of WAV clips, one per word or syllable, named by the Hangul they
// say (천.wav, 삼.wav, 번.wav, 고객님.wav, 창구로.wav…). A call's words are cut into the fewest clips
// the pack has (a whole word when it was recorded, else its syllables) and joined. See
// docs/audio.md for the list of clips a pack needs.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { SpokenPart } from './call-sentence.ts';
import { AudioError } from './errors.ts';
import type { Voice } from './voice.ts';
import { concatPcm, decodeWav, type Pcm, resample, silence } from './wav.ts';

export interface ClipVoiceOptions {
  dir: string;
  logger: Logger;
  /** silence between two words; clips are trimmed, so this is the whole gap */
  wordGapMs?: number;
}

/** below this level (of 32767) a clip's edges count as silence and are trimmed */
const TRIM_THRESHOLD = 400;
/** keep this much of the quiet edge so consonant onsets and fades survive the trim */
const TRIM_MARGIN_MS = 15;

export class ClipVoice implements Voice {
  readonly kind = 'clips';
  /** NFC word → file; NFC because a pack made on macOS has NFD (decomposed) file names */
  private files = new Map<string, string>();
  private decoded = new Map<string, Pcm>();
  private rate: number | null = null;

  constructor(private readonly opts: ClipVoiceOptions) {}

  async load(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.opts.dir);
    } catch (err) {
      throw new AudioError(
        'clip-pack-unreadable',
        `cannot read the clip pack directory ${this.opts.dir} (${(err as Error).message}); check outputs.audio.clipsDir`,
        { cause: err },
      );
    }
    this.files.clear();
    for (const name of names) {
      if (!/\.wav$/i.test(name)) continue;
      this.files.set(name.slice(0, -4).normalize('NFC'), path.join(this.opts.dir, name));
    }
    if (this.files.size === 0) {
      throw new AudioError('clip-pack-unreadable', `the clip pack ${this.opts.dir} has no .wav clips`);
    }
    this.opts.logger.info({ dir: this.opts.dir, clips: this.files.size }, 'clip pack indexed');
  }

  /** The clips that say `word`, fewest first; null when the pack cannot say it. */
  segment(word: string): string[] | null {
    return segmentWord(word, (key) => this.files.has(key));
  }

  async synth(parts: SpokenPart[]): Promise<Pcm> {
    const plan: Array<string[] | number> = [];
    const missing: string[] = [];
    for (const p of parts) {
      if (p.kind === 'pause') {
        plan.push(p.ms);
        continue;
      }
      const clips = this.segment(p.text);
      if (clips) plan.push(clips);
      else missing.push(p.text);
    }
    if (missing.length > 0) {
      throw new AudioError(
        'clip-missing',
        `the clip pack ${this.opts.dir} cannot say ${missing.map((w) => `"${w}"`).join(', ')}: record the missing words or syllables as <word>.wav`,
      );
    }
    const pieces: Array<{ clip: Pcm } | { gapMs: number }> = [];
    for (const step of plan) {
      if (typeof step === 'number') {
        pieces.push({ gapMs: step });
        continue;
      }
      if (pieces.at(-1) && 'clip' in pieces.at(-1)!) pieces.push({ gapMs: this.opts.wordGapMs ?? 60 });
      for (const key of step) pieces.push({ clip: await this.clip(key) });
    }
    const rate = this.rate ?? 22050;
    return concatPcm(
      rate,
      pieces.map((p) => ('gapMs' in p ? silence(rate, p.gapMs) : resample(p.clip, rate))),
    );
  }

  private async clip(key: string): Promise<Pcm> {
    const cached = this.decoded.get(key);
    if (cached) return cached;
    const file = this.files.get(key)!;
    let pcm: Pcm;
    try {
      pcm = trimSilence(decodeWav(await readFile(file)));
    } catch (err) {
      if (err instanceof AudioError) throw new AudioError(err.code, `${file}: ${err.message}`, { cause: err });
      throw new AudioError('clip-pack-unreadable', `cannot read clip ${file} (${(err as Error).message})`, {
        cause: err,
      });
    }
    // The pack speaks at the rate of the first clip used; the odd clip recorded otherwise is resampled.
    this.rate ??= pcm.rate;
    this.decoded.set(key, pcm);
    return pcm;
  }
}

export function trimSilence(pcm: Pcm): Pcm {
  const s = pcm.samples;
  let start = 0;
  while (start < s.length && Math.abs(s[start]!) < TRIM_THRESHOLD) start++;
  let end = s.length;
  while (end > start && Math.abs(s[end - 1]!) < TRIM_THRESHOLD) end--;
  if (start >= end) return { rate: pcm.rate, samples: new Int16Array(0) };
  const margin = Math.round((pcm.rate * TRIM_MARGIN_MS) / 1000);
  return { rate: pcm.rate, samples: s.slice(Math.max(0, start - margin), Math.min(s.length, end + margin)) };
}

/** Cut `word` into the fewest pieces `has` knows (dynamic programming over the syllables); null
 * when it cannot be cut. NFC first, so composed and decomposed Hangul compare equal. */
export function segmentWord(word: string, has: (piece: string) => boolean): string[] | null {
  const chars = [...word.normalize('NFC')];
  // best[i]: fewest pieces covering chars[0..i)
  const best: Array<string[] | null> = [[]];
  for (let end = 1; end <= chars.length; end++) {
    best[end] = null;
    for (let start = 0; start < end; start++) {
      const head = best[start];
      const piece = chars.slice(start, end).join('');
      if (head && has(piece) && (!best[end] || head.length + 1 < best[end]!.length)) best[end] = [...head, piece];
    }
  }
  return best[chars.length] ?? null;
}
