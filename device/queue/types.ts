// Plain data of the queue: the state the engine folds events into, and the events themselves.
// Event shapes are the public contract (docs/mqtt.md, bridge/contract/schemas): the same objects
// are journaled, replayed and published, so there is one definition of "what happened".

export type Channel = 'kiosk' | 'online';
export type CounterStatus = 'idle' | 'serving' | 'paused' | 'closed';
export type TicketStatus = 'waiting' | 'serving' | 'skipped' | 'done' | 'cancelled';

/** Why a service issues no tickets, as the contract publishes it (state's `closedReason`; a
 * service.changed event carries all but `day-closed`). Each is one refusal code: queue/closed.ts. */
export const CLOSED_REASONS = ['manual', 'cutoff', 'cap', 'exhausted', 'day-closed'] as const;
export type ClosedReason = (typeof CLOSED_REASONS)[number];

/** The ticket as events and results show it. `ref` is central's opaque handle, never personal data. */
export interface TicketInfo {
  number: string;
  service: string;
  channel: Channel;
  priority: boolean;
  ahead?: number;
  estimatedWaitMin?: number;
  ref?: string;
}

interface EventBase {
  v: 1;
  office: string;
  seq: number;
  id: string;
  at: string;
}

export interface DayOpenedEvent extends EventBase {
  type: 'day.opened';
  day: string;
  /** true when the same day is opened again after a close: numbering continues. */
  resumed: boolean;
}
export interface DayClosedEvent extends EventBase {
  type: 'day.closed';
  day: string;
  issued: number;
  completed: number;
  waiting: number;
}
export interface TicketIssuedEvent extends EventBase {
  type: 'ticket.issued';
  ticket: TicketInfo & { ahead: number; estimatedWaitMin: number };
}
export interface TicketCalledEvent extends EventBase {
  type: 'ticket.called';
  ticket: TicketInfo;
  counter: string;
}
export interface TicketRecalledEvent extends EventBase {
  type: 'ticket.recalled';
  ticket: TicketInfo;
  counter: string;
}
export interface TicketSkippedEvent extends EventBase {
  type: 'ticket.skipped';
  ticket: TicketInfo;
  counter: string;
  /** Until then the ticket can be called back by number. */
  holdUntil: string;
}
export interface TicketTransferredEvent extends EventBase {
  type: 'ticket.transferred';
  ticket: TicketInfo;
  counter: string;
  toService?: string;
  toCounter?: string;
}
export interface TicketCompletedEvent extends EventBase {
  type: 'ticket.completed';
  ticket: TicketInfo;
  counter: string;
  serviceSec: number;
}
export interface TicketCancelledEvent extends EventBase {
  type: 'ticket.cancelled';
  ticket: TicketInfo;
  reason: 'cancelled' | 'day-closed';
}
export interface TicketNearEvent extends EventBase {
  type: 'ticket.near';
  ticket: TicketInfo;
  ahead: number;
  threshold: number;
}
export interface CounterChangedEvent extends EventBase {
  type: 'counter.changed';
  counter: { id: string; status: CounterStatus; ticket: string | null };
}
export interface ServiceChangedEvent extends EventBase {
  type: 'service.changed';
  service: { id: string; accepting: boolean; reason: Exclude<ClosedReason, 'day-closed'> };
}
export interface NoticeChangedEvent extends EventBase {
  type: 'notice.changed';
  notice: string;
}

export type QueueEvent =
  | DayOpenedEvent
  | DayClosedEvent
  | TicketIssuedEvent
  | TicketCalledEvent
  | TicketRecalledEvent
  | TicketSkippedEvent
  | TicketTransferredEvent
  | TicketCompletedEvent
  | TicketCancelledEvent
  | TicketNearEvent
  | CounterChangedEvent
  | ServiceChangedEvent
  | NoticeChangedEvent;

export type EventType = QueueEvent['type'];
/** An event before the engine stamps it with the envelope. */
export type EventBody = QueueEvent extends infer E ? (E extends QueueEvent ? Omit<E, keyof EventBase> : never) : never;

/** A ticket as the state keeps it for the day. */
export interface TicketRecord {
  number: string;
  /** index within the service's range: the number without prefix/padding */
  n: number;
  service: string;
  channel: Channel;
  priority: boolean;
  ref?: string;
  status: TicketStatus;
  issuedAt: number;
  /** seq of the event that issued it: the tie-breaker for "oldest first" */
  issuedSeq: number;
  /** 0 = sent to the front (transfer), 1 = priority, 2 = ordinary */
  tier: 0 | 1 | 2;
  /** ordering key inside a tier: issue seq, or transfer seq for tier 0 */
  order: number;
  /** set while waiting for one particular counter (transfer to counter) */
  pin?: string;
  counter?: string;
  calledAt?: number;
  holdUntil?: number;
  /** near thresholds already announced */
  near: number[];
}

export interface CounterState {
  id: string;
  status: CounterStatus;
  ticket: string | null;
}

export interface ServiceState {
  id: string;
  /** manual switch (service.accepting command) */
  accepting: boolean;
  /** true once the day's cut-off time has passed and been announced */
  cutoffPassed: boolean;
  /** highest index issued today, 0 when none */
  lastIssued: number;
  issuedToday: number;
  lastCalled: string | null;
  /** EWMA of service time in seconds; survives day changes so the estimate keeps learning */
  avgServiceSec: number;
  /** waiting ticket numbers, in calling order (tier, order) */
  waiting: string[];
}

export interface RecentCall {
  ticket: string;
  service: string;
  counter: string;
  at: string;
  recall: boolean;
}

export interface QueueState {
  schema: number;
  office: string;
  seq: number;
  /** epoch ms of the last event folded in: a clock earlier than this is not to be trusted */
  lastAt: number;
  day: string | null;
  open: boolean;
  notice: string;
  services: Record<string, ServiceState>;
  counters: Record<string, CounterState>;
  /** every ticket of the day by number */
  tickets: Record<string, TicketRecord>;
  /** tickets transferred to one counter, in calling order */
  pinned: Record<string, string[]>;
  recentCalls: RecentCall[];
}
