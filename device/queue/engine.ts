// The queue engine: decides what an action means, as events. Pure: no I/O; the clock and the id
// source are injected, so a whole office day runs in milliseconds in tests.
//
// An action either fails validation before anything changes (a typed error, nothing emitted) or
// emits its events, each applied to the state through reduce.ts as it is emitted, so the later
// events of one action see the effects of the earlier ones. Persisting them is the caller's job
// (QueueService), and nothing is shown or printed before that.
import type { Config, CounterConfig, ServiceConfig } from '../config/schema.ts';
import { localTime } from '../util/time.ts';
import { NOTICE_MAX_LENGTH, REF_MAX_LENGTH, textLength } from './limits.ts';
import type { Action, ActionResult, ActionType, QueueErrorCode } from './actions.ts';
import { closedReason, cutoffPassed, nextIndex, REFUSAL_WHEN_CLOSED } from './closed.ts';
import { estimateWaitMin, openCounters } from './estimate.ts';
import { priorityHonoured } from './priority.ts';
import { applyEvent, initialState, reconcile, type ReduceOptions } from './reduce.ts';
import type {
  ClosedReason,
  CounterStatus,
  EventBody,
  QueueEvent,
  QueueState,
  TicketInfo,
  TicketRecord,
} from './types.ts';

export interface EngineDeps {
  now: () => number;
  newId: () => string;
}

class Refusal extends Error {
  constructor(
    readonly code: QueueErrorCode,
    message: string,
  ) {
    super(message);
  }
}

// An unknown id is not repeated in the message: it came from the caller (central's command, a
// satellite's key), and the message goes to cmd/result and the log, where a phone number typed
// into a service or counter field must not (both patterns allow one).
const NO_SUCH_SERVICE = 'no such service in this office';
const NO_SUCH_COUNTER = 'no such counter in this office';

function refuse(code: QueueErrorCode, message: string): never {
  throw new Refusal(code, message);
}

type ActionOf<T extends ActionType> = Extract<Action, { type: T }>;

export class QueueEngine {
  readonly state: QueueState;
  private readonly services: Map<string, ServiceConfig>;
  private readonly counters: Map<string, CounterConfig>;
  private readonly opts: ReduceOptions;
  private pending: QueueEvent[] = [];
  /** services whose waiting lists moved in this action: where ticket.near may be due */
  private touched = new Set<string>();
  private counterMark = new Map<string, string>();

  constructor(
    readonly config: Config,
    private readonly deps: EngineDeps,
    state?: QueueState,
  ) {
    this.state = state ? reconcile(state, config) : initialState(config);
    this.services = new Map(config.services.map((s) => [s.id, s]));
    this.counters = new Map(config.counters.map((c) => [c.id, c]));
    this.opts = { ewmaAlpha: config.policy.ewmaAlpha };
  }

  execute(action: Action): ActionResult {
    this.pending = [];
    this.counterMark = new Map(Object.values(this.state.counters).map((c) => [c.id, markOf(c)]));
    let ticket: TicketInfo | undefined;
    try {
      ticket = this.decide(action);
    } catch (err) {
      if (err instanceof Refusal) {
        // Validation happens before the first emit, so a refusal has changed nothing.
        if (this.pending.length > 0) throw new Error(`bug: ${action.type} refused after emitting events`);
        return { ok: false, error: { code: err.code, message: err.message } };
      }
      throw err;
    }
    this.flushCounters();
    this.checkNear();
    const events = this.pending;
    this.pending = [];
    return ticket ? { ok: true, events, ticket } : { ok: true, events };
  }

  // ---- decisions -------------------------------------------------------------------------

  /** One handler per action type: what the action means, as events (and the ticket it concerns). */
  private readonly handlers: { [T in ActionType]: (a: ActionOf<T>) => TicketInfo | undefined } = {
    'ticket.issue': (a) => this.issue(a.service, a.channel, a.priority ?? false, a.ref),
    'ticket.cancel': (a) => this.cancel(a.number, a.day, a.ref),
    'counter.next': (a) => this.next(a.counter),
    'counter.recall': (a) => this.recall(a.counter),
    'counter.skip': (a) => this.skip(a.counter),
    'counter.call': (a) => this.callByNumber(a.counter, a.number),
    'counter.transfer': (a) => this.transfer(a),
    'counter.pause': (a) => this.stopServing(a.counter, 'paused'),
    'counter.close': (a) => this.stopServing(a.counter, 'closed'),
    'counter.resume': (a) => this.resume(a.counter),
    'service.accepting': (a) => this.setAccepting(a.service, a.accepting),
    'notice.set': (a) => this.setNotice(a.text),
    'day.open': () => {
      this.openDay();
      return undefined;
    },
    'day.close': () => {
      if (this.state.open) this.closeDay();
      return undefined;
    },
    tick: () => {
      this.announceCutoffs();
      return undefined;
    },
  };

