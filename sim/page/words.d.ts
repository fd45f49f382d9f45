// Types of ./words.js (a plain browser module, also imported by the tests).
import type { ClosedReason, CounterStatus } from '../../device/queue/types.ts';

export const COUNTER_STATUS: Record<CounterStatus, string>;
export function waitText(minutes: number): string;
export function closedReasonText(reason: ClosedReason | undefined): string;
export function serviceLine(svc: {
  accepting: boolean;
  closedReason?: ClosedReason;
  waiting: number;
  estimatedWaitMin: number;
}): string;
export function counterLabel(
  layout: { counters: Array<{ id: string; name: string }> } | null | undefined,
  id: string,
): string;
export function voiceText(
  voice: { counters: string[]; services: string[] } | null | undefined,
  layout:
    | { counters: Array<{ id: string; name: string }>; services: Array<{ id: string; name: string }> }
    | null
    | undefined,
): string;
