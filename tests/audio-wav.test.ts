import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callParts } from '../display/audio/call-sentence.ts';
import { CHIME_MS, chimeAt, synthChime } from '../display/audio/chime.ts';
import { ClipVoice, trimSilence } from '../display/audio/clip-voice.ts';
import { EspeakVoice } from '../display/audio/espeak-voice.ts';
import { FallbackVoice } from '../display/audio/fallback-voice.ts';
import {
  applyGain,
  concatPcm,
  decodeWav,
  durationMs,
  encodeWav,
  type Pcm,
  readWavInfo,
  resample,
} from '../display/audio/wav.ts';

const logger = pino({ level: 'silent' });

/** Parse the canonical header by hand, independently of readWavInfo. */
function header(wav: Uint8Array) {
  const b = Buffer.from(wav);
  return {
    riff: b.toString('ascii', 0, 4),
    riffSize: b.readUInt32LE(4),
    wave: b.toString('ascii', 8, 12),
    fmt: b.toString('ascii', 12, 16),
    format: b.readUInt16LE(20),
    channels: b.readUInt16LE(22),
    rate: b.readUInt32LE(24),
    byteRate: b.readUInt32LE(28),
    blockAlign: b.readUInt16LE(32),
    bits: b.readUInt16LE(34),
    data: b.toString('ascii', 36, 40),
    dataSize: b.readUInt32LE(40),
    length: b.length,
  };
}

/** A tone of `ms` at `hz`, with `padMs` of silence either side. */
function tone(rate: number, ms: number, hz = 440, padMs = 0): Pcm {
  const pad = Math.round((rate * padMs) / 1000);
  const n = Math.round((rate * ms) / 1000);
  const s = new Int16Array(n + 2 * pad);
  for (let i = 0; i < n; i++) s[pad + i] = Math.round(8000 * Math.sin((2 * Math.PI * hz * i) / rate));
  return { rate, samples: s };
}

/** Root-mean-square level of a stretch of samples. */
function rms(s: Int16Array): number {
  let sum = 0;
  for (const v of s) sum += v * v;
  return Math.sqrt(sum / Math.max(1, s.length));
}

describe('WAV encoding', () => {
  it('writes a canonical mono 16-bit header that readWavInfo agrees with', () => {
    const wav = encodeWav(tone(22050, 100));
    const h = header(wav);
    expect(h).toMatchObject({
      riff: 'RIFF',
      wave: 'WAVE',
      fmt: 'fmt ',
      format: 1,
      channels: 1,
      rate: 22050,
      byteRate: 44100,
      blockAlign: 2,
      bits: 16,
      data: 'data',
    });
    expect(h.dataSize).toBe(h.length - 44);
    expect(h.riffSize).toBe(h.length - 8);
    expect(readWavInfo(wav).durationMs).toBeCloseTo(100, 0);
  });

  it('round-trips samples through encode and decode', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -32768, max: 32767 }), { maxLength: 500 }),
        fc.constantFrom(8000, 22050, 48000),
        (xs, rate) => {
          const pcm = decodeWav(encodeWav({ rate, samples: Int16Array.from(xs) }));
          expect(pcm.rate).toBe(rate);
          expect(Array.from(pcm.samples)).toEqual(xs);
        },
      ),
    );
  });

  it('decodes stereo 16-bit and 8-bit WAV to mono', () => {
    // stereo: L=1000, R=3000 → 2000
    const stereo = Buffer.alloc(44 + 8);
    stereo.write('RIFF', 0);
    stereo.writeUInt32LE(44, 4);
    stereo.write('WAVEfmt ', 8);
    stereo.writeUInt32LE(16, 16);
    stereo.writeUInt16LE(1, 20);
    stereo.writeUInt16LE(2, 22);
    stereo.writeUInt32LE(16000, 24);
    stereo.writeUInt32LE(64000, 28);
    stereo.writeUInt16LE(4, 32);
    stereo.writeUInt16LE(16, 34);
    stereo.write('data', 36);
    stereo.writeUInt32LE(8, 40);
    stereo.writeInt16LE(1000, 44);
    stereo.writeInt16LE(3000, 46);
    stereo.writeInt16LE(-1000, 48);
    stereo.writeInt16LE(-3000, 50);
    expect(Array.from(decodeWav(stereo).samples)).toEqual([2000, -2000]);

    const eight = Buffer.from(stereo);
    eight.writeUInt16LE(1, 22);
    eight.writeUInt16LE(8, 34);
    eight.writeUInt32LE(2, 40);
    eight[44] = 128;
    eight[45] = 192;
    expect(Array.from(decodeWav(eight.subarray(0, 46)).samples)).toEqual([0, 64 * 256]);
  });

  it('refuses what is not a PCM WAV, with a stable code', () => {
    expect(() => decodeWav(new Uint8Array(10))).toThrow(expect.objectContaining({ code: 'wav-invalid' }));
    const float = Buffer.from(encodeWav(tone(8000, 10)));
    float.writeUInt16LE(3, 20);
    expect(() => decodeWav(float)).toThrow(expect.objectContaining({ code: 'wav-unsupported' }));
  });

  it('resamples keeping the duration, joins only equal rates, clips gain at full scale', () => {
    const a = tone(16000, 300);
    const b = resample(a, 22050);
    expect(b.rate).toBe(22050);
    expect(durationMs(b)).toBeCloseTo(300, 0);
    expect(rms(b.samples)).toBeGreaterThan(rms(a.samples) * 0.95);
    expect(() => concatPcm(22050, [a, b])).toThrow(expect.objectContaining({ code: 'wav-rate-mismatch' }));
    expect(concatPcm(22050, [b, b]).samples.length).toBe(2 * b.samples.length);
    const loud = applyGain({ rate: 8000, samples: Int16Array.from([20000, -20000, 100]) }, 2);
    expect(Array.from(loud.samples)).toEqual([32767, -32768, 200]);
  });
});