  private decide(a: Action): TicketInfo | undefined {
    // The table is keyed by type, so the handler fits the action; TS cannot correlate the two.
    return (this.handlers[a.type] as (a: Action) => TicketInfo | undefined)(a);
  }

  private cancel(number: string, day?: string, ref?: string): TicketInfo {
    // Numbers start again each day: a cancel for yesterday's ticket (central's, delivered after
    // midnight) must not take today's citizen with that number off the line.
    if (day !== undefined && day !== this.state.day) {
      refuse('unknown-ticket', `no ticket ${number} of ${day} today (${this.state.day}): numbers start again each day`);
    }
    const rec = this.findTicket(number);
    if (ref !== undefined && rec.ref !== ref) {
      refuse('unknown-ticket', `ticket ${rec.number} was not issued with that ref`);
    }
    if (rec.status !== 'waiting' && rec.status !== 'skipped') {
      refuse(
        'not-cancellable',
        `ticket ${rec.number} is ${rec.status}; only a waiting or skipped ticket can be cancelled`,
      );
    }
    this.emit({ type: 'ticket.cancelled', ticket: info(rec), reason: 'cancelled' });
    this.touched.add(rec.service);
    return info(rec);
  }

  /** Completes the counter's ticket (if any) and calls the next one; `next` on a paused counter resumes it. */
  private next(counter: string): TicketInfo | undefined {
    const c = this.usableCounter(counter);
    const next = this.pick(counter);
    const current = this.currentTicket(counter);
    if (!next && !current && c.status !== 'paused') {
      refuse('no-waiting', `nobody is waiting for counter ${counter}`);
    }
    if (c.status === 'paused') this.setStatus(counter, 'idle');
    if (current) this.complete(current, counter);
    if (next) return this.call(next, counter);
    return undefined;
  }

  private recall(counter: string): TicketInfo {
    this.counterOf(counter);
    const current = this.currentTicket(counter) ?? refuse('counter-idle', `counter ${counter} has no ticket to recall`);
    this.emit({ type: 'ticket.recalled', ticket: info(current), counter });
    return info(current);
  }

  private skip(counter: string): TicketInfo | undefined {
    this.counterOf(counter);
    const current = this.currentTicket(counter) ?? refuse('counter-idle', `counter ${counter} has no ticket to skip`);
    const holdUntil = this.deps.now() + this.config.policy.noShowHoldMinutes * 60_000;
    this.emit({
      type: 'ticket.skipped',
      ticket: info(current),
      counter,
      holdUntil: localTime(holdUntil, this.tz).iso,
    });
    // A no-show is the clerk moving on: the next citizen is called at once.
    const next = this.pick(counter);
    return next ? this.call(next, counter) : undefined;
  }

  /** Calls a ticket by number: a waiting one out of turn, or a skipped one back within its hold. */
  private callByNumber(counter: string, number: string): TicketInfo {
    const c = this.usableCounter(counter);
    const rec = this.findTicketToCall(number, counter);
    if (rec.status === 'skipped') {
      if ((rec.holdUntil ?? 0) < this.deps.now()) {
        refuse(
          'hold-expired',
          `ticket ${rec.number} was skipped and its ${this.config.policy.noShowHoldMinutes}-minute hold has expired`,
        );
      }
    } else if (rec.status !== 'waiting') {
      refuse('not-callable', `ticket ${rec.number} is ${rec.status}${rec.counter ? ` at counter ${rec.counter}` : ''}`);
    }
    if (c.status === 'paused') this.setStatus(counter, 'idle');
    const current = this.currentTicket(counter);
    if (current) this.complete(current, counter);
    return this.call(rec, counter);
  }

