// The chime before a call: three soft bell tones rising C5-E5-G5 (the familiar 딩동댕 of Korean
// offices), about 0.8 s. Synthesised, so there is no file to ship, at whatever rate the voice
// speaks, and cached per rate because it never changes.
import type { Pcm } from './wav.ts';

interface Note {
  hz: number;
  startMs: number;
}

const NOTES: Note[] = [
  { hz: 523.25, startMs: 0 },
  { hz: 659.26, startMs: 170 },
  { hz: 783.99, startMs: 340 },
];
/** each tone rings this long; the last one ends the chime */
const NOTE_MS = 460;
/** a few harmonics with quick decay give a soft vibraphone-like bell rather than a beep */
const PARTIALS = [
  { mult: 1, amp: 1, decayMs: 220 },
  { mult: 2, amp: 0.32, decayMs: 90 },
  { mult: 3, amp: 0.12, decayMs: 60 },
];
const ATTACK_MS = 6;
/** fade to exact zero at each tone's end so nothing clicks */
const RELEASE_MS = 30;
/** peak level before the configured volume: leaves headroom where the tones overlap */
const PEAK = 0.55;

export const CHIME_MS = NOTES.at(-1)!.startMs + NOTE_MS;

export function synthChime(rate: number): Pcm {
  const total = Math.ceil((rate * CHIME_MS) / 1000);
  const mix = new Float64Array(total);
  const attack = (rate * ATTACK_MS) / 1000;
  const release = (rate * RELEASE_MS) / 1000;
  const length = Math.round((rate * NOTE_MS) / 1000);
  for (const note of NOTES) {
    const start = Math.round((rate * note.startMs) / 1000);
    for (let i = 0; i < length && start + i < total; i++) {
      const t = i / rate;
      let v = 0;
      for (const p of PARTIALS) {
        v += p.amp * Math.exp((-t * 1000) / p.decayMs) * Math.sin(2 * Math.PI * note.hz * p.mult * t);
      }
      const env = Math.min(1, i / attack, (length - i) / release);
      mix[start + i]! += v * env;
    }
  }
  let peak = 0;
  for (const v of mix) peak = Math.max(peak, Math.abs(v));
  const scale = peak > 0 ? (PEAK * 32767) / peak : 0;
  const samples = new Int16Array(total);
  for (let i = 0; i < total; i++) samples[i] = Math.round(mix[i]! * scale);
  return { rate, samples };
}

const cache = new Map<number, Pcm>();

/** The chime at `rate`, synthesised once per rate. Callers must not modify the samples. */
export function chimeAt(rate: number): Pcm {
  let pcm = cache.get(rate);
  if (!pcm) {
    pcm = synthChime(rate);
    cache.set(rate, pcm);
  }
  return pcm;
}
