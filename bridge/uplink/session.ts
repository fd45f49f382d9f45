// The `session` number of the device status: it grows with every connect and survives restarts,
// so central can tell a late will of an older session from the current presence.
//
// The file holds a ceiling, not the last number: a block of numbers is reserved with one durable
// write, and a restart goes on above the ceiling (a gap central never minds: it only compares).
// One fsync'd write per connection attempt was ~1,440 a day (a few MiB sent to the card) while
// central was unreachable, and a satellite's link, which retries sooner, several times that.
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

/** Numbers reserved by one write of the file. */
export const SESSION_BLOCK = 100;

export class SessionCounter {
  private value = 0;
  /** the highest number a write has been started for (the file's ceiling once it lands) */
  private ceiling = 0;
  /** the highest number the file durably allows */
  private durable = 0;
  /** the write of the current ceiling: a number is handed out once it has landed */
  private reserving: Promise<void> = Promise.resolve();
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
      this.value = this.ceiling = this.durable = session;
      return;
    }
    // The file is written atomically, so only a damaged card or a hand edit gets here. Starting
    // again at 1 would make central read this device's next presence as older than its last will
    // (and ignore it); the clock's seconds are above any count of connections made before, unless
    // the clock is wrong (a board without RTC before its time sync).
    this.value = Math.max(0, Math.floor((this.opts.now ?? Date.now)() / 1000));
    this.ceiling = this.durable = this.value;
    this.opts.logger.warn(
      { code: 'session-file-damaged', file: this.path, session: this.value },
      'the MQTT session number file is damaged; numbering sessions on from the clock',
    );
  }

  current(): number {
    return this.value;
  }

  /** The next session number, durable before it is used in a will: within the reserved block at
   * once, past it after one fsync'd write of the next block's ceiling. */
  next(): Promise<number> {
    const value = ++this.value;
    if (value > this.ceiling) {
      const ceiling = value + SESSION_BLOCK - 1;
      this.ceiling = ceiling;
      const data = Buffer.from(JSON.stringify({ session: ceiling }), 'utf8');
      // Serialized, so a slower earlier write can never land after a later one.
      const run = this.writing.then(() => writeDurable(this.fs, this.path, data, { mode: 0o600 }));
      this.reserving = run.then(
        () => {
          this.durable = Math.max(this.durable, ceiling);
        },
        (err: unknown) => {
          // the next number tries the write again; the ones of this block are never used
          if (this.ceiling === ceiling) this.ceiling = this.durable;
          throw err;
        },
      );
      this.writing = this.reserving.catch(() => undefined);
    }
    return this.reserving.then(() => value);
  }
}
