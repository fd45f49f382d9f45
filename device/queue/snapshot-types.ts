// The state snapshot as the contract publishes it (retained `state` topic) and the board draws it.
import type { ClosedReason, CounterStatus } from './types.ts';

export interface ServiceSnapshot {
  id: string;
  name: string;
  waiting: number;
  lastIssued: string | null;
  lastCalled: string | null;
  estimatedWaitMin: number;
  accepting: boolean;
  /** why not accepting: manual | cutoff | cap | exhausted | day-closed; absent when accepting */
  closedReason?: ClosedReason;
}

export interface CounterSnapshot {
  id: string;
  name: string;
  status: CounterStatus;
  ticket: string | null;
  services: string[];
}

export interface CallSnapshot {
  ticket: string;
  service: string;
  counter: string;
  at: string;
}

export interface Snapshot {
  v: 1;
  office: string;
  name: string;
  seq: number;
  at: string;
  day: string | null;
  open: boolean;
  services: ServiceSnapshot[];
  counters: CounterSnapshot[];
  /** newest first */
  recentCalls: CallSnapshot[];
  notice: string;
}