  private transfer(a: ActionOf<'counter.transfer'>): TicketInfo {
    this.counterOf(a.counter);
    const current =
      this.currentTicket(a.counter) ?? refuse('counter-idle', `counter ${a.counter} has no ticket to transfer`);
    if ((a.toService === undefined) === (a.toCounter === undefined)) {
      refuse('invalid-transfer', 'give exactly one of toService or toCounter');
    }
    if (a.toService !== undefined) {
      if (!this.services.has(a.toService)) refuse('unknown-service', NO_SUCH_SERVICE);
      this.emit({ type: 'ticket.transferred', ticket: info(current), counter: a.counter, toService: a.toService });
      this.touched.add(a.toService);
    } else {
      const to = a.toCounter!;
      if (!this.counters.has(to)) refuse('unknown-counter', NO_SUCH_COUNTER);
      if (to === a.counter) refuse('invalid-transfer', 'a ticket cannot be transferred to its own counter');
      // Nobody calls a closed counter's tickets until someone resumes it, maybe not today: the
      // citizen would sit waiting for a dark counter. A paused one comes back (`next` resumes it).
      if (this.state.counters[to]!.status === 'closed') {
        refuse('invalid-transfer', `counter ${to} is closed; transfer to its service or an open counter`);
      }
      this.emit({ type: 'ticket.transferred', ticket: info(current), counter: a.counter, toCounter: to });
    }
    return info(current);
  }

  /** Pause or close: the ticket being served is completed first. */
  private stopServing(counter: string, target: 'paused' | 'closed'): undefined {
    const c = this.counterOf(counter);
    if (target === 'paused' && c.status === 'closed') refuse('counter-closed', `counter ${counter} is closed`);
    if (c.status === target) return undefined;
    const current = this.currentTicket(counter);
    if (current) this.complete(current, counter);
    if (target === 'closed') this.releasePinned(counter);
    this.setStatus(counter, target);
    return undefined;
  }

  /** A closing counter's transferred tickets go back to the front of their services, in the order
   * they were sent: only this counter would ever call them, and it may not open again today. */
  private releasePinned(counter: string): void {
    for (const number of [...(this.state.pinned[counter] ?? [])]) {
      const rec = this.state.tickets[number]!;
      this.emit({ type: 'ticket.transferred', ticket: info(rec), counter, toService: rec.service });
      this.touched.add(rec.service);
    }
  }

  private resume(counter: string): undefined {
    const c = this.counterOf(counter);
    if (!this.state.open) refuse('day-closed', 'the office day is closed; open the day first');
    if (c.status === 'paused' || c.status === 'closed') this.setStatus(counter, 'idle');
    return undefined;
  }

  private setAccepting(service: string, accepting: boolean): undefined {
    const s = this.serviceState(service);
    // A switch set on a closed day would be answered, announced as accepting, and then dropped by
    // the next day's opening (a new day starts accepting): refused, as resuming a counter is.
    if (!this.state.open) refuse('day-closed', 'the office day is closed; open the day first');
    if (s.accepting !== accepting) {
      this.emit({ type: 'service.changed', service: { id: service, accepting, reason: 'manual' } });
      // Resuming lifts only the manual stop. A cut-off, cap or used-up range still closes the
      // service, and central folding the events must not read "accepting" where the state says
      // closed: the resume is followed by that reason, as the state's closedReason gives it.
      const still = accepting ? closedReason(this.services.get(service)!, s, this.state, this.localNow()) : null;
      if (still === 'cutoff' || still === 'cap' || still === 'exhausted') {
        this.emit({ type: 'service.changed', service: { id: service, accepting: false, reason: still } });
      }
    }
    return undefined;
  }

  private setNotice(text: string): undefined {
    if (textLength(text) > NOTICE_MAX_LENGTH) {
      refuse('invalid-argument', `notice is longer than ${NOTICE_MAX_LENGTH} characters`);
    }
    if (text !== this.state.notice) this.emit({ type: 'notice.changed', notice: text });
    return undefined;
  }

