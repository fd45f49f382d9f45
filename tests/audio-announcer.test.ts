import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { ComponentHealth } from '../device/ports/health.ts';
import type { AudioOut } from '../device/ports/outputs.ts';
import { type AnnouncementResult, Announcer, type CallRequest } from '../display/audio/announcer.ts';
import { type SpokenPart, spokenText } from '../display/audio/call-sentence.ts';
import { AudioError } from '../display/audio/errors.ts';
import type { Voice } from '../display/audio/voice.ts';
import { durationMs, decodeWav } from '../display/audio/wav.ts';
import { CHIME_MS } from '../display/audio/chime.ts';

const logger = pino({ level: 'silent' });
const RATE = 8000;

function voiceLevel(text: string): number {
  let level = 0;
  for (const c of text) level = (level * 31 + c.charCodeAt(0)) % 4000;
  return 1000 + level;
}

/** A voice that "says" a sentence as 100 ms of a level derived from its text, and records it. */
class FakeVoice implements Voice {
  readonly kind = 'fake';
  readonly said: string[] = [];
  async load(): Promise<void> {}
  async synth(parts: SpokenPart[]) {
    const text = spokenText(parts);
    this.said.push(text);
    return { rate: RATE, samples: new Int16Array(RATE / 10).fill(voiceLevel(text)) };
  }
}

interface PendingPlay {
  label: string;
  wav: Uint8Array;
  finish: () => void;
  fail: (err: Error) => void;
}

/** An output whose play() ends only when the test says so, and which counts overlaps. */
class FakeOut implements AudioOut {
  readonly kind = 'fake';
  readonly plays: PendingPlay[] = [];
  playing = 0;
  maxConcurrent = 0;
  closed = false;
  private waiters: Array<() => void> = [];

  play(wav: Uint8Array, label: string): Promise<void> {
    this.playing++;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.playing);
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        this.playing--;
      };
      this.plays.push({
        label,
        wav,
        finish: () => {
          done();
          resolve();
        },
        fail: (err) => {
          done();
          reject(err);
        },
      });
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** Resolves once the n-th play (1-based) has started. */
  async started(n: number): Promise<PendingPlay> {
    while (this.plays.length < n) await new Promise<void>((r) => this.waiters.push(r));
    return this.plays[n - 1]!;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
  health(): ComponentHealth {
    return { connected: true, lastError: null, lastErrorAt: null };
  }
}

function setup(extra: { maxPending?: number; repeat?: number; chime?: boolean } = {}) {
  const voice = new FakeVoice();
  const out = new FakeOut();
  const results: AnnouncementResult[] = [];
  const names: Record<string, string> = { '1': '1번 창구', '3': '3번 창구' };
  const announcer = new Announcer({
    voice,
    out,
    logger,
    counterName: (id) => names[id],
    onResult: (r) => results.push(r),
    ...extra,
  });
  return { voice, out, results, announcer };
}

const call = (ticket: string, counter: string, recall = false): CallRequest => ({ ticket, counter, recall });

