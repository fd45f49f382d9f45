// A clip pack that cannot say a call (a missing word, a broken file) must not silence it: the
// call is spoken by the fallback voice (espeak) instead, and the gap is logged once per message
// so whoever maintains the pack learns what to record.
import type { Logger } from 'pino';
import type { SpokenPart } from './call-sentence.ts';
import { errorCode } from './errors.ts';
import type { Voice } from './voice.ts';
import type { Pcm } from './wav.ts';

export class FallbackVoice implements Voice {
  readonly kind: string;
  private primaryLoaded = false;
  private readonly warned = new Set<string>();

  constructor(
    private readonly primary: Voice,
    private readonly fallback: Voice,
    private readonly logger: Logger,
  ) {
    this.kind = `${primary.kind}+${fallback.kind}`;
  }

  async load(): Promise<void> {
    try {
      await this.primary.load();
      this.primaryLoaded = true;
    } catch (err) {
      this.warn(err);
    }
    await this.fallback.load();
  }

  async synth(parts: SpokenPart[]): Promise<Pcm> {
    if (this.primaryLoaded) {
      try {
        return await this.primary.synth(parts);
      } catch (err) {
        this.warn(err);
      }
    }
    return this.fallback.synth(parts);
  }

  async close(): Promise<void> {
    await this.primary.close?.();
    await this.fallback.close?.();
  }

  private warn(err: unknown): void {
    const message = (err as Error).message;
    if (this.warned.has(message)) return;
    this.warned.add(message);
    this.logger.warn(
      { code: errorCode(err), voice: this.primary.kind, fallback: this.fallback.kind, err: message },
      'voice cannot speak this call; using the fallback voice',
    );
  }
}
