// Why a service issues no tickets now. One answer for the snapshot (which tells the board and
// central) and for the engine (which refuses a press), so the two cannot disagree.
//
// The reasons are published names (state's `closedReason`, service.changed's `reason`, enumerated
// in bridge/contract/schemas) and stay as they are; each one is exactly one refusal code of the
// queue (REFUSAL_WHEN_CLOSED), so there is one vocabulary with a published short form.
import type { ServiceConfig } from '../config/schema.ts';
import { hhmmToMinutes } from '../util/time.ts';
import type { QueueErrorCode } from './actions.ts';
import type { ClosedReason, QueueState, ServiceState } from './types.ts';

/** The refusal a ticket.issue gets for each reason the service is closed. */
export const REFUSAL_WHEN_CLOSED = {
  'day-closed': 'day-closed',
  manual: 'not-accepting',
  cutoff: 'cutoff-passed',
  cap: 'cap-reached',
  exhausted: 'range-exhausted',
} as const satisfies { readonly [R in ClosedReason]: QueueErrorCode };

/** The local wall clock: the day (YYYY-MM-DD) and minutes since midnight. */
export interface LocalNow {
  date: string;
  minutes: number;
}

/** The first reason, in the order a press is refused, or null while the service issues tickets. */
export function closedReason(
  cfg: ServiceConfig,
  s: ServiceState,
  state: Pick<QueueState, 'open' | 'day'>,
  now: LocalNow,
): ClosedReason | null {
  if (!state.open) return 'day-closed';
  if (!s.accepting) return 'manual';
  if (cutoffPassed(cfg, s, state.day, now)) return 'cutoff';
  if (cfg.cap !== undefined && s.issuedToday >= cfg.cap) return 'cap';
  if (nextIndex(cfg, s) > cfg.numbers.to) return 'exhausted';
  return null;
}

/** Announced already, or the service's cut-off time of today has come. */
export function cutoffPassed(cfg: ServiceConfig, s: ServiceState, day: string | null, now: LocalNow): boolean {
  if (s.cutoffPassed) return true;
  if (!cfg.cutoff) return false;
  return now.date === day && now.minutes >= hhmmToMinutes(cfg.cutoff);
}

/** The index (number without prefix and padding) the service's next ticket gets. */
export function nextIndex(cfg: ServiceConfig, s: ServiceState): number {
  return s.lastIssued === 0 ? cfg.numbers.from : s.lastIssued + 1;
}
