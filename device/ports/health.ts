// Health of one hardware component, as the device status reports it.
import type { PaperState } from './outputs.ts';

export interface ComponentHealth {
  /** the component is attached and answering */
  connected: boolean;
  /** stable error code of the last failure (docs/errors.md), or null */
  lastError: string | null;
  lastErrorAt: string | null;
  // The fields below are the ones code reads (the board shows the printer's trouble); a component
  // that has them must use these names and types.
  /** printer: it can print a ticket now */
  ready?: boolean;
  /** printer: paper sensor */
  paper?: PaperState;
  /** printer: it answers */
  online?: boolean;
  /** printer: what citizens are told while it cannot print (Korean, shown on the board); null when it can */
  message?: string | null;
  /** driver-specific counters for people reading the status (presses rejected by the rate limit,
   * frames written…); code does not branch on them, so they stay untyped */
  [detail: string]: unknown;
}

export function healthy(extra: Record<string, unknown> = {}): ComponentHealth {
  return { connected: true, lastError: null, lastErrorAt: null, ...extra };
}
