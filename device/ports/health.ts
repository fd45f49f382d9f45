// Health of one hardware component, as the device status reports it.
export interface ComponentHealth {
  /** the component is attached and answering */
  connected: boolean;
  /** stable error code of the last failure, or null */
  lastError: string | null;
  lastErrorAt: string | null;
  /** driver-specific counters, e.g. presses rejected by the rate limit */
  [detail: string]: unknown;
}

export function healthy(extra: Record<string, unknown> = {}): ComponentHealth {
  return { connected: true, lastError: null, lastErrorAt: null, ...extra };
}
