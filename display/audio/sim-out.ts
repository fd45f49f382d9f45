// The simulator's loudspeaker: each announcement becomes <dataDir>/sim/audio/<seq>.wav, seq
// counting on from the highest file already there (zero-padded so a directory listing is in
// order). Written to a temporary name and renamed, so a watcher never sees half a file (the store's
// temp-name pattern, so start-up removes one a power cut left). Only the newest `keep` files stay:
// a busy simulated day would otherwise fill the disk.
import { mkdir, readdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { ComponentHealth } from '../../device/ports/health.ts';
import type { AudioOut } from '../../device/ports/outputs.ts';
import { replaceFile } from '../../device/store/fs.ts';
import { AudioError } from './errors.ts';

export interface SimAudioOptions {
  /** the directory of the WAV files: <dataDir>/sim/audio */
  dir: string;
  logger: Logger;
  /** how many of the newest files to keep */
  keep?: number;
}

const NAME = /^(\d+)\.wav$/;
export const SEQ_DIGITS = 6;

export function simAudioDir(dataDir: string): string {
  return path.join(dataDir, 'sim', 'audio');
}

export function simAudioName(seq: number): string {
  return `${String(seq).padStart(SEQ_DIGITS, '0')}.wav`;
}

export class SimAudioOut implements AudioOut {
  readonly kind = 'sim';
  private seq: number | null = null;
  private written: number[] = [];
  private state: ComponentHealth & { played: number } = {
    connected: true,
    lastError: null,
    lastErrorAt: null,
    played: 0,
  };
  private closed = false;

  constructor(private readonly opts: SimAudioOptions) {}

  /** The path the last play() wrote, for the simulator page and tests. */
  lastFile: string | null = null;

  async play(wav: Uint8Array, label: string): Promise<void> {
    if (this.closed) throw new AudioError('audio-sink-closed', 'the simulated audio output is closed');
    try {
      if (this.seq === null) await this.scan();
      const seq = (this.seq ?? 0) + 1;
      const file = path.join(this.opts.dir, simAudioName(seq));
      await replaceFile(file, wav);
      this.seq = seq;
      this.lastFile = file;
      this.written.push(seq);
      this.state = { ...this.state, connected: true, played: this.state.played + 1 };
      this.opts.logger.debug({ file, label }, 'announcement written');
      await this.prune();
    } catch (err) {
      if (err instanceof AudioError) throw err;
      const e = new AudioError(
        'audio-sim-write-failed',
        `cannot write the announcement under ${this.opts.dir} (${(err as Error).message}); check the data dir`,
        { cause: err },
      );
      this.state = { ...this.state, connected: false, lastError: e.code, lastErrorAt: new Date().toISOString() };
      throw e;
    }
  }

  private async scan(): Promise<void> {
    await mkdir(this.opts.dir, { recursive: true });
    const seqs: number[] = [];
    for (const name of await readdir(this.opts.dir)) {
      const m = NAME.exec(name);
      if (m) seqs.push(Number(m[1]));
    }
    seqs.sort((a, b) => a - b);
    this.written = seqs;
    this.seq = seqs.at(-1) ?? 0;
  }

  private async prune(): Promise<void> {
    const keep = this.opts.keep ?? 200;
    while (this.written.length > keep) {
      const old = this.written.shift()!;
      await unlink(path.join(this.opts.dir, simAudioName(old))).catch(() => {});
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  health(): ComponentHealth {
    return { ...this.state };
  }
}
