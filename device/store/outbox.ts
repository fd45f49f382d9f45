// Named cursors over the journal: the outbox the MQTT bridge drains. A cursor's position is
// written durably in batches; a power cut between a PUBACK and that write means a few events are
// published again with the same seq, which the contract allows (at-least-once, dedupe by seq).
//
// Bound: when a cursor falls more than `maxEvents` behind (central unreachable for days), its
// oldest events are given up: the cursor jumps forward, the count and last dropped seq are kept in
// its file and reported in device status, and central sees the gap in `seq`. The office keeps
// issuing tickets: refusing citizens because central is away would be the worse failure.
import * as path from 'node:path';
import type { QueueEvent } from '../queue/types.ts';
import type { Outbox, OutboxReader } from './outbox-types.ts';
import { type StoreFs, writeDurable } from './fs.ts';
import type { Journal } from './journal.ts';

const RECENT_MAX = 20_000;
const FLUSH_AFTER_ACKS = 500;
const FLUSH_AFTER_MS = 250;

interface CursorData {
  acked: number;
  dropped: number;
  droppedThrough: number;
}

export class OutboxCursors implements Outbox {
  private readonly cursors = new Map<string, CursorData>();
  /** cursors opened in this run. Once the daemon's parts have started (settle()), only these hold
   * the journal back: a cursor left on disk by a sink that is now turned off (an uplink removed
   * from the config) must not keep events forever. Until then every cursor on disk does: the first
   * action after a restart (the day roll's tick) can snapshot and prune before the bridge has
   * opened its cursor, and would delete the backlog central has not received. */
  private readonly active = new Set<string>();
  private settled = false;
  private readonly dirty = new Set<string>();
  private pendingAcks = 0;
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private recent: QueueEvent[] = [];
  bytesWritten = 0;

  constructor(
    private readonly fs: StoreFs,
    private readonly dir: string,
    private readonly journal: Journal,
    private readonly maxEvents: number,
    private readonly lastSeq: () => number,
  ) {}

  async open(_lastSeq: number): Promise<void> {
    for (const name of await this.fs.list(this.dir)) {
      const m = /^cursor-([a-z0-9-]+)\.json$/.exec(name);
      if (!m) continue;
      const buf = await this.fs.readFile(path.join(this.dir, name));
      try {
        const data = JSON.parse(buf?.toString('utf8') ?? '') as CursorData;
        if (typeof data.acked === 'number') this.cursors.set(m[1]!, data);
      } catch {
        // An unreadable cursor can only be a torn first write: start it over (re-publish, never lose).
        this.cursors.set(m[1]!, { acked: 0, dropped: 0, droppedThrough: 0 });
      }
    }
  }

  /** Durable events, newest last, kept in memory so a live cursor never reads the disk. */
  remember(events: QueueEvent[]): void {
    for (const ev of events) this.recent.push(ev);
    if (this.recent.length > RECENT_MAX * 1.5) this.recent = this.recent.slice(-RECENT_MAX);
  }

  cursor(name: string): OutboxReader {
    if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`bad cursor name "${name}"`);
    if (!this.cursors.has(name)) {
      this.cursors.set(name, { acked: 0, dropped: 0, droppedThrough: 0 });
      this.markDirty(name, true);
    }
    this.active.add(name);
    const data = (): CursorData => this.cursors.get(name)!;
    return {
      read: (afterSeq, limit) => this.read(Math.max(afterSeq, 0), limit),
      acked: () => data().acked,
      ack: (seq) => {
        if (seq <= data().acked) return;
        data().acked = Math.min(seq, this.lastSeq());
        this.markDirty(name, false);
      },
      flush: () => this.flush(),
      lastSeq: () => this.lastSeq(),
      dropped: () => ({ count: data().dropped, throughSeq: data().droppedThrough }),
    };
  }

  private async read(afterSeq: number, limit: number): Promise<QueueEvent[]> {
    const first = this.recent[0];
    if (first && first.seq <= afterSeq + 1) {
      this.journal.forgetReads();
      const i = afterSeq + 1 - first.seq;
      return this.recent.slice(i, i + limit);
    }
    // The disk also holds records written but not yet fdatasync'd (the page cache shows them): an
    // event published before it is durable could be lost to a power cut and its seq given to
    // another event, which central, deduplicating by seq, would then drop.
    const durable = this.lastSeq();
    const events = await this.journal.read(afterSeq, limit);
    const end = events.findIndex((ev) => ev.seq > durable);
    return end < 0 ? events : events.slice(0, end);
  }

  /** The daemon's parts have started: the sinks that mirror the journal have opened their
   * cursors, and a cursor not opened by now belongs to a sink turned off (see `active`). */
  settle(): void {
    this.settled = true;
  }

  minAcked(durableSeq: number): number {
    let min = durableSeq;
    for (const name of this.settled ? this.active : this.cursors.keys()) {
      min = Math.min(min, this.cursors.get(name)!.acked);
    }
    return min;
  }

  /** Give up the oldest undelivered events of a cursor that fell too far behind. */
  async enforceBound(durableSeq: number): Promise<void> {
    for (const name of this.active) {
      const c = this.cursors.get(name)!;
      if (durableSeq - c.acked > this.maxEvents) {
        const to = durableSeq - this.maxEvents;
        c.dropped += to - c.acked;
        c.droppedThrough = to;
        c.acked = to;
        this.markDirty(name, true);
      }
    }
    await this.flush();
  }

  private markDirty(name: string, now: boolean): void {
    this.dirty.add(name);
    this.pendingAcks++;
    // Not awaited: a failed write keeps its cursors dirty for the next flush, and the pruning
    // awaits that one (Store.prune), so the failure shows as the snapshot error. Unhandled here it
    // ended the daemon.
    if (now || this.pendingAcks >= FLUSH_AFTER_ACKS) {
      this.flush().catch(() => undefined);
    } else if (!this.timer) {
      this.timer = setTimeout(() => this.flush().catch(() => undefined), FLUSH_AFTER_MS);
      this.timer.unref();
    }
  }

  /** Drops a flush only scheduled and waits for the one under way (Store.release). */
  async release(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.flushing.catch(() => undefined);
  }

  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pendingAcks = 0;
    // Flushes run one after another so an older position never overwrites a newer one. Each goes
    // on after a failed one (a full or failing card): chained to its rejection, every later flush
    // failed with it, and so did every pruning (enforceBound), so the journal kept every segment
    // until a restart.
    this.flushing = this.flushing
      .catch(() => undefined)
      .then(async () => {
        const names = [...this.dirty];
        this.dirty.clear();
        for (const [i, name] of names.entries()) {
          const data = Buffer.from(JSON.stringify(this.cursors.get(name)), 'utf8');
          try {
            await this.fs.mkdirp(this.dir);
            await writeDurable(this.fs, path.join(this.dir, `cursor-${name}.json`), data);
          } catch (err) {
            for (const left of names.slice(i)) this.dirty.add(left);
            throw err;
          }
          this.bytesWritten += data.length;
        }
      });
    return this.flushing;
  }
}
