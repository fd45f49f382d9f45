// Folding events into state. This is the only code that changes QueueState: the engine applies
// each event it emits through here, and recovery replays the journal through here, so live state
// and replayed state cannot drift apart. It mutates in place: a ticket costs O(1), not O(day).
import type { Config } from '../config/schema.ts';
import type { EventType, QueueEvent, QueueState, ServiceState, TicketRecord } from './types.ts';

export const STATE_SCHEMA = 1;
const RECENT_CALLS = 10;
/** service times outside this window (seconds) are mistakes, not data: a forgotten `next` at noon */
const SANE_SERVICE_SEC = { min: 5, max: 3600 };

export interface ReduceOptions {
  ewmaAlpha: number;
}

export function initialState(config: Config): QueueState {
  const state: QueueState = {
    schema: STATE_SCHEMA,
    office: config.office.id,
    seq: 0,
    lastAt: 0,
    day: null,
    open: false,
    notice: '',
    services: {},
    counters: {},
    tickets: {},
    pinned: {},
    recentCalls: [],
  };
  return reconcile(state, config);
}

/** Adds services and counters that config has and the state lacks (config edited between runs).
 * Ones that config dropped stay in the state so their tickets remain callable by number. */
export function reconcile(state: QueueState, config: Config): QueueState {
  for (const s of config.services) {
    state.services[s.id] ??= freshService(s.id, s.avgMinutes * 60);
  }
  for (const c of config.counters) {
    state.counters[c.id] ??= { id: c.id, status: 'closed', ticket: null };
    state.pinned[c.id] ??= [];
  }
  return state;
}

function freshService(id: string, avgServiceSec: number): ServiceState {
  return {
    id,
    accepting: true,
    cutoffPassed: false,
    lastIssued: 0,
    issuedToday: 0,
    lastCalled: null,
    avgServiceSec,
    waiting: [],
  };
}

/** Whether this version can fold an event of this type (a newer release's journal may hold others). */
export function knownEventType(type: string): type is EventType {
  return Object.hasOwn(REDUCERS, type);
}

export function applyEvent(state: QueueState, ev: QueueEvent, opts: ReduceOptions): void {
  if (ev.seq !== state.seq + 1) {
    throw new Error(`event seq ${ev.seq} does not follow state seq ${state.seq}`);
  }
  state.seq = ev.seq;
  const at = Date.parse(ev.at);
  state.lastAt = Math.max(state.lastAt, at);
  // The table is keyed by type, so the reducer fits the event; TS cannot correlate the two.
  (REDUCERS[ev.type] as Reducer<QueueEvent>)(state, ev, { at, opts });
}

interface FoldContext {
  /** the event's time, epoch ms */
  at: number;
  opts: ReduceOptions;
}
type Reducer<E extends QueueEvent> = (state: QueueState, ev: E, ctx: FoldContext) => void;
type EventOf<T extends EventType> = Extract<QueueEvent, { type: T }>;