  private issue(serviceId: string, channel: TicketInfo['channel'], priority: boolean, ref?: string): TicketInfo {
    const cfg = this.services.get(serviceId) ?? refuse('unknown-service', NO_SUCH_SERVICE);
    const s = this.serviceState(serviceId);
    const closed = closedReason(cfg, s, this.state, this.localNow());
    if (closed) refuse(REFUSAL_WHEN_CLOSED[closed], closedMessage(closed, cfg));
    const n = nextIndex(cfg, s);
    if (ref !== undefined && textLength(ref) > REF_MAX_LENGTH) {
      refuse('invalid-argument', `ref is longer than ${REF_MAX_LENGTH} characters`);
    }
    if (ref !== undefined) this.refuseReusedRef(ref);

    const front = priority && this.priorityFirst(cfg) ? this.frontLength(s.waiting, 1) : s.waiting.length;
    const ahead = front;
    const ticket: TicketInfo & { ahead: number; estimatedWaitMin: number } = {
      number: formatNumber(cfg, n),
      service: serviceId,
      channel,
      priority,
      ahead,
      estimatedWaitMin: estimateWaitMin(ahead, s.avgServiceSec, openCounters(this.config, this.state, serviceId)),
    };
    if (ref !== undefined) ticket.ref = ref;
    this.emit({ type: 'ticket.issued', ticket });
    this.touched.add(serviceId);
    // The last ticket of the cap or the range closes the service as a cut-off does: told to
    // central by event (the contract's service.changed reasons), not only in the next snapshot.
    const now = closedReason(cfg, s, this.state, this.localNow());
    if (now === 'cap' || now === 'exhausted') {
      this.emit({ type: 'service.changed', service: { id: serviceId, accepting: false, reason: now } });
    }
    return ticket;
  }

  private openDay(): void {
    const today = this.localNow().date;
    const day = this.state.day;
    if (day !== null && today < day) {
      refuse('clock-behind', `the clock says ${today} but the queue already holds ${day}; not opening an earlier day`);
    }
    if (day === today && this.state.open) return;
    if (day !== today && this.state.open) this.closeDay();
    this.emit({ type: 'day.opened', day: today, resumed: day === today });
    for (const c of this.config.counters) {
      const want: CounterStatus = c.open ? 'idle' : 'closed';
      const cur = this.state.counters[c.id]!;
      if (cur.status !== want && !(day === today && cur.status === 'serving')) this.setStatus(c.id, want);
    }
  }

  private closeDay(): void {
    let completed = 0;
    for (const c of Object.values(this.state.counters)) {
      const cur = this.currentTicket(c.id);
      if (cur) this.complete(cur, c.id);
      if (c.status !== 'closed') this.setStatus(c.id, 'closed');
    }
    let waiting = 0;
    let issued = 0;
    for (const t of Object.values(this.state.tickets)) {
      issued++;
      if (t.status === 'done') completed++;
      if (t.status === 'waiting' || t.status === 'skipped') {
        waiting++;
        this.emit({ type: 'ticket.cancelled', ticket: info(t), reason: 'day-closed' });
      }
    }
    this.emit({ type: 'day.closed', day: this.state.day ?? this.localNow().date, issued, completed, waiting });
  }

  private announceCutoffs(): void {
    if (!this.state.open) return;
    for (const cfg of this.config.services) {
      const s = this.state.services[cfg.id]!;
      if (!s.cutoffPassed && cutoffPassed(cfg, s, this.state.day, this.localNow())) {
        this.emit({ type: 'service.changed', service: { id: cfg.id, accepting: false, reason: 'cutoff' } });
      }
    }
  }

  // ---- helpers ---------------------------------------------------------------------------

  private emit(body: EventBody): void {
    const ev = {
      v: 1,
      office: this.config.office.id,
      seq: this.state.seq + 1,
      id: this.deps.newId(),
      at: this.localNow().iso,
      ...body,
    } as QueueEvent;
    applyEvent(this.state, ev, this.opts);
    this.pending.push(ev);
    if (ev.type === 'counter.changed') this.counterMark.set(ev.counter.id, markOf(ev.counter));
  }

  private call(rec: TicketRecord, counter: string): TicketInfo {
    const service = rec.service;
    this.emit({ type: 'ticket.called', ticket: info(rec), counter });
    this.touched.add(service);
    return info(rec);
  }

  private complete(rec: TicketRecord, counter: string): void {
    const serviceSec = Math.max(0, Math.round((this.deps.now() - (rec.calledAt ?? this.deps.now())) / 1000));
    this.emit({ type: 'ticket.completed', ticket: info(rec), counter, serviceSec });
  }