describe('Announcer', () => {
  it('announces calls in order, one at a time, a new call never cutting off the current one', async () => {
    const { voice, out, announcer } = setup();
    announcer.enqueue(call('1035', '3'));
    const first = await out.started(1);
    // Two more calls arrive while the first is being played.
    announcer.enqueue(call('1036', '1'));
    announcer.enqueue(call('1037', '3'));
    await Promise.resolve();
    expect(out.plays).toHaveLength(1);
    expect(announcer.waiting).toBe(2);

    first.finish();
    const second = await out.started(2);
    expect(out.plays).toHaveLength(2);
    second.finish();
    (await out.started(3)).finish();
    await announcer.idle();

    expect(out.maxConcurrent).toBe(1);
    expect(out.plays.map((p) => p.label)).toEqual([
      '1035번 고객님, 3번 창구로 오십시오',
      '1036번 고객님, 1번 창구로 오십시오',
      '1037번 고객님, 3번 창구로 오십시오',
    ]);
    expect(voice.said).toEqual([
      '천삼십오번 고객님, 삼번 창구로 오십시오',
      '천삼십육번 고객님, 일번 창구로 오십시오',
      '천삼십칠번 고객님, 삼번 창구로 오십시오',
    ]);
  });

  it('announces two quick calls at the same counter each with its own number', async () => {
    const { out, announcer, voice } = setup();
    announcer.enqueue(call('1001', '3'));
    announcer.enqueue(call('1002', '3'));
    (await out.started(1)).finish();
    (await out.started(2)).finish();
    await announcer.idle();
    expect(voice.said).toEqual(['천일번 고객님, 삼번 창구로 오십시오', '천이번 고객님, 삼번 창구로 오십시오']);
    expect(out.plays[0]!.wav).not.toEqual(out.plays[1]!.wav);
  });

  it('repeats a recalled call, reusing the rendered sound', async () => {
    const { out, announcer, voice } = setup();
    announcer.enqueue(call('1035', '3'));
    (await out.started(1)).finish();
    await announcer.idle();
    announcer.enqueue(call('1035', '3', true));
    (await out.started(2)).finish();
    await announcer.idle();
    expect(out.plays).toHaveLength(2);
    expect(out.plays[1]!.label).toBe(out.plays[0]!.label);
    expect(out.plays[1]!.wav).toEqual(out.plays[0]!.wav);
    expect(voice.said).toHaveLength(1); // the recall cost no synthesis
  });

  it('recall while the call is being played queues it again; while still waiting, it is not doubled', async () => {
    const { out, announcer } = setup();
    announcer.enqueue(call('1035', '3'));
    const first = await out.started(1);
    expect(announcer.enqueue(call('1035', '3', true))).toBe(true); // playing now → heard again after
    expect(announcer.enqueue(call('1035', '3', true))).toBe(false); // already waiting
    first.finish();
    (await out.started(2)).finish();
    await announcer.idle();
    expect(out.plays).toHaveLength(2);
  });

  it('puts the chime first, then the voice, at the voice rate and the configured volume', async () => {
    const { out, announcer } = setup({ repeat: 2 });
    announcer.enqueue(call('1035', '3'));
    (await out.started(1)).finish();
    await announcer.idle();
    const pcm = decodeWav(out.plays[0]!.wav);
    expect(pcm.rate).toBe(RATE);
    // chime + 150 ms + voice 100 ms + 700 ms + voice 100 ms
    expect(durationMs(pcm)).toBeCloseTo(CHIME_MS + 150 + 100 + 700 + 100, -1);
    // the voice's samples scaled by the default volume 0.8
    expect(pcm.samples.at(-1)).toBe(Math.round(voiceLevel('천삼십오번 고객님, 삼번 창구로 오십시오') * 0.8));
  });

  it('leaves the chime out when configured so', async () => {
    const { out, announcer } = setup({ chime: false });
    announcer.enqueue(call('1035', '3'));
    (await out.started(1)).finish();
    await announcer.idle();
    expect(durationMs(decodeWav(out.plays[0]!.wav))).toBeCloseTo(100, 0);
  });

  it('goes on with the next call when one cannot be played, reporting the code', async () => {
    const { out, announcer, results } = setup();
    announcer.enqueue(call('1001', '1'));
    announcer.enqueue(call('1002', '1'));
    (await out.started(1)).fail(new AudioError('audio-device-missing', 'no card'));
    (await out.started(2)).finish();
    await announcer.idle();
    expect(results.map((r) => [r.call.ticket, r.ok, r.code])).toEqual([
      ['1001', false, 'audio-device-missing'],
      ['1002', true, undefined],
    ]);
  });

  it('plays the chime alone when the voice fails (its process killed for want of memory), reporting the code', async () => {
    const { voice, out, announcer, results } = setup();
    voice.synth = async () => {
      throw new AudioError('espeak-failed', 'the speech process ended (SIGKILL)');
    };
    announcer.enqueue(call('1001', '1'));
    (await out.started(1)).finish();
    await announcer.idle();
    const pcm = decodeWav(out.plays[0]!.wav);
    expect(durationMs(pcm)).toBeCloseTo(CHIME_MS, -1);
    expect(out.plays[0]!.label).toBe('1001번 고객님, 1번 창구로 오십시오');
    expect(results.map((r) => [r.ok, r.code, r.chimeOnly])).toEqual([[false, 'espeak-failed', true]]);
  });

  it('stays silent when the voice fails and the chime is off', async () => {
    const { voice, out, announcer, results } = setup({ chime: false });
    voice.synth = async () => {
      throw new AudioError('espeak-failed', 'crashed');
    };
    announcer.enqueue(call('1001', '1'));
    await announcer.idle();
    expect(out.plays).toHaveLength(0);
    expect(results.map((r) => [r.ok, r.code, r.chimeOnly])).toEqual([[false, 'espeak-failed', undefined]]);
  });

  it('drops the oldest waiting call when too many wait', async () => {
    const { out, announcer, results } = setup({ maxPending: 2 });
    announcer.enqueue(call('1001', '1'));
    const first = await out.started(1);
    announcer.enqueue(call('1002', '1'));
    announcer.enqueue(call('1003', '1'));
    announcer.enqueue(call('1004', '1'));
    expect(results).toEqual([{ call: call('1002', '1'), ok: false, code: 'audio-queue-full' }]);
    first.finish();
    (await out.started(2)).finish();
    (await out.started(3)).finish();
    await announcer.idle();
    expect(out.plays.map((p) => p.label.slice(0, 4))).toEqual(['1001', '1003', '1004']);
  });

  it('waits for the output probe before the first call', async () => {
    let probeDone!: () => void;
    const ready = new Promise<void>((r) => {
      probeDone = r;
    });
    const voice = new FakeVoice();
    const out = new FakeOut();
    const announcer = new Announcer({ voice, out, logger, counterName: () => undefined, ready });
    announcer.enqueue(call('1001', '1'));
    await new Promise((r) => setImmediate(r));
    expect(out.plays).toHaveLength(0);
    probeDone();
    (await out.started(1)).finish();
    await announcer.idle();
    expect(out.plays[0]!.label).toBe('1001번 고객님, 1번 창구로 오십시오');
  });

  it('stop drops waiting calls, lets the current one end, and closes the output', async () => {
    const { out, announcer } = setup();
    announcer.enqueue(call('1001', '1'));
    const first = await out.started(1);
    announcer.enqueue(call('1002', '1'));
    const stopped = announcer.stop();
    expect(out.closed).toBe(false);
    first.finish();
    await stopped;
    expect(out.closed).toBe(true);
    expect(out.plays).toHaveLength(1);
    expect(announcer.enqueue(call('1003', '1'))).toBe(false);
  });
});
