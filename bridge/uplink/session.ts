// The `session` number of the device status: it grows with every connect and survives restarts,
// so central can tell a late will of an older session from the current presence.
import { join } from 'node:path';
import type { Logger } from 'pino';
import { type StoreFs, writeDurable } from '../../device/store/fs.ts';

export interface SessionCounterOptions {
  /** the data dir: the number lives in <dir>/mqtt-session.json */
  dir: string;
  /** the store's file system (the power-cut tests pass one that forgets unsynced writes) */
  fs: StoreFs;
  logger: Logger;
  /** ms since the epoch: the floor after a damaged file */
  now?: () => number;
}

export class SessionCounter {
  private value = 0;
  private writing: Promise<void> = Promise.resolve();
  private readonly path: string;
  private readonly fs: StoreFs;

  constructor(private readonly opts: SessionCounterOptions) {
    this.path = join(opts.dir, 'mqtt-session.json');
    this.fs = opts.fs;
  }

  async load(): Promise<void> {
    const buf = await this.fs.readFile(this.path);
    if (!buf) return; // a new device: sessions start at 1
    let session: unknown;
    try {
      session = (JSON.parse(buf.toString('utf8')) as { session?: unknown } | null)?.session;
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err;
    }
    if (typeof session === 'number' && Number.isSafeInteger(session) && session >= 0) {
      this.value = session;
      return;
    }
    // The file is written atomically, so only a damaged card or a hand edit gets here. Starting
    // again at 1 would make central read this device's next presence as older than its last will
    // (and ignore it); the clock's seconds are above any count of connections made before, unless
    // the clock is wrong (a board without RTC before its time sync).
    this.value = Math.max(0, Math.floor((this.opts.now ?? Date.now)() / 1000));
    this.opts.logger.warn(
      { code: 'session-file-damaged', file: this.path, session: this.value },
      'the MQTT session number file is damaged; numbering sessions on from the clock',
    );
  }

  current(): number {
    return this.value;
  }

  /** The next session number, durable before it is used in a will: one small fsync'd write per
   * connection attempt (at most one a minute while central is unreachable). */
  next(): Promise<number> {
    // Serialized, so a slower earlier write can never land after a later one.
    const value = ++this.value;
    const data = Buffer.from(JSON.stringify({ session: value }), 'utf8');
    const run = this.writing.then(() => writeDurable(this.fs, this.path, data, { mode: 0o600 }));
    this.writing = run.catch(() => undefined);
    return run.then(() => value);
  }
}
