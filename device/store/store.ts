// The durable store: snapshot generations (lowdb + SnapshotAdapter) plus the journal since them.
// Recovery = newest readable snapshot, migrated to this version's schema, then the journal folded
// on top. The journal also serves the outbox: events stay on disk until every cursor has them.
import * as path from 'node:path';
import { Low } from 'lowdb';
import type { Config } from '../config/schema.ts';
import { migrateState } from './migrations.ts';
import { knownEventType, replay, STATE_SCHEMA } from '../queue/reduce.ts';
import type { QueueEvent, QueueState } from '../queue/types.ts';
import { CommandLog } from './command-log.ts';
import { type Leftovers, nodeFs, removeLeftovers, type StoreFs } from './fs.ts';
import { type CommandMeta, encodeRecord, Journal, type JournalScan } from './journal.ts';
import { OutboxCursors } from './outbox.ts';
import { type SnapshotDoc, SnapshotAdapter } from './snapshot-adapter.ts';

export interface StoreOptions {
  dir: string;
  fs?: StoreFs;
  snapshotEvery: number;
  outboxMaxEvents: number;
  /** told when lastSnapshotError or the command log's error changes (the device status) */
  onProblemChange?: () => void;
}

export interface OpenResult {
  state: QueueState;
  /** what recovery had to repair or skip; empty after a clean stop */
  recovered: string[];
  /** temp files of durable writes cut short (power cut), removed at open: the caller logs them */
  leftovers: Leftovers;
  /** command results put back in the command log from the journal (lost in a power cut) */
  reconciledCommands: number;
}

export class StoreUnrecoverableError extends Error {
  readonly code = 'state-unrecoverable';
}

/** The state and journal belong to another office than the config's: a card cloned from the office
 * set up first, its config edited but not its data dir. Opened, the office would number on from the
 * other office's day and send that office's undelivered events to central under its own topic. */
export class StateOtherOfficeError extends Error {
  readonly code = 'state-other-office';
}

/** The journal holds what only a newer version knows (the snapshot's counterpart: StateTooNewError). */
export class JournalTooNewError extends Error {
  readonly code = 'state-too-new';
}