  private setStatus(counter: string, status: CounterStatus): void {
    const c = this.state.counters[counter]!;
    this.emit({ type: 'counter.changed', counter: { id: counter, status, ticket: c.ticket } });
  }

  /** Counters whose ticket changed through ticket events get one counter.changed at the end. */
  private flushCounters(): void {
    for (const c of Object.values(this.state.counters)) {
      if (this.counterMark.get(c.id) !== markOf(c)) {
        this.emit({ type: 'counter.changed', counter: { id: c.id, status: c.status, ticket: c.ticket } });
      }
    }
  }

  /** ticket.near: once per ticket per threshold; a ticket that jumps past several thresholds at
   * once gets one event, for the smallest threshold it reached. Only the first few places of a
   * list can reach a threshold, so this costs O(thresholds), not O(waiting). */
  private checkNear(): void {
    const thresholds = this.config.policy.near;
    if (thresholds.length === 0) {
      this.touched.clear();
      return;
    }
    const max = Math.max(...thresholds);
    const services = this.touched.size > 0 ? [...this.touched] : [];
    this.touched = new Set();
    for (const sid of services) {
      const list = this.state.services[sid]?.waiting ?? [];
      for (let ahead = 0; ahead < list.length && ahead <= max; ahead++) {
        const rec = this.state.tickets[list[ahead]!]!;
        const lowest = rec.near.length > 0 ? Math.min(...rec.near) : Number.POSITIVE_INFINITY;
        const due = thresholds.filter((t) => t >= ahead && t < lowest);
        if (due.length > 0) {
          this.emit({ type: 'ticket.near', ticket: info(rec), ahead, threshold: Math.min(...due) });
        }
      }
    }
  }

  /** The next ticket for a counter: tickets sent to it first, then by the office's policy. */
  private pick(counterId: string): TicketRecord | undefined {
    const pinned = this.state.pinned[counterId]?.[0];
    if (pinned) return this.state.tickets[pinned];
    const cfg = this.counters.get(counterId)!;
    let best: TicketRecord | undefined;
    let bestKey: [number, number] | undefined;
    for (const sid of cfg.services) {
      const head = this.state.services[sid]?.waiting[0];
      if (!head) continue;
      const rec = this.state.tickets[head]!;
      if (this.config.policy.counterOrder === 'service-order') return rec;
      const key = this.orderKey(rec);
      if (!bestKey || key[0] < bestKey[0] || (key[0] === bestKey[0] && key[1] < bestKey[1])) {
        best = rec;
        bestKey = key;
      }
    }
    return best;
  }

  private orderKey(rec: TicketRecord): [number, number] {
    if (rec.tier === 0) return [0, rec.order];
    const cfg = this.services.get(rec.service);
    const prio = rec.priority && cfg !== undefined && this.priorityFirst(cfg);
    return [prio ? 1 : 2, rec.order];
  }

  private priorityFirst(cfg: ServiceConfig): boolean {
    return priorityHonoured(this.config.policy, cfg);
  }

  /** Length of the list's prefix whose tier is <= maxTier (the front a new ticket goes behind). */
  private frontLength(list: string[], maxTier: number): number {
    let i = 0;
    while (i < list.length && this.state.tickets[list[i]!]!.tier <= maxTier) i++;
    return i;
  }

  private counterOf(id: string): QueueState['counters'][string] {
    if (!this.counters.has(id)) refuse('unknown-counter', NO_SUCH_COUNTER);
    return this.state.counters[id]!;
  }

  private usableCounter(id: string): QueueState['counters'][string] {
    const c = this.counterOf(id);
    if (c.status === 'closed') refuse('counter-closed', `counter ${id} is closed; resume it first`);
    return c;
  }

  private currentTicket(counter: string): TicketRecord | undefined {
    const n = this.state.counters[counter]?.ticket;
    return n ? this.state.tickets[n] : undefined;
  }

  private serviceState(id: string): QueueState['services'][string] {
    if (!this.services.has(id)) refuse('unknown-service', NO_SUCH_SERVICE);
    return this.state.services[id]!;
  }

