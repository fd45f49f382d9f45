// What can be asked of the queue. The same shapes serve the keypads, the dispenser, the terminal
// control and central's commands (bridge/ validates those and maps them here one to one).
import type { QueueErrorCode } from '../error-codes.ts';
import type { Channel, QueueEvent, TicketInfo } from './types.ts';

export type Action =
  | { type: 'ticket.issue'; service: string; channel: Channel; priority?: boolean; ref?: string }
  /** day and ref, when given, must be the ticket's: numbers start again each day, so a cancel
   * that reaches the device after midnight would otherwise cancel today's ticket of that number */
  | { type: 'ticket.cancel'; number: string; day?: string; ref?: string }
  | { type: 'counter.next'; counter: string }
  | { type: 'counter.recall'; counter: string }
  | { type: 'counter.skip'; counter: string }
  | { type: 'counter.pause'; counter: string }
  | { type: 'counter.resume'; counter: string }
  | { type: 'counter.close'; counter: string }
  | { type: 'counter.call'; counter: string; number: string }
  | { type: 'counter.transfer'; counter: string; toService?: string; toCounter?: string }
  | { type: 'service.accepting'; service: string; accepting: boolean }
  | { type: 'notice.set'; text: string }
  | { type: 'day.open' }
  | { type: 'day.close' }
  /** time passing: announces cut-offs. Issued by the daemon's timer, never by a person. */
  | { type: 'tick' };

export type ActionType = Action['type'];

/** Stable error codes: the same code appears in logs, cmd/result and docs/errors.md. The list
 * lives with every other area's codes in device/error-codes.ts (QUEUE_ERRORS). */
export type { QueueErrorCode };

export interface QueueError {
  code: QueueErrorCode;
  message: string;
}

export interface ActionOk {
  ok: true;
  events: QueueEvent[];
  /** the ticket issued or called, when the action had one */
  ticket?: TicketInfo;
}
export interface ActionFail {
  ok: false;
  error: QueueError;
}
export type ActionResult = ActionOk | ActionFail;
