// Every command of central that reached the queue, with what it did, for the day and the day
// before: a retry with the same id gets the first answer, never a second ticket, also after power
// cuts and however many other commands came in between (docs/mqtt.md, "Idempotency").
//
// Append-only, one file per day: state/commands/commands-<YYYY-MM-DD>.log, one line per command,
// `<crc32 hex> <json>\n` like the journal. O(1) per command: a line of a few hundred bytes, where
// the bridge's former memory file rewrote all of its 2,000 entries (460 KB) per command.
//
// Two kinds of line:
//  - done: a command that changed the queue. Its events are in the journal, with its id, in the
//    same fdatasync'd record, so the journal is what makes it durable. Its line is only remembered
//    then, and written here at the next sync(): before the store prunes any journal segment, when
//    an answer is recorded, at a clean stop. Written at once, each line went to the card in a
//    write of its own: ext4's writeback then sent a data block and the file's new size for every
//    online ticket (5-6 KiB at the block device against 4.4 for a kiosk ticket, bench/sd-wear.ts);
//    now an online ticket costs what a kiosk ticket does, and the lines of a snapshot interval
//    share a few blocks. A power cut before that sync loses the lines but not the journal records:
//    open() puts every command the journal still holds back in here before anything else runs.
//  - answer: a command that changed nothing (a refusal by the queue, a no-op). No journal record
//    holds it, so record() fsyncs it (group commit) before the bridge acknowledges the command.
import { crc32 } from 'node:zlib';
import * as path from 'node:path';
import type { QueueEvent, TicketInfo } from '../queue/types.ts';
import type { FileHandleLike, StoreFs } from './fs.ts';

/** How many days of command ids are kept: today's, and the day before's for retries across midnight. */
export const COMMAND_DAYS_KEPT = 2;

const FILE_RE = /^commands-(\d{4}-\d{2}-\d{2})\.log$/;

/** What a command did, as remembered. */
export type CommandOutcome =
  /** it changed the queue: the ticket it concerns (if any), its last event's seq and time */
  | { kind: 'done'; ticket?: TicketInfo; seq: number; at: string }
  /** it changed nothing: the answer as it was sent (the bridge's cmd/result, opaque here) */
  | { kind: 'answer'; result: unknown };

export interface CommandRecord {
  id: string;
  /** fingerprint of what the command asked (a repeat that asks something else is logged) */
  digest: string | null;
  /** the command's type; null for a journal record written before types were recorded */
  type: string | null;
  outcome: CommandOutcome;
  /** who sent it ('uplink', 'broker:<account>'): each sender's ids of a day are counted */
  origin?: string;
}

/** A command as the journal holds it: its id (and digest and type) beside its events. */
export interface JournaledCommand {
  id: string;
  digest?: string;
  type?: string;
  origin?: string;
  events: QueueEvent[];
}

/** The ticket a command's events concern, per command type: the ticket issued, the one called
 * (next, skip, call), recalled, transferred or cancelled; none for the others (a day.close that
 * cancels the waiting tickets concerns none of them). The same as the queue's own answer. */
export function ticketOf(type: string | null, events: readonly QueueEvent[]): TicketInfo | undefined {
  const last = (t: QueueEvent['type']) =>
    [...events].reverse().find((e) => e.type === t) as { ticket?: TicketInfo } | undefined;
  switch (type) {
    case 'ticket.issue':
      return last('ticket.issued')?.ticket;
    case 'ticket.cancel':
      return last('ticket.cancelled')?.ticket;
    case 'counter.next':
    case 'counter.skip':
    case 'counter.call':
      return last('ticket.called')?.ticket;
    case 'counter.recall':
      return last('ticket.recalled')?.ticket;
    case 'counter.transfer':
      return last('ticket.transferred')?.ticket;
    default:
      return undefined;
  }
}

/** The record of a command from its journaled events (a command that caused none is an answer). */
export function doneRecord(cmd: JournaledCommand): CommandRecord {
  const lastEvent = cmd.events.at(-1);
  if (!lastEvent) throw new Error(`command ${cmd.id} has no events`);
  const ticket = ticketOf(cmd.type ?? null, cmd.events);
  return {
    id: cmd.id,
    digest: cmd.digest ?? null,
    type: cmd.type ?? null,
    outcome: { kind: 'done', ...(ticket ? { ticket } : {}), seq: lastEvent.seq, at: lastEvent.at },
    ...(cmd.origin ? { origin: cmd.origin } : {}),
  };
}

/** The office-local date of a time written by the queue ("2026-11-26T10:00:00.000+09:00"). */
function dayOf(at: string): string {
  return at.slice(0, 10);
}

