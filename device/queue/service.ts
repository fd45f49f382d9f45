// (being written) The queue as the daemon runs it: engine + durable store, one action at a time.
import type { Action, ActionResult } from './actions.ts';
import type { Snapshot } from './snapshot-types.ts';
import type { QueueState, TicketInfo } from './types.ts';

export interface QueueService {
  /** Decide, persist (fsync) and only then emit `queueEvents` on the bus. Never throws for a
   * refused action: it returns { ok: false, error: { code, message } } and changes nothing. */
  execute(action: Action, meta?: { cmdId?: string }): Promise<ActionResult>;
  /** The contract's state snapshot, computed now. */
  snapshot(): Snapshot;
  /** Read-only view of the folded state. */
  state(): Readonly<QueueState>;
  ticket(number: string): TicketInfo | undefined;
}
