// The `session` number of the device status: it grows with every connect and survives restarts,
// so central can tell a late will of an older session from the current presence.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurable } from '../util/atomic-file.ts';

export class SessionCounter {
  private value = 0;
  private writing: Promise<void> = Promise.resolve();
  private readonly path: string;

  constructor(dataDir: string) {
    this.path = join(dataDir, 'mqtt-session.json');
  }

  async load(): Promise<void> {
    try {
      const doc = JSON.parse(await readFile(this.path, 'utf8')) as { session?: unknown };
      if (typeof doc.session === 'number' && Number.isSafeInteger(doc.session) && doc.session >= 0)
        this.value = doc.session;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && !(err instanceof SyntaxError)) throw err;
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
    const run = this.writing.then(() => writeFileDurable(this.path, JSON.stringify({ session: value })));
    this.writing = run.catch(() => undefined);
    return run.then(() => value);
  }
}