interface Line {
  i: string;
  d: string | null;
  t: string | null;
  /** done: ticket, seq, at */
  k?: TicketInfo;
  s?: number;
  a?: string;
  /** answer */
  r?: unknown;
  /** origin (absent: unknown, a line of an older release or put back from the journal) */
  o?: string;
}

function encode(rec: CommandRecord): Buffer {
  const o = rec.outcome;
  const line: Line =
    o.kind === 'done'
      ? { i: rec.id, d: rec.digest, t: rec.type, ...(o.ticket ? { k: o.ticket } : {}), s: o.seq, a: o.at }
      : { i: rec.id, d: rec.digest, t: rec.type, r: o.result };
  if (rec.origin !== undefined) line.o = rec.origin;
  const json = JSON.stringify(line);
  return Buffer.from(`${crc32(json).toString(16).padStart(8, '0')} ${json}\n`, 'utf8');
}

function decode(json: string): CommandRecord | null {
  const l = JSON.parse(json) as Line;
  if (typeof l.i !== 'string') return null;
  const base = { id: l.i, digest: l.d ?? null, type: l.t ?? null, ...(typeof l.o === 'string' ? { origin: l.o } : {}) };
  if (typeof l.s === 'number' && typeof l.a === 'string')
    return { ...base, outcome: { kind: 'done', ...(l.k ? { ticket: l.k } : {}), seq: l.s, at: l.a } };
  if ('r' in l) return { ...base, outcome: { kind: 'answer', result: l.r } };
  return null;
}

interface Day {
  day: string;
  file: string;
  records: Map<string, CommandRecord>;
  /** ids of the day per origin (a record without one is not counted) */
  perOrigin: Map<string, number>;
  /** done records whose lines the next sync() writes (the journal holds them meanwhile), and the
   * lines a failed write left unwritten */
  deferred: CommandRecord[];
  handle: Promise<FileHandleLike> | null;
  /** bytes of the file made of whole lines: a failed write is cut back to this */
  size: number;
  /** bytes of it known durable (fdatasync'd), and the lines written after them */
  synced: number;
  unsynced: CommandRecord[];
  /** a write or an fdatasync of this file failed: its tail is unknown until repair() cuts it back */
  broken: boolean;
}

export interface CommandLogOpen {
  /** records put back from the journal (their line was lost in a power cut) */
  reconciled: number;
  /** damage found and repaired (a torn last line) */
  problems: string[];
}

export class CommandLog {
  /** oldest first; at most COMMAND_DAYS_KEPT */
  private days: Day[] = [];
  /** every append, in order (a handle's writes must not interleave) */
  private writes: Promise<void> = Promise.resolve();
  private writeError: Error | null = null;
  /** the failure of the last sync(), until one succeeds (device status: store.commandLogError) */
  lastError: string | null = null;
  private readonly dirty = new Set<FileHandleLike>();
  private syncing: Promise<void> | null = null;
  private nextSync: Promise<void> | null = null;
  bytesWritten = 0;

  constructor(
    private readonly fs: StoreFs,
    private readonly dir: string,
    /** told when lastError changes (the device status shows it) */
    private readonly onLastError: () => void = () => {},
  ) {}

  private setLastError(message: string | null): void {
    if (message === this.lastError) return;
    this.lastError = message;
    this.onLastError();
  }

