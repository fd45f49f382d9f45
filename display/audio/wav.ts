// Mono 16-bit PCM and the WAV container around it. Everything we play is mono 16-bit at the
// voice's sample rate, so joining the chime and the voice is a plain copy of samples.
import { AudioError } from './errors.ts';

/** Mono signed 16-bit samples at `rate` Hz. */
export interface Pcm {
  rate: number;
  samples: Int16Array;
}

export interface WavInfo {
  /** 1 = PCM (also given for WAVE_FORMAT_EXTENSIBLE carrying PCM) */
  format: number;
  channels: number;
  rate: number;
  bitsPerSample: number;
  /** bytes of sample data */
  dataBytes: number;
  durationMs: number;
}

const HEADER_BYTES = 44;

/** A canonical 44-byte-header WAV of mono 16-bit PCM. */
export function encodeWav(pcm: Pcm): Uint8Array {
  const dataBytes = pcm.samples.length * 2;
  const buf = Buffer.alloc(HEADER_BYTES + dataBytes);
  buf.write('RIFF', 0, 'ascii');
  buf.writeUInt32LE(36 + dataBytes, 4);
  buf.write('WAVE', 8, 'ascii');
  buf.write('fmt ', 12, 'ascii');
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20); // PCM
  buf.writeUInt16LE(1, 22); // mono
  buf.writeUInt32LE(pcm.rate, 24);
  buf.writeUInt32LE(pcm.rate * 2, 28); // byte rate
  buf.writeUInt16LE(2, 32); // block align
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36, 'ascii');
  buf.writeUInt32LE(dataBytes, 40);
  for (let i = 0; i < pcm.samples.length; i++) buf.writeInt16LE(pcm.samples[i]!, HEADER_BYTES + i * 2);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
}

/** Walk the RIFF chunks; returns the format and where the sample data lies. */
export function readWavInfo(bytes: Uint8Array): WavInfo & { dataOffset: number } {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 12 || b.toString('ascii', 0, 4) !== 'RIFF' || b.toString('ascii', 8, 12) !== 'WAVE') {
    throw new AudioError('wav-invalid', 'not a WAV file (no RIFF/WAVE header)');
  }
  let fmt: Omit<WavInfo, 'dataBytes' | 'durationMs'> | null = null;
  let off = 12;
  while (off + 8 <= b.length) {
    const id = b.toString('ascii', off, off + 4);
    const size = b.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > b.length) throw new AudioError('wav-invalid', 'WAV fmt chunk is truncated');
      let format = b.readUInt16LE(body);
      // WAVE_FORMAT_EXTENSIBLE: the real format is the first two bytes of the sub-format GUID.
      if (format === 0xfffe && size >= 26) format = b.readUInt16LE(body + 24);
      fmt = {
        format,
        channels: b.readUInt16LE(body + 2),
        rate: b.readUInt32LE(body + 4),
        bitsPerSample: b.readUInt16LE(body + 14),
      };
    } else if (id === 'data') {
      if (!fmt) throw new AudioError('wav-invalid', 'WAV data chunk comes before its fmt chunk');
      // Streaming writers leave the size at 0 or 0xFFFFFFFF: take what is there.
      const dataBytes = Math.min(size === 0 ? b.length - body : size, b.length - body);
      const frameBytes = (fmt.channels * fmt.bitsPerSample) / 8;
      const durationMs = frameBytes > 0 && fmt.rate > 0 ? (dataBytes / frameBytes / fmt.rate) * 1000 : 0;
      return { ...fmt, dataBytes, durationMs, dataOffset: body };
    }
    off = body + size + (size % 2); // chunks are padded to even sizes
  }
  throw new AudioError('wav-invalid', 'WAV file has no data chunk');
}

/** Decode a PCM WAV (8/16/24/32-bit integer, any channel count) to mono 16-bit. */
export function decodeWav(bytes: Uint8Array): Pcm {
  const info = readWavInfo(bytes);
  const { channels, bitsPerSample: bits } = info;
  if (info.format !== 1 || ![8, 16, 24, 32].includes(bits) || channels < 1) {
    throw new AudioError(
      'wav-unsupported',
      `WAV format ${info.format}, ${bits}-bit, ${channels} channel(s) is not supported: use integer PCM (16-bit mono is best)`,
    );
  }
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bytesPer = bits / 8;
  const frames = Math.floor(info.dataBytes / (bytesPer * channels));
  const out = new Int16Array(frames);
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) {
      const at = info.dataOffset + (f * channels + c) * bytesPer;
      // Scale every width to the 16-bit range; 8-bit WAV is unsigned around 128.
      if (bits === 8) sum += (b.readUInt8(at) - 128) * 256;
      else if (bits === 16) sum += b.readInt16LE(at);
      else if (bits === 24) sum += b.readIntLE(at, 3) / 256;
      else sum += b.readInt32LE(at) / 65536;
    }
    out[f] = Math.round(sum / channels);
  }
  return { rate: info.rate, samples: out };
}

/** Linear-interpolation resampling: good enough for speech and a chime, and cheap on a Pi. */
export function resample(pcm: Pcm, rate: number): Pcm {
  if (pcm.rate === rate || pcm.samples.length === 0) return { rate, samples: pcm.samples };
  const n = Math.max(1, Math.round((pcm.samples.length * rate) / pcm.rate));
  const out = new Int16Array(n);
  const step = pcm.rate / rate;
  const last = pcm.samples.length - 1;
  for (let i = 0; i < n; i++) {
    const x = i * step;
    const i0 = Math.min(Math.floor(x), last);
    const i1 = Math.min(i0 + 1, last);
    const t = x - i0;
    out[i] = Math.round(pcm.samples[i0]! * (1 - t) + pcm.samples[i1]! * t);
  }
  return { rate, samples: out };
}

export function silence(rate: number, ms: number): Pcm {
  return { rate, samples: new Int16Array(Math.round((rate * ms) / 1000)) };
}

/** Join pieces end to end; all must share one rate (resample first). */
export function concatPcm(rate: number, parts: Pcm[]): Pcm {
  let total = 0;
  for (const p of parts) {
    if (p.rate !== rate) throw new AudioError('wav-rate-mismatch', `cannot join ${p.rate} Hz audio into ${rate} Hz`);
    total += p.samples.length;
  }
  const out = new Int16Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p.samples, at);
    at += p.samples.length;
  }
  return { rate, samples: out };
}

/** Multiply by a linear gain, clipping at full scale. */
export function applyGain(pcm: Pcm, gain: number): Pcm {
  if (gain === 1) return pcm;
  const out = new Int16Array(pcm.samples.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.max(-32768, Math.min(32767, Math.round(pcm.samples[i]! * gain)));
  return { rate: pcm.rate, samples: out };
}

export function durationMs(pcm: Pcm): number {
  return (pcm.samples.length / pcm.rate) * 1000;
}