describe('the chime', () => {
  it.each([16000, 22050, 44100, 48000])('is a short, valid WAV at %i Hz', (rate) => {
    const pcm = synthChime(rate);
    const info = readWavInfo(encodeWav(pcm));
    expect(info).toMatchObject({ format: 1, channels: 1, rate, bitsPerSample: 16 });
    expect(info.durationMs).toBeGreaterThan(300);
    expect(info.durationMs).toBeLessThan(1200);
    expect(info.durationMs).toBeCloseTo(CHIME_MS, -1);
  });

  it('is audible, has headroom, and starts and ends at silence (no clicks)', () => {
    const { samples } = synthChime(22050);
    const peak = samples.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(peak).toBeGreaterThan(10000);
    expect(peak).toBeLessThan(32767 * 0.7);
    expect(Math.abs(samples[0]!)).toBeLessThan(200);
    expect(Math.abs(samples.at(-1)!)).toBeLessThan(200);
  });

  it('has three tones: the energy rises again at each note onset', () => {
    const rate = 22050;
    const { samples } = synthChime(rate);
    const win = (ms: number) =>
      rms(samples.subarray(Math.round((rate * ms) / 1000), Math.round((rate * (ms + 20)) / 1000)));
    // just before a note starts vs just after it: the new strike is louder than the decaying tail
    expect(win(175)).toBeGreaterThan(win(150));
    expect(win(345)).toBeGreaterThan(win(320));
  });

  it('is synthesised once per rate', () => {
    expect(chimeAt(22050)).toBe(chimeAt(22050));
    expect(chimeAt(16000).rate).toBe(16000);
  });
});

describe('the espeak voice (listen-free)', () => {
  const voice = new EspeakVoice({ logger, rate: 150 });

  it('speaks the Korean call as a 22.05 kHz mono WAV of plausible length', async () => {
    const pcm = await voice.synth(callParts('1035', '3', '3번 창구'));
    const info = readWavInfo(encodeWav(pcm));
    expect(info).toMatchObject({ format: 1, channels: 1, bitsPerSample: 16 });
    expect(info.rate).toBeGreaterThanOrEqual(16000);
    // 17 syllables at 150 wpm: a few seconds, not a blip and not a minute of noise
    expect(info.durationMs).toBeGreaterThan(2000);
    expect(info.durationMs).toBeLessThan(8000);
    expect(rms(pcm.samples)).toBeGreaterThan(500);
  });

  it('takes longer for a longer number', async () => {
    const short = await voice.speak('일번 고객님');
    const long = await voice.speak('구만구천구백구십구번 고객님');
    expect(durationMs(long)).toBeGreaterThan(durationMs(short) + 500);
  });

  it("speaks from a release unpacked under a Korean folder name (node's script path is not ASCII)", async () => {
    const script = process.argv[1];
    process.argv[1] = '/home/민원/다운로드/beonho/dist/device/main.js';
    try {
      const pcm = await new EspeakVoice({ logger }).speak('일번 고객님');
      expect(pcm.samples.length).toBeGreaterThan(1000);
    } finally {
      process.argv[1] = script!;
    }
  });

  it('turns an abort inside espeak into a rejection: nothing escapes into the process', async () => {
    const escaped: unknown[] = [];
    const onError = (err: unknown) => escaped.push(err);
    process.on('uncaughtException', onError);
    process.on('unhandledRejection', onError);
    try {
      // a program name that is not ASCII makes espeak's start-up assert, and abort
      const aborting = new EspeakVoice({ logger, program: '/tmp/다운로드/node' });
      await expect(aborting.speak('일번 고객님')).rejects.toMatchObject({ code: 'espeak-failed' });
      // what an abort throws after rejecting would come on a later turn
      await new Promise((r) => setTimeout(r, 50));
      expect(escaped).toEqual([]);
    } finally {
      process.off('uncaughtException', onError);
      process.off('unhandledRejection', onError);
    }
  });

  it('reports a bad voice as espeak-failed without touching process.exitCode', async () => {
    const before = process.exitCode;
    const bad = new EspeakVoice({ logger, voice: 'zz-nope' });
    await expect(bad.speak('안녕하세요')).rejects.toMatchObject({ code: 'espeak-failed' });
    expect(process.exitCode).toBe(before);
  });
});