  /** Load the kept days, repair a torn last line, and put back every command the journal holds
   * that the log lost (a power cut between the journal's fsync and this log's). Durable when it
   * resolves, unless the card refuses the writes (lastError says so; the journal still holds those
   * commands): call it before anything can prune the journal or send a command. */
  async open(journaled: Iterable<JournaledCommand>): Promise<CommandLogOpen> {
    await this.fs.mkdirp(this.dir);
    const problems: string[] = [];
    const files = (await this.fs.list(this.dir))
      .map((n) => FILE_RE.exec(n))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => m[1]!)
      .sort();
    for (const day of files) {
      const d = this.dayEntry(day);
      const buf = (await this.fs.readFile(d.file)) ?? Buffer.alloc(0);
      const { goodBytes, bad } = this.load(d, buf, problems);
      d.size = goodBytes;
      d.synced = goodBytes;
      if (bad) {
        // A power cut tears the last line only; cut it off so the next line starts clean.
        problems.push(`${path.basename(d.file)}: ${bad}; dropped ${buf.length - goodBytes} bytes`);
        await this.fs.truncate(d.file, goodBytes);
      }
    }
    // Put back what the journal knows and the log lost, for the days the log keeps.
    const missing: Array<{ rec: CommandRecord; day: string }> = [];
    for (const cmd of journaled) {
      if (cmd.events.length === 0 || this.get(cmd.id)) continue;
      const rec = doneRecord(cmd);
      missing.push({ rec, day: dayOf((rec.outcome as { at: string }).at) });
    }
    const kept = [...new Set([...files, ...missing.map((m) => m.day)])].sort().slice(-COMMAND_DAYS_KEPT);
    let reconciled = 0;
    for (const m of missing) {
      if (!kept.includes(m.day)) continue;
      this.put(this.dayEntry(m.day), m.rec);
      reconciled++;
    }
    for (const d of [...this.days]) if (!kept.includes(d.day)) this.drop(d);
    // A full card must not keep the office from starting (the office stops only when a journal
    // record no longer fits): the lines put back stay in memory, the journal keeps holding them
    // (prune() syncs this log first and stops when it fails), the status shows lastError, and
    // every later sync writes them again once there is room.
    await this.sync().catch((err: Error) => {
      problems.push(`the command log cannot be written (${err.message}); its lines are kept until it can`);
    });
    return { reconciled, problems };
  }

  private load(d: Day, buf: Buffer, problems: string[]): { goodBytes: number; bad: string | null } {
    let off = 0;
    while (off < buf.length) {
      const nl = buf.indexOf(0x0a, off);
      if (nl < 0) return { goodBytes: off, bad: `torn last line (${buf.length - off} bytes without newline)` };
      const line = buf.subarray(off, nl).toString('utf8');
      const json = line.slice(9);
      let rec: CommandRecord | null = null;
      if (line[8] === ' ' && crc32(json).toString(16).padStart(8, '0') === line.slice(0, 8)) {
        try {
          rec = decode(json);
        } catch {
          rec = null;
        }
      }
      if (rec) this.remember(d, rec);
      // Lines do not depend on each other: a damaged one (not a power cut) is skipped, the rest kept.
      else problems.push(`${path.basename(d.file)}: line at byte ${off} is damaged; skipped`);
      off = nl + 1;
    }
    return { goodBytes: off, bad: null };
  }

  /** The record of a command id of the kept days. */
  get(id: string): CommandRecord | undefined {
    for (let i = this.days.length - 1; i >= 0; i--) {
      const rec = this.days[i]!.records.get(id);
      if (rec) return rec;
    }
    return undefined;
  }

  /** How many command ids are remembered (every kept day). */
  get size(): number {
    return this.days.reduce((n, d) => n + d.records.size, 0);
  }

  /** A command whose events the journal has just made durable: remembered at once, written and
   * fsync'd by the next sync() (the journal holds it until then). */
  noteJournaled(cmd: JournaledCommand): CommandRecord {
    const rec = doneRecord(cmd);
    const d = this.dayFor(dayOf((rec.outcome as { at: string }).at));
    this.remember(d, rec);
    d.deferred.push(rec);
    return rec;
  }

  /** Lines remembered but not yet written (noteJournaled), for tests and the status. */
  get unwritten(): number {
    return this.days.reduce((n, d) => n + d.deferred.length, 0);
  }

  /** A command that changed nothing: remembered at once; resolves once it is on disk (fsync,
   * shared by the answers recorded meanwhile). `day`: today's office-local date. */
  async record(rec: CommandRecord, day: string): Promise<void> {
    this.put(this.dayFor(day), rec);
    await this.sync();
  }

  /** Write the lines remembered so far and make them durable. Concurrent calls share fsyncs (group
   * commit). After a failure (a full or failing card) each sync tries again: a file whose write
   * failed is cut back to its last whole line and the lines it lacks are written again. */
  sync(): Promise<void> {
    if (this.nextSync) return this.nextSync;
    const run = async (): Promise<void> => {
      this.nextSync = null;
      try {
        if (this.writeError) await this.repair();
        for (const d of this.days) for (const rec of d.deferred.splice(0)) this.write(d, rec);
        await this.writes;
        if (this.writeError) throw this.writeError;
        const handles = [...this.dirty];
        this.dirty.clear();
        // what this sync covers: lines written later wait for the next one
        const covered = this.days.map((d) => ({ d, size: d.size, lines: d.unsynced.length }));
        try {
          for (const h of handles) await h.datasync();
        } catch (err) {
          // After a failed fdatasync the kernel may have dropped the pages it could not write and
          // a second one would succeed without them: cut every file back to what is known durable
          // and write its later lines again (repair(), at the next sync).
          this.writeError = new Error(`command log sync failed: ${(err as Error).message}`);
          await this.writes;
          for (const d of this.days) {
            if (d.size === d.synced) continue;
            d.broken = true;
            d.size = d.synced;
            d.deferred.unshift(...d.unsynced.splice(0));
          }
          throw this.writeError;
        }
        for (const { d, size, lines } of covered) {
          d.synced = size;
          d.unsynced.splice(0, lines);
        }
        this.setLastError(null);
      } catch (err) {
        this.setLastError((err as Error).message);
        throw err;
      }
    };
    if (!this.syncing) {
      this.syncing = run().finally(() => {
        this.syncing = null;
      });
      return this.syncing;
    }
    this.nextSync = this.syncing
      .catch(() => undefined)
      .then(() => {
        this.syncing = run().finally(() => {
          this.syncing = null;
        });
        return this.syncing;
      });
    return this.nextSync;
  }

  /** After a failed write: close each broken file, cut it back to its last whole line, and let the
   * next write open it again. Throws while the card still refuses. */
  private async repair(): Promise<void> {
    await this.writes;
    for (const d of this.days) {
      if (!d.broken) continue;
      const h = d.handle;
      d.handle = null;
      const fh = h ? await h.catch(() => null) : null;
      if (fh) {
        this.dirty.delete(fh);
        await fh.close().catch(() => undefined);
      }
      try {
        await this.fs.truncate(d.file, d.size);
      } catch (err) {
        // a file whose creation failed has nothing to cut
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      d.broken = false;
    }
    this.writeError = null;
  }

  /** fsync and let go of the files (clean stop). */
  async close(): Promise<void> {
    await this.sync().catch(() => undefined);
    await this.release();
  }

  /** Let go of the files without syncing (tests of a power cut): lines not yet written are lost,
   * as a power cut loses them. */
  async release(): Promise<void> {
    for (const d of this.days) d.deferred.length = 0;
    await this.writes;
    for (const d of this.days) {
      const h = d.handle;
      d.handle = null;
      if (h) await (await h.catch(() => null))?.close();
    }
  }

  /** The day a new line goes to: never a day older than the newest one (a clock stepped back
   * writes into the newest file); a newer day starts a file and drops the oldest beyond the kept. */
  private dayFor(day: string): Day {
    const newest = this.days.at(-1);
    if (newest && day <= newest.day) return newest;
    const d = this.dayEntry(day);
    while (this.days.length > COMMAND_DAYS_KEPT) this.drop(this.days[0]!);
    return d;
  }

  private dayEntry(day: string): Day {
    let d = this.days.find((x) => x.day === day);
    if (!d) {
      d = {
        day,
        file: path.join(this.dir, `commands-${day}.log`),
        records: new Map(),
        perOrigin: new Map(),
        deferred: [],
        handle: null,
        size: 0,
        synced: 0,
        unsynced: [],
        broken: false,
      };
      this.days.push(d);
      this.days.sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0));
    }
    return d;
  }

  private put(d: Day, rec: CommandRecord): void {
    this.remember(d, rec);
    this.write(d, rec);
  }

  private remember(d: Day, rec: CommandRecord): void {
    const had = d.records.has(rec.id);
    d.records.set(rec.id, rec);
    if (!had && rec.origin !== undefined) d.perOrigin.set(rec.origin, (d.perOrigin.get(rec.origin) ?? 0) + 1);
  }

  /** How many ids `origin` has had remembered under `day` (today's office-local date); a clock
   * stepped back counts in the newest day, as its lines are written there. */
  countOf(origin: string, day: string): number {
    const newest = this.days.at(-1);
    const d = newest && day <= newest.day ? newest : undefined;
    return d?.perOrigin.get(origin) ?? 0;
  }

  private write(d: Day, rec: CommandRecord): void {
    const buf = encode(rec);
    this.writes = this.writes.then(async () => {
      // After a failure no line may follow the unknown tail: held for the next sync's repair.
      if (this.writeError) {
        d.deferred.push(rec);
        return;
      }
      try {
        if (!d.handle) {
          const created = this.fs.openAppend(d.file);
          d.handle = created;
          await created;
          // A new file's directory entry must be durable too, or a power cut can lose the whole file.
          await this.fs.syncDir(this.dir);
        }
        const h = await d.handle;
        await h.write(buf);
        d.size += buf.length;
        d.unsynced.push(rec);
        this.dirty.add(h);
        this.bytesWritten += buf.length;
      } catch (err) {
        // The file's tail is unknown now (part of the line may be in it). sync() reports the
        // failure, and the next sync cuts the file back to d.size and writes the line again.
        this.writeError = new Error(`command log write failed: ${(err as Error).message}`);
        d.broken = true;
        d.deferred.push(rec);
      }
    });
  }

  /** Forget a day beyond the kept ones and remove its file. Not synced: a removal lost to a power
   * cut is redone at the next open. */
  private drop(d: Day): void {
    this.days = this.days.filter((x) => x !== d);
    this.writes = this.writes.then(async () => {
      const h = d.handle;
      d.handle = null;
      if (h) {
        const fh = await h.catch(() => null);
        if (fh) {
          this.dirty.delete(fh);
          await fh.close().catch(() => undefined);
        }
      }
      await this.fs.unlink(d.file).catch(() => undefined);
    });
  }
}
