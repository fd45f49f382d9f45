// The contract's state snapshot, computed from the folded state. Cheap enough to compute per
// change: O(services + counters), waiting counts come from list lengths.
import type { Config } from '../config/schema.ts';
import { localTime } from '../util/time.ts';
import { closedReason } from './closed.ts';
import { formatNumber } from './engine.ts';
import { estimateWaitMin, openCounters } from './estimate.ts';
import type { Snapshot } from './snapshot-types.ts';
import type { QueueState } from './types.ts';

export function buildSnapshot(config: Config, state: QueueState, now: number): Snapshot {
  const local = localTime(now, config.office.timeZone);
  const pinnedByService = new Map<string, number>();
  for (const list of Object.values(state.pinned)) {
    for (const number of list) {
      const sid = state.tickets[number]?.service;
      if (sid) pinnedByService.set(sid, (pinnedByService.get(sid) ?? 0) + 1);
    }
  }
  return {
    v: 1,
    office: config.office.id,
    name: config.office.name,
    seq: state.seq,
    at: local.iso,
    day: state.day,
    open: state.open,
    services: config.services.map((cfg) => {
      const s = state.services[cfg.id]!;
      const waiting = s.waiting.length + (pinnedByService.get(cfg.id) ?? 0);
      const reason = closedReason(cfg, s, state, local);
      const out: Snapshot['services'][number] = {
        id: cfg.id,
        name: cfg.name,
        waiting,
        lastIssued: s.lastIssued > 0 ? formatNumber(cfg, s.lastIssued) : null,
        lastCalled: s.lastCalled,
        estimatedWaitMin: estimateWaitMin(waiting, s.avgServiceSec, openCounters(config, state, cfg.id)),
        accepting: reason === null,
      };
      if (reason !== null) out.closedReason = reason;
      return out;
    }),
    counters: config.counters.map((c) => {
      const st = state.counters[c.id]!;
      return { id: c.id, name: c.name, status: st.status, ticket: st.ticket, services: [...c.services] };
    }),
    recentCalls: state.recentCalls.map((c) => ({ ticket: c.ticket, service: c.service, counter: c.counter, at: c.at })),
    notice: state.notice,
  };
}
