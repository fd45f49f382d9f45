// Idempotency by command id: the first result of every command of the day and the day before, so
// a retry, also after restarts and power cuts, gets the first answer instead of a second ticket.
// The records live in the store's command log (device/store/command-log.ts): a command that
// changed the queue is durable with its events in the journal, in the same fdatasync'd record; a
// command that changed nothing is written here and fsync'd before it is acknowledged.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { CommandLog, CommandRecord } from '../../device/store/command-log.ts';
import type { StoreFs } from '../../device/store/fs.ts';
import type { CommandResult } from '../contract/types.ts';

export interface Remembered {
  /** null when unknown (a journal record written before digests were recorded) */
  digest: string | null;
  result: CommandResult;
}

export interface CommandMemoryOptions {
  log: CommandLog;
  /** today's office-local date (YYYY-MM-DD): the day an answer is filed under */
  today: () => string;
}

export class CommandMemory {
  constructor(private readonly o: CommandMemoryOptions) {}

  /** The first result of a command id, or undefined. `type`: the asking command's type, for a
   * record that does not know its own. */
  get(id: string, type?: string): Remembered | undefined {
    const rec = this.o.log.get(id);
    return rec ? { digest: rec.digest, result: resultOf(rec, type) } : undefined;
  }

  get size(): number {
    return this.o.log.size;
  }

  /** Remember the answer of a command that changed nothing; resolves once it is on disk. */
  remember(id: string, result: CommandResult, digest: string | null, origin?: string): Promise<void> {
    return this.o.log.record(
      { id, digest, type: result.type ?? null, outcome: { kind: 'answer', result }, ...(origin ? { origin } : {}) },
      this.o.today(),
    );
  }

  /** How many ids `origin` has had remembered today. */
  countToday(origin: string): number {
    return this.o.log.countOf(origin, this.o.today());
  }

  /** The first beonho versions kept up to 2,000 results in <data dir>/mqtt-commands.json,
   * rewritten whole per command. Its results move into the log once (durably), then it goes. */
  async importLegacy(fs: StoreFs, file: string, logger: Logger): Promise<number> {
    const buf = await fs.readFile(file);
    if (!buf) return 0;
    let moved = 0;
    let doc: unknown;
    try {
      doc = JSON.parse(buf.toString('utf8'));
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err;
    }
    // JSON of another shape (a hand edit, a damaged card) is as unreadable as text that is not
    // JSON: it threw while the start read it, and the daemon exited at every start.
    const entries = (doc as { entries?: unknown } | null)?.entries;
    if (!Array.isArray(entries)) {
      logger.warn({ code: 'cmd-memory-unreadable', path: file }, 'old command id memory unreadable; not imported');
    } else {
      const jobs: Array<Promise<void>> = [];
      for (const item of entries) {
        const [id, entry] = Array.isArray(item) ? (item as [unknown, unknown]) : [];
        const result = (entry as { result?: unknown } | null)?.result;
        if (typeof id !== 'string' || typeof result !== 'object' || result === null || this.o.log.get(id)) continue;
        const digest = (entry as { digest?: unknown }).digest;
        jobs.push(this.remember(id, result as CommandResult, typeof digest === 'string' ? digest : null));
        moved++;
      }
      await Promise.all(jobs);
    }
    await fs.unlink(file);
    return moved;
  }
}

/** A command's result from its record. One function for the first answer and every repeat, so a
 * retry gets the same result, `at` included. */
export function resultOf(rec: CommandRecord, type?: string): CommandResult {
  const o = rec.outcome;
  if (o.kind === 'answer') return o.result as CommandResult;
  const t = rec.type ?? type;
  return {
    v: 1,
    id: rec.id,
    ...(t ? { type: t } : {}),
    ok: true,
    at: o.at,
    result: { ...(o.ticket ? { ticket: o.ticket } : {}), seq: o.seq },
  };
}

/** A stable fingerprint of what a command asks, independent of key order and envelope fields. */
export function commandDigest(action: Record<string, unknown>): string {
  const keys = Object.keys(action).sort();
  return createHash('sha256')
    .update(JSON.stringify(keys.map((k) => [k, action[k]])))
    .digest('base64url')
    .slice(0, 16);
}
