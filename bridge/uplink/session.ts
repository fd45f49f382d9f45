// The `session` number of the device status: it grows with every connect and survives restarts,
// so central can tell a late will of an older session from the current presence.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurable } from '../util/atomic-file.ts';

export class SessionCounter {
  private value = 0;
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

  /** The next session number, durable before it is used in a will. */
  async next(): Promise<number> {
    this.value += 1;
    await writeFileDurable(this.path, JSON.stringify({ session: this.value }));
    return this.value;
  }
}