interface Pending {
  buf: Buffer;
  lastSeq: number;
  events: QueueEvent[];
  cmd: CommandMeta | undefined;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class Store {
  /** the file system of the data dir: whatever else the daemon writes there durably (the MQTT
   * bridge's files) goes through this one too, with writeDurable */
  readonly fs: StoreFs;
  private readonly stateDir: string;
  private readonly journal: Journal;
  private readonly snapshots: SnapshotAdapter;
  private readonly db: Low<SnapshotDoc | null>;
  readonly outbox: OutboxCursors;
  /** every command of central of the day and the day before, by id (idempotency: command-log.ts) */
  readonly commands: CommandLog;
  private queue: Pending[] = [];
  private writing: Promise<void> | null = null;
  private snapshotting: Promise<void> | null = null;
  private durableSeq = 0;
  /** the last seq handed to append() */
  private queuedSeq = 0;
  /** callers of whenDurable(), each until this seq is durable */
  private waiters: Array<{ seq: number; resolve: () => void; reject: (err: Error) => void }> = [];
  private snapshotSeq = 0;
  private recordsSinceSnapshot = 0;
  private getState: (() => QueueState) | null = null;
  private failed: Error | null = null;

  constructor(private readonly opts: StoreOptions) {
    this.fs = opts.fs ?? nodeFs;
    this.stateDir = path.join(opts.dir, 'state');
    this.journal = new Journal(this.fs, path.join(this.stateDir, 'journal'), {
      preallocate: journalPreallocation(opts.snapshotEvery),
    });
    this.snapshots = new SnapshotAdapter(this.fs, this.stateDir, STATE_SCHEMA);
    this.db = new Low<SnapshotDoc | null>(this.snapshots, null);
    this.outbox = new OutboxCursors(
      this.fs,
      path.join(this.stateDir, 'outbox'),
      this.journal,
      opts.outboxMaxEvents,
      () => this.durableSeq,
    );
    this.commands = new CommandLog(this.fs, path.join(this.stateDir, 'commands'), () => this.opts.onProblemChange?.());
  }

  async open(config: Config): Promise<OpenResult> {
    await this.fs.mkdirp(path.join(this.stateDir, 'journal'));
    await this.fs.mkdirp(path.join(this.stateDir, 'outbox'));
    // Where writeDurable writes: snapshots, cursors, and the data dir itself (the bridge's files);
    // and where replaceFile does: the data dir (the status file without a runtime dir) and the
    // simulator's outputs (display/: sim/, sim/tickets/, sim/audio/). Nothing writes yet: the lock
    // is held and no feature has started.
    const sim = path.join(this.opts.dir, 'sim');
    const leftovers = await removeLeftovers(this.fs, [
      this.opts.dir,
      this.stateDir,
      path.join(this.stateDir, 'outbox'),
      sim,
      path.join(sim, 'tickets'),
      path.join(sim, 'audio'),
    ]);
    const recovered: string[] = [];
    await this.db.read();
    const doc = this.db.data && 'state' in this.db.data ? this.db.data : null;
    const fellBack = doc ? 'fell back to an older generation' : 'no older generation is readable';
    for (const s of this.snapshots.skipped) recovered.push(`snapshot ${s}; ${fellBack}`);
    let base: QueueState | undefined;
    let baseSeq = 0;
    if (doc) {
      base = migrateState(doc.state, doc.schema);
      baseSeq = doc.seq;
    }
    const scan = await this.journal.scan(baseSeq);
    recovered.push(...scan.problems);
    this.checkJournal(scan, baseSeq, doc !== null);
    this.checkOffice(config, base?.office ?? scan.events.find((ev) => typeof ev.office === 'string')?.office);
    const state = replay(config, scan.events, base);
    // The snapshot read is the state now: lowdb's copy of it is not kept for the day (a day's
    // snapshot is hundreds of kilobytes, and grows with the tickets).
    this.db.data = null;
    this.durableSeq = state.seq;
    this.queuedSeq = state.seq;
    this.snapshotSeq = baseSeq;
    this.recordsSinceSnapshot = scan.events.length > 0 ? this.opts.snapshotEvery : 0;
    // Before anything can append, prune or send a command: every command the journal holds is in
    // the command log, durably, so no later pruning of its segment can forget it.
    const commands = await this.commands.open(scan.commands.values());
    recovered.push(...commands.problems);
    await this.journal.openLast(state.seq + 1);
    await this.outbox.open(state.seq);
    this.outbox.remember(scan.events);
    return { state, recovered, leftovers, reconciledCommands: commands.reconciled };
  }

  /** Refuses a data dir whose queue is another office's, before anything of that queue is written.
   * What an open tidies before it can read the state (a leftover temp file, a torn last record, a
   * damaged segment set aside) is tidied as at any start. */
  private checkOffice(config: Config, owner: string | undefined): void {
    if (owner === undefined || owner === config.office.id) return;
    throw new StateOtherOfficeError(
      `the data dir ${this.opts.dir} holds the queue of office "${owner}" (its day, its numbers and the events ` +
        `central has not received yet), and the config is office "${config.office.id}": a card cloned from ` +
        `"${owner}"'s, or office.id changed. Its queue and its events were left as they are. A new office starts on an empty data ` +
        `dir: stop the service and empty it (sudo find ${this.opts.dir} -mindepth 1 -delete), or put back ` +
        `office.id "${owner}" (docs/deploy.md, "Before you clone the card").`,
    );
  }

  /** Refuses to fold a journal that does not continue the snapshot event by event, or that holds
   * events this version does not know: starting anyway would give out numbers already given out
   * (the events missing held them) or drop what a newer release recorded. */
  private checkJournal(scan: JournalScan, baseSeq: number, fromSnapshot: boolean): void {
    const since = fromSnapshot ? `the newest readable snapshot ends at event ${baseSeq}` : 'no snapshot is readable';
    const instead = `Move ${this.stateDir} aside and start again, or restore it from a backup.`;
    // An empty segment counts too: after a clean stop the journal is one empty segment named for
    // the event after the snapshot, and a lost snapshot must not turn that into a fresh start.
    if (scan.from !== null && scan.from > baseSeq + 1) {
      throw new StoreUnrecoverableError(
        `the journal starts at event ${scan.from} but ${since}: events ${baseSeq + 1} to ${scan.from - 1} are ` +
          `missing, so numbers could repeat. ${instead}`,
      );
    }
    let expected = baseSeq + 1;
    for (const ev of scan.events) {
      if (ev.seq !== expected) {
        throw new StoreUnrecoverableError(
          `the journal jumps from event ${expected - 1} to ${ev.seq} (${since}): events are missing, so numbers ` +
            `could repeat. ${instead}`,
        );
      }
      if (!knownEventType(ev.type)) {
        throw new JournalTooNewError(
          `the journal holds an event of type "${ev.type}" (event ${ev.seq}), which this version of beonho does ` +
            'not know: a newer version wrote it. Install that version again, or a newer one; nothing was changed on disk.',
        );
      }
      expected++;
    }
  }

  /** The live state, read for snapshots while no append is in flight. */
  attach(getState: () => QueueState): void {
    this.getState = getState;
  }

  /** Make one action's events durable. Concurrent calls are written together (group commit),
   * in call order, with one fdatasync. An action of a central command carries the command
   * (`meta.cmd`): the same record makes it durable, and once it is, the command log knows it. */
  append(events: QueueEvent[], meta: { cmd?: CommandMeta } = {}): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (events.length === 0) return Promise.resolve();
    this.queuedSeq = events[events.length - 1]!.seq;
    return new Promise((resolve, reject) => {
      this.queue.push({
        buf: encodeRecord(events, meta.cmd),
        lastSeq: events[events.length - 1]!.seq,
        events,
        cmd: meta.cmd,
        resolve,
        reject,
      });
      this.writing ??= this.drain();
    });
  }

