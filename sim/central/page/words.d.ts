// Types of ./words.js (a plain browser module, also imported by the tests).
export function waitText(minutes: number): string;
export function ticketWaitText(minutes: number): string;
export function serviceWaitText(waiting: number, minutes: number): string;
export function counterName(
  state: { counters?: Array<{ id: string; name: string }> } | null | undefined,
  id: string,
): string;
