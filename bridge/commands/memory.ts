// Idempotency by command id: the first result of each command id, bounded and persisted, so a
// retry — even after a restart or power cut — gets the first answer instead of a second ticket.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { type StoreFs, writeDurable } from '../../device/store/fs.ts';
import type { CommandResult } from '../contract/types.ts';

interface Entry {
  result: CommandResult;
  /** what the command asked (see commandDigest): a repeat that asks something else is logged */
  digest: string;
}

interface FileShape {
  v: 1;
  /** oldest first */
  entries: Array<[string, Entry]>;
}

export interface CommandMemoryOptions {
  /** the file, <data dir>/mqtt-commands.json */
  path: string;
  /** how many command ids to remember (mqtt.commands.remember) */
  limit: number;
  logger: Logger;
  /** the store's file system (the power-cut tests pass one that forgets unsynced writes) */
  fs: StoreFs;
}

export class CommandMemory {
  private readonly results = new Map<string, Entry>();
  private writing: Promise<void> | null = null;
  private pending: Promise<void> | null = null;
  private readonly path: string;
  private readonly limit: number;
  private readonly logger: Logger;
  private readonly fs: StoreFs;

  constructor(opts: CommandMemoryOptions) {
    this.path = opts.path;
    this.limit = opts.limit;
    this.logger = opts.logger;
    this.fs = opts.fs;
  }

  async load(): Promise<void> {
    const buf = await this.fs.readFile(this.path);
    if (!buf) return;
    try {
      const doc = JSON.parse(buf.toString('utf8')) as FileShape;
      for (const [id, entry] of doc.entries ?? []) if (entry?.result) this.results.set(id, entry);
      this.trim();
    } catch {
      // The file is only ever replaced by rename, so this means outside damage: start empty and say so.
      this.logger.warn(
        { code: 'cmd-memory-unreadable', path: this.path },
        'command id memory unreadable; starting empty',
      );
    }
  }

  get(id: string): Entry | undefined {
    return this.results.get(id);
  }

  get size(): number {
    return this.results.size;
  }

  /** Remember a result; resolves once it is on disk. Writes of concurrent calls are grouped. */
  remember(id: string, result: CommandResult, digest: string): Promise<void> {
    this.results.set(id, { result, digest });
    this.trim();
    return this.persist();
  }

  private trim(): void {
    // Map keeps insertion order: the first keys are the oldest.
    while (this.results.size > this.limit) {
      const oldest = this.results.keys().next().value as string;
      this.results.delete(oldest);
    }
  }

  private persist(): Promise<void> {
    // Group commit: while a write runs, every new result joins the one next write.
    if (this.pending) return this.pending;
    const start = async (): Promise<void> => {
      this.pending = null;
      const doc: FileShape = { v: 1, entries: [...this.results] };
      await writeDurable(this.fs, this.path, Buffer.from(JSON.stringify(doc), 'utf8'), { mode: 0o600 });
    };
    if (!this.writing) {
      this.writing = start().finally(() => {
        this.writing = null;
      });
      return this.writing;
    }
    const next = this.writing
      .catch(() => undefined)
      .then(() => {
        this.writing = start().finally(() => {
          this.writing = null;
        });
        return this.writing;
      });
    this.pending = next;
    return next;
  }
}

/** A stable fingerprint of what a command asks, independent of key order and envelope fields. */
export function commandDigest(action: Record<string, unknown>): string {
  const keys = Object.keys(action).sort();
  return createHash('sha256')
    .update(JSON.stringify(keys.map((k) => [k, action[k]])))
    .digest('base64url')
    .slice(0, 16);
}