  /** Resolves once every append made before this call is durable: a decision that changed nothing
   * (a refusal, an action with nothing to do) was still read from a state those appends made, and
   * must not be answered, remembered or published before that state would survive a power cut. */
  whenDurable(): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.queuedSeq <= this.durableSeq) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ seq: this.queuedSeq, resolve, reject }));
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0);
        try {
          await this.journal.append(Buffer.concat(batch.map((p) => p.buf)));
        } catch (err) {
          // After a failed write the journal's tail is unknown: stop accepting, let the daemon
          // restart and recover from what is on disk.
          this.failed = new Error(`journal write failed: ${(err as Error).message}`);
          for (const p of [...batch, ...this.queue.splice(0), ...this.waiters.splice(0)]) p.reject(this.failed);
          return;
        }
        this.durableSeq = batch[batch.length - 1]!.lastSeq;
        const durable = this.durableSeq;
        for (const w of this.waiters) if (w.seq <= durable) w.resolve();
        this.waiters = this.waiters.filter((w) => w.seq > durable);
        this.recordsSinceSnapshot += batch.length;
        for (const p of batch) this.outbox.remember(p.events);
        // Remembered before the caller hears back, so a retry that follows at once finds it.
        for (const p of batch) if (p.cmd) this.commands.noteJournaled({ ...p.cmd, events: p.events });
        for (const p of batch) p.resolve();
        await this.maybeSnapshot();
      }
    } finally {
      this.writing = null;
    }
  }

  /** Called inside drain(), so no append runs while the journal rotates. A rotation that fails (a
   * full card) keeps the current segment, whose room made in advance still takes records: the
   * office goes on issuing, the status shows the error, and the snapshot is tried again later. */
  private async maybeSnapshot(): Promise<void> {
    if (this.snapshotting || this.recordsSinceSnapshot < this.opts.snapshotEvery) return;
    const doc = this.capture();
    if (!doc) return;
    this.recordsSinceSnapshot = 0;
    try {
      await this.journal.rotate(doc.seq + 1);
    } catch (err) {
      this.snapshotFailed(`journal rotation failed: ${(err as Error).message}`);
      return;
    }
    this.snapshotting = this.saveSnapshot(doc).finally(() => {
      this.snapshotting = null;
    });
  }

  /** A snapshot (or the rotation before it) failed: it loses nothing, the journal still holds
   * every event. Tried again after a few more records, not at every one: on a full or failing card
   * each try writes a segment's zeros or a whole state until it fails. */
  private snapshotFailed(message: string): void {
    this.recordsSinceSnapshot = Math.max(0, this.opts.snapshotEvery - SNAPSHOT_RETRY_RECORDS);
    this.setSnapshotError(message);
  }

  private capture(): SnapshotDoc | null {
    if (!this.getState) return null;
    const state = this.getState();
    // Only durable state goes into a snapshot: an action applied in memory but not yet journaled
    // must not reach the disk through the back door.
    if (state.seq !== this.durableSeq || this.queue.length > 0) return null;
    // Serialised here, synchronously, so the snapshot is exactly this seq; the write is async.
    const json = JSON.stringify(state);
    return { schema: STATE_SCHEMA, seq: state.seq, json };
  }

  private async saveSnapshot(doc: SnapshotDoc): Promise<void> {
    try {
      this.db.data = doc;
      await this.db.write();
      this.snapshotSeq = doc.seq;
      this.setSnapshotError(null);
      await this.prune();
    } catch (err) {
      this.snapshotFailed((err as Error).message);
    } finally {
      // written (or not): its text is not kept until the next snapshot, ~1,000 records later
      if (this.db.data === doc) this.db.data = null;
    }
  }

  lastSnapshotError: string | null = null;

  private setSnapshotError(message: string | null): void {
    if (message === this.lastSnapshotError) return;
    this.lastSnapshotError = message;
    this.opts.onProblemChange?.();
  }

  /** The command log's last failure (a full or failing card), until a sync succeeds again. */
  get commandLogError(): string | null {
    return this.commands.lastError;
  }

  /** Remove journal segments no longer needed by any snapshot generation or outbox cursor. */
  async prune(): Promise<void> {
    // A segment may hold the only durable copy of a command's outcome (its command-log line is
    // written without an fsync): make the log durable before any segment goes.
    await this.commands.sync();
    const oldestSnapshot = (await this.snapshots.oldestSeq()) ?? 0;
    await this.outbox.enforceBound(this.durableSeq);
    const keepFrom = Math.min(oldestSnapshot, this.outbox.minAcked(this.durableSeq));
    await this.journal.pruneThrough(keepFrom);
  }

  /** Write a snapshot now if anything changed since the last one (clean shutdown). */
  async checkpoint(): Promise<void> {
    await this.writing;
    await this.snapshotting;
    const doc = this.durableSeq > this.snapshotSeq ? this.capture() : null;
    if (doc) {
      await this.journal.rotate(doc.seq + 1);
      await this.saveSnapshot(doc);
    }
  }

  /** Let go of the files without writing anything new (tests that inspect a dead daemon's data or
   * stand for one). What is already under way (an append, a snapshot and its pruning, a cursor
   * write) finishes first, so nothing writes into the directory once this resolves and a test can
   * remove it; a cursor write only scheduled is dropped, as a power cut drops it. */
  async release(): Promise<void> {
    await this.writing;
    await this.snapshotting;
    await this.outbox.release();
    await this.journal.close();
    await this.commands.release();
  }

  async close(): Promise<void> {
    await this.checkpoint();
    await this.outbox.flush();
    await this.journal.close();
    await this.commands.close();
  }

  stats(): { bytesWritten: number; durableSeq: number; snapshotSeq: number } {
    return {
      bytesWritten:
        this.journal.bytesWritten + this.snapshots.bytesWritten + this.outbox.bytesWritten + this.commands.bytesWritten,
      durableSeq: this.durableSeq,
      snapshotSeq: this.snapshotSeq,
    };
  }
}

/** Records after a failed snapshot before the next try. */
const SNAPSHOT_RETRY_RECORDS = 50;

/** Bytes made in advance for each journal segment. A segment holds the records between two
 * snapshots (snapshotEvery of them, 300 to 600 bytes each: an issue, a call with the completion
 * of the ticket before); 512 bytes a record covers a usual day, and records past the end still
 * land, only growing the file again. Between 64 KiB and 8 MiB, in whole 4 KiB blocks. */
export function journalPreallocation(snapshotEvery: number): number {
  const bytes = Math.min(8 << 20, Math.max(64 << 10, snapshotEvery * 512));
  return Math.ceil(bytes / 4096) * 4096;
}
