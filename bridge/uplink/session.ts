// The `session` number of the device status: it grows with every connect and survives restarts,
// so central can tell a late will of an older session from the current presence.
import { join } from 'node:path';
import { type StoreFs, writeDurable } from '../../device/store/fs.ts';

export interface SessionCounterOptions {
  /** the data dir: the number lives in <dir>/mqtt-session.json */
  dir: string;
  /** the store's file system (the power-cut tests pass one that forgets unsynced writes) */
  fs: StoreFs;
}

export class SessionCounter {
  private value = 0;
  private writing: Promise<void> = Promise.resolve();
  private readonly path: string;
  private readonly fs: StoreFs;

  constructor(opts: SessionCounterOptions) {
    this.path = join(opts.dir, 'mqtt-session.json');
    this.fs = opts.fs;
  }

  async load(): Promise<void> {
    const buf = await this.fs.readFile(this.path);
    if (!buf) return;
    try {
      const doc = JSON.parse(buf.toString('utf8')) as { session?: unknown };
      if (typeof doc.session === 'number' && Number.isSafeInteger(doc.session) && doc.session >= 0)
        this.value = doc.session;
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err;
    }
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