describe('the clip voice', () => {
  let dir: string;
  const rate = 16000;
  const clip = async (word: string, ms: number, r = rate) =>
    writeFile(path.join(dir, `${word}.wav`), encodeWav(tone(r, ms, 440, 100)));

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'beonho-clips-'));
    for (const w of ['천', '삼', '십', '오', '번', '고객님', '창구로', '오십시오']) await clip(w, 200);
    await clip('삼번', 300, 8000); // a whole-word clip at another rate: preferred, resampled
    // a name in decomposed (NFD) form, as a pack made on macOS has it
    await writeFile(path.join(dir, `${'일'.normalize('NFD')}.wav`), encodeWav(tone(rate, 200, 440, 100)));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('cuts a word into the fewest clips the pack has', async () => {
    const v = new ClipVoice({ dir, logger });
    await v.load();
    expect(v.segment('천삼십오번')).toEqual(['천', '삼', '십', '오', '번']);
    expect(v.segment('삼번')).toEqual(['삼번']);
    expect(v.segment('천일번')).toEqual(['천', '일', '번']);
    expect(v.segment('이번')).toBeNull();
  });

  it('joins trimmed clips, pauses and gaps into one utterance at the pack rate', async () => {
    const v = new ClipVoice({ dir, logger, wordGapMs: 50 });
    await v.load();
    const pcm = await v.synth(callParts('1035', '3', '3번 창구'));
    expect(pcm.rate).toBe(rate);
    // 천삼십오번 (5×200) 고객님 (200) pause 250, 삼번 (300) 창구로 (200) 오십시오 (200), gaps 4×50, plus trim margins
    const ms = durationMs(pcm);
    expect(ms).toBeGreaterThan(2300);
    expect(ms).toBeLessThan(2800);
  });

  it('names every missing word in a clip-missing error', async () => {
    const v = new ClipVoice({ dir, logger });
    await v.load();
    await expect(v.synth(callParts('2002', '9', '9번 창구'))).rejects.toMatchObject({
      code: 'clip-missing',
      message: expect.stringMatching(/"이천이번".*"구번"/),
    });
  });

  it('reports an unreadable pack, and the fallback voice speaks instead', async () => {
    const missing = new ClipVoice({ dir: path.join(dir, 'nope'), logger });
    await expect(missing.load()).rejects.toMatchObject({ code: 'clip-pack-unreadable' });
    const spoken: string[] = [];
    const fallback = {
      kind: 'fake',
      load: async () => {},
      synth: async () => {
        spoken.push('fallback');
        return tone(rate, 100);
      },
    };
    const v = new FallbackVoice(new ClipVoice({ dir, logger }), fallback, logger);
    await v.load();
    await v.synth(callParts('1035', '3', '3번 창구'));
    expect(spoken).toEqual([]);
    await v.synth(callParts('2002', '3', '3번 창구'));
    expect(spoken).toEqual(['fallback']);
  });

  it('trims quiet edges but keeps a margin', () => {
    const t = trimSilence(tone(rate, 200, 440, 300));
    expect(durationMs(t)).toBeGreaterThan(200);
    expect(durationMs(t)).toBeLessThan(240);
  });
});