  /** A ref names one online booking: a second ticket for it (central retrying under a new command
   * id after a crash, a double submit) would put one citizen in the line twice. Today's tickets
   * only: numbers and refs start again each day. */
  private refuseReusedRef(ref: string): void {
    for (const t of Object.values(this.state.tickets)) {
      if (t.ref === ref) refuse('duplicate-ref', `ref already holds ticket ${t.number} today (${t.status})`);
    }
  }

  /** A number typed at a counter. A keypad types only digits ("35" for "A035", "7" for "A007"), so
   * digits are the ticket's number without its letters and zeros; when they fit several of the
   * day's tickets (A035 and B035), the one that can be called now wins, then the one of the
   * calling counter (of a service it serves, or sent to it): the citizen back after a no-show or
   * transferred from another service is called from any counter, and a counter's own ticket
   * comes before another service's. Several still: refused, naming them. */
  private findTicketToCall(number: string, counter: string): TicketRecord {
    if (!/^\d+$/.test(number)) return this.findTicket(number);
    const n = Number(number);
    const hits = Object.values(this.state.tickets).filter((t) => t.n === n);
    const serves = new Set(this.counters.get(counter)?.services);
    const mine = (t: TicketRecord): boolean => (t.pin === undefined ? serves.has(t.service) : t.pin === counter);
    const now = this.deps.now();
    const callable = hits.filter(
      (t) => t.status === 'waiting' || (t.status === 'skipped' && (t.holdUntil ?? 0) >= now),
    );
    const exact = this.state.tickets[number];
    const one = (xs: TicketRecord[]): TicketRecord | undefined => (xs.length === 1 ? xs[0] : undefined);
    const found =
      one(hits) ??
      (callable.length > 0
        ? (one(callable) ?? one(callable.filter(mine)) ?? callable.find((t) => t === exact))
        : (one(hits.filter(mine)) ?? exact));
    if (found) return found;
    if (hits.length === 0) refuse('unknown-ticket', `no ticket ${number} today`);
    const all = (callable.length > 0 ? callable : hits).map((t) => t.number).sort();
    return refuse('unknown-ticket', `${number} could be ${all.join(', ')}; give the number with its letters`);
  }

  /** Exact number first; digits alone ("35") find "A035" when that is the only ticket numbered 35. */
  private findTicket(number: string): TicketRecord {
    const exact = this.state.tickets[number];
    if (exact) return exact;
    if (/^\d+$/.test(number)) {
      const n = Number(number);
      const hits = Object.values(this.state.tickets).filter((t) => t.n === n && t.number !== String(t.n));
      if (hits.length === 1) return hits[0]!;
      if (hits.length > 1) {
        const all = hits.map((t) => t.number).sort();
        refuse('unknown-ticket', `${number} could be ${all.join(', ')}; give the number with its letters`);
      }
    }
    return refuse('unknown-ticket', `no ticket ${number} today`);
  }

  private get tz(): string {
    return this.config.office.timeZone;
  }

  private localNow() {
    return localTime(this.deps.now(), this.tz);
  }
}

export function formatNumber(cfg: ServiceConfig, n: number): string {
  const width = cfg.numbers.width ?? String(cfg.numbers.to).length;
  return `${cfg.numbers.prefix}${String(n).padStart(width, '0')}`;
}

/** The English refusal for a press on a closed service (logs and central; citizens get Korean). */
function closedMessage(reason: ClosedReason, cfg: ServiceConfig): string {
  switch (reason) {
    case 'day-closed':
      return 'the office is closed: no tickets are issued';
    case 'manual':
      return `${cfg.name} is not issuing tickets now`;
    case 'cutoff':
      return `${cfg.name}: ticket issuing closed at ${cfg.cutoff} (발권 마감)`;
    case 'cap':
      return `${cfg.name}: today's ${cfg.cap} tickets are all issued`;
    case 'exhausted':
      return `${cfg.name}: the number range ends at ${cfg.numbers.to}`;
  }
}

function info(rec: TicketRecord): TicketInfo {
  const t: TicketInfo = { number: rec.number, service: rec.service, channel: rec.channel, priority: rec.priority };
  if (rec.ref !== undefined) t.ref = rec.ref;
  return t;
}

function markOf(c: { status: string; ticket: string | null }): string {
  return `${c.status}|${c.ticket ?? ''}`;
}
