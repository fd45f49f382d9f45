// Calls are announced one after another, each to the end: a new call never cuts off the one being
// spoken, and two calls close together are both announced, each with its own number (other
// systems have been seen announcing the newer number twice). A recall is announced again.
// Synthesis happens just before a call is played (nothing is prepared that may never be heard);
// the last few rendered calls are kept, so a recall costs no synthesis.
import type { Logger } from 'pino';
import type { AudioOut } from '../../device/ports/outputs.ts';
import { callCaption, callParts, spokenText } from './call-sentence.ts';
import { chimeAt } from './chime.ts';
import { errorCode } from './errors.ts';
import type { Voice } from './voice.ts';
import { applyGain, concatPcm, encodeWav, type Pcm, silence } from './wav.ts';

export interface CallRequest {
  /** ticket number as shown, e.g. "1035" or "A035" */
  ticket: string;
  /** counter id, e.g. "3" */
  counter: string;
  recall: boolean;
  /** seq of the queue event that asked for it, for logs */
  seq?: number;
}

export interface AnnouncementResult {
  call: CallRequest;
  ok: boolean;
  /** error code when not ok */
  code?: string;
  /** the voice failed and the chime was played alone (the board shows the call) */
  chimeOnly?: boolean;
}

export interface AnnouncerOptions {
  voice: Voice;
  out: AudioOut;
  logger: Logger;
  /** the configured name of a counter ("3번 창구"), undefined when unknown */
  counterName: (counterId: string) => string | undefined;
  chime?: boolean;
  /** linear gain 0..1 */
  volume?: number;
  /** times the sentence is spoken per call */
  repeat?: number;
  /** calls waiting beyond this are dropped oldest first: a call minutes late only confuses */
  maxPending?: number;
  /** how long stop() waits for the call being played before closing the output */
  stopWaitMs?: number;
  onResult?: (result: AnnouncementResult) => void;
  /** calls wait for this first (the output's start-up probe), so nothing plays over it */
  ready?: Promise<unknown>;
}

const CHIME_TO_VOICE_MS = 150;
/** the chime alone, when the voice fails: espeak's rate, the rate of every other call */
const CHIME_ALONE_RATE = 22050;
const BETWEEN_REPEATS_MS = 700;
const CACHE_ENTRIES = 8;

export class Announcer {
  private readonly pending: CallRequest[] = [];
  private worker: Promise<void> | null = null;
  private stopped = false;
  private readonly rendered = new Map<string, Uint8Array>();
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly opts: AnnouncerOptions) {}

  /** Queue a call. Returns false when it was not queued (stopped, or the same call is already
   * waiting: pressing recall three times while it waits does not announce it three times). */
  enqueue(call: CallRequest): boolean {
    if (this.stopped) return false;
    if (this.pending.some((p) => p.ticket === call.ticket && p.counter === call.counter)) {
      this.opts.logger.debug(
        { ticket: call.ticket, counter: call.counter },
        'same call already waiting; not queued twice',
      );
      return false;
    }
    const max = this.opts.maxPending ?? 12;
    while (this.pending.length >= max) {
      const dropped = this.pending.shift()!;
      this.opts.logger.warn(
        { code: 'audio-queue-full', ticket: dropped.ticket, counter: dropped.counter, max },
        'too many calls waiting to be announced; the oldest is dropped',
      );
      this.opts.onResult?.({ call: dropped, ok: false, code: 'audio-queue-full' });
    }
    this.pending.push(call);
    this.worker ??= this.drain();
    return true;
  }

  /** Calls waiting, not counting the one being played. */
  get waiting(): number {
    return this.pending.length;
  }

  get busy(): boolean {
    return this.worker !== null;
  }

  /** Resolves when every queued call has been announced (or has failed). */
  idle(): Promise<void> {
    if (!this.worker) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Drop waiting calls, let the one being played end (up to stopWaitMs), then close the output. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.pending.length = 0;
    if (this.worker) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.worker,
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, this.opts.stopWaitMs ?? 10_000);
          timer.unref?.();
        }),
      ]);
      clearTimeout(timer);
    }
    await this.opts.out.close();
  }

  /** The WAV of one call: chime, then the sentence (repeated as configured), at the volume. */
  async render(call: CallRequest): Promise<Uint8Array> {
    const parts = callParts(call.ticket, call.counter, this.opts.counterName(call.counter));
    const key = spokenText(parts);
    const cached = this.rendered.get(key);
    if (cached) {
      // Refresh its place: the map's order is the eviction order.
      this.rendered.delete(key);
      this.rendered.set(key, cached);
      return cached;
    }
    const voice = await this.opts.voice.synth(parts);
    const rate = voice.rate;
    const pieces: Pcm[] = [];
    if (this.opts.chime ?? true) pieces.push(chimeAt(rate), silence(rate, CHIME_TO_VOICE_MS));
    for (let i = 0; i < (this.opts.repeat ?? 1); i++) {
      if (i > 0) pieces.push(silence(rate, BETWEEN_REPEATS_MS));
      pieces.push(voice);
    }
    const wav = encodeWav(applyGain(concatPcm(rate, pieces), this.opts.volume ?? 0.8));
    this.rendered.set(key, wav);
    if (this.rendered.size > CACHE_ENTRIES) this.rendered.delete(this.rendered.keys().next().value!);
    return wav;
  }

  private async drain(): Promise<void> {
    try {
      await this.opts.ready?.catch(() => undefined);
      while (!this.stopped && this.pending.length > 0) {
        const call = this.pending.shift()!;
        await this.announce(call);
      }
    } finally {
      this.worker = null;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private async announce(call: CallRequest): Promise<void> {
    const caption = callCaption(call.ticket, call.counter, this.opts.counterName(call.counter));
    const log = { ticket: call.ticket, counter: call.counter, recall: call.recall, seq: call.seq };
    let voiceError: unknown = null;
    try {
      let wav: Uint8Array;
      try {
        wav = await this.render(call);
      } catch (err) {
        // The voice failed (its process killed for want of memory, a crash, a broken clip): the
        // chime alone still turns heads to the board, which shows the call. Not with `chime:
        // false`, where the office wants no chime.
        if (!(this.opts.chime ?? true)) throw err;
        voiceError = err;
        wav = encodeWav(applyGain(chimeAt(CHIME_ALONE_RATE), this.opts.volume ?? 0.8));
      }
      await this.opts.out.play(wav, caption);
      if (voiceError) {
        const code = errorCode(voiceError);
        this.opts.logger.warn(
          { ...log, code, err: (voiceError as Error).message },
          'call announced with the chime alone: the voice failed',
        );
        this.opts.onResult?.({ call, ok: false, code, chimeOnly: true });
        return;
      }
      this.opts.logger.info(log, 'call announced');
      this.opts.onResult?.({ call, ok: true });
    } catch (err) {
      // Sound is never fatal: log with the stable code and go on with the next call.
      const code = errorCode(err);
      this.opts.logger.warn({ ...log, code, err: (err as Error).message }, 'call could not be announced');
      this.opts.onResult?.({ call, ok: false, code });
    }
  }
}
