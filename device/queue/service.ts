// The queue as the daemon runs it: the engine decides and applies in memory, the store makes the
// events durable, and only then does the bus carry them to the board, printer, audio and MQTT.
// Concurrent actions are fine: the engine runs each one synchronously, in call order, and the
// store writes their records in that same order with one fsync per batch (group commit).
//
// The day rolls here, before the first action of a new date (docs/queue.md, "The day roll"): a
// timer alone would leave every action between midnight and its next look numbered on a day that
// has passed.
import type { Logger } from 'pino';
import type { Bus } from '../bus.ts';
import type { ClockGuard } from '../clock.ts';
import type { Config } from '../config/schema.ts';
import type { Store } from '../store/store.ts';
import type { Action, ActionResult } from './actions.ts';
import type { QueueEngine } from './engine.ts';
import { buildSnapshot } from './snapshot.ts';
import type { Snapshot } from './snapshot-types.ts';
import type { QueueEvent, QueueState, TicketInfo } from './types.ts';

export interface QueueService {
  /** Decide, persist (fsync) and only then emit `queueEvents` on the bus. A refused action
   * resolves to { ok: false, error: { code, message } } and changes nothing. Rejects only when
   * the disk failed, after which the daemon must restart. */
  execute(action: Action, meta?: ExecuteMeta): Promise<ActionResult>;
  /** The contract's state snapshot, computed now. */
  snapshot(): Snapshot;
  /** Read-only view of the folded state. */
  state(): Readonly<QueueState>;
  ticket(number: string): TicketInfo | undefined;
}

export interface ExecuteMeta {
  /** central's command id: journaled with the events, so the command is durable with them */
  cmdId?: string;
  /** the digest of what the command asked (bridge/commands: a reused id is told apart) */
  cmdDigest?: string;
  source?: string;
  /** who sent the command (a link and an account): the command log counts each one's ids a day */
  origin?: string;
}

export interface DurableQueueOptions {
  config: Config;
  engine: QueueEngine;
  store: Store;
  bus: Bus;
  logger: Logger;
  /** the daemon's effective time (device/clock.ts), for the snapshot's `at` and estimates */
  now: () => number;
  /** the disk failed under the journal: the daemon must stop and recover on restart */
  onFatal: (err: Error) => void;
  /** the disciplined clock: with `policy.autoOpen`, whether the office's date has passed the
   * queue's day. Absent: the queue never opens a day by itself. */
  clock?: Pick<ClockGuard, 'shouldOpenDay' | 'pinned'>;
}

interface Applied {
  events: QueueEvent[];
  /** resolves once the events are journaled (fdatasync) */
  durable: Promise<void>;
}

export class DurableQueue implements QueueService {
  private readonly config: Config;
  private readonly engine: QueueEngine;
  private readonly store: Store;
  private readonly bus: Bus;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly onFatal: (err: Error) => void;
  private readonly clock: Pick<ClockGuard, 'shouldOpenDay' | 'pinned'> | null;

  constructor(opts: DurableQueueOptions) {
    this.config = opts.config;
    this.engine = opts.engine;
    this.store = opts.store;
    this.bus = opts.bus;
    this.logger = opts.logger;
    this.now = opts.now;
    this.onFatal = opts.onFatal;
    this.clock = opts.clock ?? null;
    this.store.attach(() => this.engine.state);
  }

  async execute(action: Action, meta: ExecuteMeta = {}): Promise<ActionResult> {
    // The roll and the action are decided, and their appends queued, in this one synchronous step:
    // no other caller's action can come between them, and they reach the journal in this order.
    // One reading of the clock for both, or an action at the last instant of a day could be
    // judged "same day" and then stamped with the first instant of the next.
    const decide = () => {
      const roll = this.rollDay(action);
      const result = this.engine.execute(action);
      const appended =
        result.ok && result.events.length > 0
          ? this.store.append(
              result.events,
              meta.cmdId === undefined
                ? {}
                : {
                    cmd: {
                      id: meta.cmdId,
                      type: action.type,
                      ...(meta.cmdDigest ? { digest: meta.cmdDigest } : {}),
                      ...(meta.origin ? { origin: meta.origin } : {}),
                    },
                  },
            )
          : null;
      return { roll, result, appended };
    };
    const { roll, result, appended } = this.clock ? this.clock.pinned(decide) : decide();
    try {
      // Without an append of its own (refused, or nothing to do), the answer still rests on the
      // state the appends before it made: it waits until that state is durable.
      await Promise.all([roll?.durable, appended ?? this.store.whenDurable()]);
    } catch (err) {
      this.onFatal(err as Error);
      throw err;
    }
    if (roll) this.emitApplied({ type: 'day.open' }, 'day-roll', roll.events);
    if (!result.ok) {
      this.logger.info(
        { action: action.type, source: meta.source, cmdId: meta.cmdId, code: result.error.code },
        result.error.message,
      );
      this.bus.emit('actionRefused', { action: action.type, source: meta.source, ...result.error });
      return result;
    }
    if (appended) this.emitApplied(action, meta.source, result.events);
    return result;
  }

  /** With `policy.autoOpen`, a new date opens its day before the action (closing the old day:
   * what still waits is cancelled). Synchronous up to the append, like the action after it. */
  private rollDay(action: Action): Applied | null {
    if (action.type === 'day.open' || !this.clock || !this.config.policy.autoOpen) return null;
    if (!this.clock.shouldOpenDay(this.engine.state.day, this.config.office.timeZone)) return null;
    const from = this.engine.state.day;
    const r = this.engine.execute({ type: 'day.open' });
    if (!r.ok) {
      this.logger.warn({ code: r.error.code, before: action.type }, `day roll refused: ${r.error.message}`);
      return null;
    }
    if (r.events.length === 0) return null;
    this.logger.info({ from, to: this.engine.state.day, before: action.type }, 'a new date: the day rolled');
    return { events: r.events, durable: this.store.append(r.events) };
  }

  private emitApplied(action: Action, source: string | undefined, events: QueueEvent[]): void {
    this.logger.debug({ action: action.type, source, seq: events.at(-1)?.seq }, 'action applied');
    this.bus.emit('queueEvents', { events });
  }

  snapshot(): Snapshot {
    return buildSnapshot(this.config, this.engine.state, this.now());
  }

  state(): Readonly<QueueState> {
    return this.engine.state;
  }

  ticket(number: string): TicketInfo | undefined {
    const t = this.engine.state.tickets[number];
    if (!t) return undefined;
    const info: TicketInfo = { number: t.number, service: t.service, channel: t.channel, priority: t.priority };
    if (t.ref !== undefined) info.ref = t.ref;
    return info;
  }
}
