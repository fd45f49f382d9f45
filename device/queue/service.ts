// The queue as the daemon runs it: the engine decides and applies in memory, the store makes the
// events durable, and only then does the bus carry them to the board, printer, audio and MQTT.
// Concurrent actions are fine: the engine runs each one synchronously, in call order, and the
// store writes their records in that same order with one fsync per batch (group commit).
import type { Logger } from 'pino';
import type { Bus } from '../bus.ts';
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
  execute(action: Action, meta?: { cmdId?: string; source?: string }): Promise<ActionResult>;
  /** The contract's state snapshot, computed now. */
  snapshot(): Snapshot;
  /** Read-only view of the folded state. */
  state(): Readonly<QueueState>;
  ticket(number: string): TicketInfo | undefined;
  /** The events a command id caused before this start, from the journal (idempotency across a
   * power cut that came between the queue's fsync and the bridge's record of the result). */
  journaledCommand(cmdId: string): QueueEvent[] | undefined;
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
}

export class DurableQueue implements QueueService {
  private readonly config: Config;
  private readonly engine: QueueEngine;
  private readonly store: Store;
  private readonly bus: Bus;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly onFatal: (err: Error) => void;

  constructor(opts: DurableQueueOptions) {
    this.config = opts.config;
    this.engine = opts.engine;
    this.store = opts.store;
    this.bus = opts.bus;
    this.logger = opts.logger;
    this.now = opts.now;
    this.onFatal = opts.onFatal;
    this.store.attach(() => this.engine.state);
  }

  async execute(action: Action, meta: { cmdId?: string; source?: string } = {}): Promise<ActionResult> {
    const result = this.engine.execute(action);
    if (!result.ok) {
      this.logger.info(
        { action: action.type, source: meta.source, cmdId: meta.cmdId, code: result.error.code },
        result.error.message,
      );
      this.bus.emit('actionRefused', { action: action.type, source: meta.source, ...result.error });
      return result;
    }
    if (result.events.length === 0) return result;
    try {
      await this.store.append(result.events, meta.cmdId === undefined ? {} : { cmdId: meta.cmdId });
    } catch (err) {
      this.onFatal(err as Error);
      throw err;
    }
    this.logger.debug({ action: action.type, source: meta.source, seq: result.events.at(-1)?.seq }, 'action applied');
    this.bus.emit('queueEvents', { events: result.events });
    return result;
  }

  snapshot(): Snapshot {
    return buildSnapshot(this.config, this.engine.state, this.now());
  }

  state(): Readonly<QueueState> {
    return this.engine.state;
  }

  journaledCommand(cmdId: string): QueueEvent[] | undefined {
    return this.store.journaledCommand(cmdId);
  }

  ticket(number: string): TicketInfo | undefined {
    const t = this.engine.state.tickets[number];
    if (!t) return undefined;
    const info: TicketInfo = { number: t.number, service: t.service, channel: t.channel, priority: t.priority };
    if (t.ref !== undefined) info.ref = t.ref;
    return info;
  }
}