/** One reducer per event type: how that event changes the state. */
const REDUCERS: { [T in EventType]: Reducer<EventOf<T>> } = {
  'day.opened': (state, ev) => {
    state.day = ev.day;
    state.open = true;
    if (ev.resumed) return;
    state.tickets = {};
    state.recentCalls = [];
    for (const id of Object.keys(state.pinned)) state.pinned[id] = [];
    for (const s of Object.values(state.services)) {
      Object.assign(s, freshService(s.id, s.avgServiceSec));
    }
  },
  'day.closed': (state) => {
    state.open = false;
  },
  'ticket.issued': (state, ev, { at }) => {
    const t = ev.ticket;
    const svc = state.services[t.service]!;
    const n = numericPart(t.number);
    const rec: TicketRecord = {
      number: t.number,
      n,
      service: t.service,
      channel: t.channel,
      priority: t.priority,
      status: 'waiting',
      issuedAt: at,
      issuedSeq: ev.seq,
      tier: t.priority ? 1 : 2,
      order: ev.seq,
      near: [],
    };
    if (t.ref !== undefined) rec.ref = t.ref;
    state.tickets[t.number] = rec;
    svc.lastIssued = Math.max(svc.lastIssued, n);
    svc.issuedToday += 1;
    svc.waiting.splice(t.ahead, 0, t.number);
  },
  'ticket.called': (state, ev, { at }) => {
    const rec = state.tickets[ev.ticket.number]!;
    unlist(state, rec);
    rec.status = 'serving';
    rec.counter = ev.counter;
    rec.calledAt = at;
    delete rec.pin;
    delete rec.holdUntil;
    const counter = state.counters[ev.counter]!;
    counter.ticket = rec.number;
    if (counter.status !== 'paused' && counter.status !== 'closed') counter.status = 'serving';
    state.services[rec.service]!.lastCalled = rec.number;
    pushCall(state, { ticket: rec.number, service: rec.service, counter: ev.counter, at: ev.at, recall: false });
  },
  'ticket.recalled': (state, ev) => {
    pushCall(state, {
      ticket: ev.ticket.number,
      service: ev.ticket.service,
      counter: ev.counter,
      at: ev.at,
      recall: true,
    });
  },
  'ticket.skipped': (state, ev) => {
    const rec = state.tickets[ev.ticket.number]!;
    rec.status = 'skipped';
    rec.holdUntil = Date.parse(ev.holdUntil);
    freeCounter(state, ev.counter);
  },
  'ticket.transferred': (state, ev) => {
    const rec = state.tickets[ev.ticket.number]!;
    // A ticket waiting for a counter that closes comes off that counter's list (the engine sends
    // it back to its service); every other transfer moves the ticket being served.
    unlist(state, rec);
    delete rec.pin;
    rec.status = 'waiting';
    delete rec.counter;
    delete rec.calledAt;
    // A transferred citizen already waited once: the ticket goes to the front, behind only
    // tickets transferred before it.
    rec.tier = 0;
    rec.order = ev.seq;
    rec.near = [];
    freeCounter(state, ev.counter);
    if (ev.toCounter !== undefined) {
      rec.pin = ev.toCounter;
      const pinned = state.pinned[ev.toCounter] ?? [];
      pinned.push(rec.number);
      state.pinned[ev.toCounter] = pinned;
    } else if (ev.toService !== undefined) {
      rec.service = ev.toService;
      const list = state.services[ev.toService]!.waiting;
      let i = 0;
      while (i < list.length && state.tickets[list[i]!]!.tier === 0) i++;
      list.splice(i, 0, rec.number);
    }
  },
  'ticket.completed': (state, ev, { opts }) => {
    const rec = state.tickets[ev.ticket.number]!;
    rec.status = 'done';
    freeCounter(state, ev.counter);
    const svc = state.services[rec.service];
    if (svc && ev.serviceSec >= SANE_SERVICE_SEC.min && ev.serviceSec <= SANE_SERVICE_SEC.max) {
      svc.avgServiceSec += opts.ewmaAlpha * (ev.serviceSec - svc.avgServiceSec);
    }
  },
  'ticket.cancelled': (state, ev) => {
    const rec = state.tickets[ev.ticket.number]!;
    unlist(state, rec);
    rec.status = 'cancelled';
  },
  'ticket.near': (state, ev) => {
    state.tickets[ev.ticket.number]!.near.push(ev.threshold);
  },
  'counter.changed': (state, ev) => {
    state.counters[ev.counter.id] = { id: ev.counter.id, status: ev.counter.status, ticket: ev.counter.ticket };
  },
  'service.changed': (state, ev) => {
    const s = state.services[ev.service.id]!;
    if (ev.service.reason === 'manual') s.accepting = ev.service.accepting;
    if (ev.service.reason === 'cutoff') s.cutoffPassed = !ev.service.accepting;
  },
  'notice.changed': (state, ev) => {
    state.notice = ev.notice;
  },
};

export function replay(config: Config, events: Iterable<QueueEvent>, from?: QueueState): QueueState {
  const state = from ?? initialState(config);
  const opts = { ewmaAlpha: config.policy.ewmaAlpha };
  for (const ev of events) applyEvent(state, ev, opts);
  return state;
}

export function numericPart(number: string): number {
  return Number.parseInt(number.replace(/^[A-Z]+/, ''), 10);
}

function unlist(state: QueueState, rec: TicketRecord): void {
  if (rec.status !== 'waiting') return;
  const list = rec.pin !== undefined ? state.pinned[rec.pin] : state.services[rec.service]?.waiting;
  if (!list) return;
  // Called tickets are almost always at the head: shift() keeps that O(1) in practice.
  if (list[0] === rec.number) list.shift();
  else {
    const i = list.indexOf(rec.number);
    if (i >= 0) list.splice(i, 1);
  }
}

function freeCounter(state: QueueState, counterId: string): void {
  const c = state.counters[counterId];
  if (!c) return;
  c.ticket = null;
  if (c.status === 'serving') c.status = 'idle';
}

function pushCall(state: QueueState, call: QueueState['recentCalls'][number]): void {
  state.recentCalls.unshift(call);
  if (state.recentCalls.length > RECENT_CALLS) state.recentCalls.length = RECENT_CALLS;
}
