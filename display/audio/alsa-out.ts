// Sound on the Pi: each announcement is piped to `aplay` (alsa-utils) as one WAV. A separate
// process per call costs a few ms and no native module; aplay converts formats through ALSA's
// plug layer and frees the device when it exits, so HDMI audio and USB speakers both work.
// A missing aplay or sound device rejects play() with a stable code; the announcer logs it,
// reports it in health and goes on to the next call. Nothing here is ever fatal.
import { type ChildProcess, spawn as nodeSpawn, type SpawnOptions } from 'node:child_process';
import type { Logger } from 'pino';
import type { ComponentHealth } from '../../device/ports/health.ts';
import type { AudioOut } from '../../device/ports/outputs.ts';
import { AudioError, errorCode } from './errors.ts';
import { readWavInfo } from './wav.ts';

export type SpawnFn = (command: string, args: string[], options: SpawnOptions) => ChildProcess;

export interface AplayOptions {
  /** ALSA PCM name for `aplay -D` */
  device: string;
  /** the aplay executable */
  aplay?: string;
  logger: Logger;
  /** injected by tests */
  spawn?: SpawnFn;
  /** a play that has not ended this long after the sound's own length is killed */
  graceMs?: number;
}

/** aplay's stderr when the device cannot be opened: "audio open error: No such file or directory",
 * "Unknown PCM …", "cannot find card …" (alsa-lib/aplay messages). */
const DEVICE_MISSING = /audio open error|unknown pcm|cannot find card|no such (file|device)|invalid card/i;
const DEVICE_BUSY = /device or resource busy/i;

export class AplayAudioOut implements AudioOut {
  readonly kind = 'alsa';
  private state: ComponentHealth & { played: number; failed: number } = {
    connected: false,
    lastError: null,
    lastErrorAt: null,
    played: 0,
    failed: 0,
  };
  private current: ChildProcess | null = null;
  private closed = false;

  constructor(private readonly opts: AplayOptions) {}

  async play(wav: Uint8Array, label: string): Promise<void> {
    if (this.closed) throw new AudioError('audio-sink-closed', 'the ALSA output is closed');
    const soundMs = readWavInfo(wav).durationMs;
    try {
      await this.run(wav, soundMs);
      this.state = { ...this.state, connected: true, played: this.state.played + 1 };
    } catch (err) {
      this.state = {
        ...this.state,
        connected: false,
        lastError: errorCode(err),
        lastErrorAt: new Date().toISOString(),
        failed: this.state.failed + 1,
      };
      this.opts.logger.debug({ label, code: errorCode(err) }, 'aplay failed');
      throw err;
    }
  }

  private run(wav: Uint8Array, soundMs: number): Promise<void> {
    const aplay = this.opts.aplay ?? 'aplay';
    const device = this.opts.device;
    const spawn = this.opts.spawn ?? nodeSpawn;
    return new Promise<void>((resolve, reject) => {
      let stderr = '';
      let settled = false;
      const finish = (err?: AudioError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.current = null;
        if (err) reject(err);
        else resolve();
      };
      let child: ChildProcess;
      try {
        // -N: ALSA's blocking open waits for a device another program holds, so a call waited out
        // its time-out and was killed (audio-play-timeout) or played late; non-blocking, the open
        // fails at once with EBUSY (audio-device-busy). aplay plays and drains the same way.
        child = spawn(aplay, ['-q', '-N', '-D', device, '-t', 'wav', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
      } catch (err) {
        finish(spawnError(aplay, err));
        return;
      }
      this.current = child;
      const timer = setTimeout(
        () => {
          child.kill('SIGKILL');
          finish(
            new AudioError(
              'audio-play-timeout',
              `aplay did not finish playing on "${device}"; the device may be stuck`,
            ),
          );
        },
        soundMs + (this.opts.graceMs ?? 10_000),
      );
      child.on('error', (err) => finish(spawnError(aplay, err)));
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (chunk: string) => {
        if (stderr.length < 2000) stderr += chunk;
      });
      // aplay exiting early (no device) closes the pipe under us: the exit code tells the story.
      child.stdin?.on('error', () => {});
      child.stdin?.end(wav);
      child.on('close', (code, signal) => {
        if (code === 0) return finish();
        const detail = stderr.trim().split('\n')[0] || `exit ${code ?? signal}`;
        if (DEVICE_BUSY.test(stderr)) {
          finish(
            new AudioError(
              'audio-device-busy',
              `ALSA device "${device}" is busy (${detail}); another program holds it`,
            ),
          );
        } else if (DEVICE_MISSING.test(stderr)) {
          finish(
            new AudioError(
              'audio-device-missing',
              `ALSA device "${device}" cannot be opened (${detail}); check outputs.audio.device (aplay -L lists the devices)`,
            ),
          );
        } else {
          finish(new AudioError('audio-play-failed', `aplay failed on "${device}": ${detail}`));
        }
      });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.current?.kill('SIGTERM');
  }

  health(): ComponentHealth & { device: string } {
    return { ...this.state, device: this.opts.device };
  }
}

function spawnError(aplay: string, err: unknown): AudioError {
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
    return new AudioError(
      'audio-aplay-missing',
      `"${aplay}" was not found; install alsa-utils (apt-get install alsa-utils) or set outputs.audio.aplay`,
      { cause: err },
    );
  }
  return new AudioError('audio-play-failed', `could not start "${aplay}": ${(err as Error).message}`, { cause: err });
}
