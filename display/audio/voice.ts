// A voice turns the spoken parts of a call into PCM. Two exist: espeak (synthesis, always
// available offline) and clips (a recorded pack; better sounding, only as complete as the pack).
import type { SpokenPart } from './call-sentence.ts';
import type { Pcm } from './wav.ts';

export interface Voice {
  readonly kind: string;
  /** Prepare whatever is cheap to check early (e.g. index the clip pack); may throw AudioError. */
  load(): Promise<void>;
  synth(parts: SpokenPart[]): Promise<Pcm>;
  /** Let go of what it holds (the speech process); the daemon stops. */
  close?(): Promise<void>;
}
