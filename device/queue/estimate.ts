// Estimated wait: the people ahead, times the recent service time of the service (an EWMA kept in
// the state), shared among the counters open for it. Deliberately simple: citizens read it as
// "about 15 minutes", and a simple rule is one the office staff can explain.
import type { Config } from '../config/schema.ts';
import type { QueueState } from './types.ts';

export function openCounters(config: Config, state: QueueState, serviceId: string): number {
  let n = 0;
  for (const c of config.counters) {
    const st = state.counters[c.id]?.status;
    if ((st === 'idle' || st === 'serving') && c.services.includes(serviceId)) n++;
  }
  return n;
}

export function estimateWaitMin(ahead: number, avgServiceSec: number, open: number): number {
  if (ahead <= 0) return 0;
  return Math.ceil((ahead * avgServiceSec) / Math.max(1, open) / 60);
}
