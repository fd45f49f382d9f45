// Invariants over random action sequences (fast-check): the queue's promises hold whatever the
// citizens and clerks do, in whatever order.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Action } from '../device/queue/actions.ts';
import { replay } from '../device/queue/reduce.ts';
import { buildSnapshot } from '../device/queue/snapshot.ts';
import type { QueueEvent } from '../device/queue/types.ts';
import { Clock, office } from './helpers/office.ts';

const services = ['resident', 'passport', 'seal', 'welfare', 'nope'];
const counters = ['1', '2', '3', '4', '9'];

const action: fc.Arbitrary<Action | { type: 'wait'; minutes: number }> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      type: fc.constant('ticket.issue' as const),
      service: fc.constantFrom(...services),
      channel: fc.constantFrom('kiosk' as const, 'online' as const),
      priority: fc.boolean(),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({ type: fc.constant('counter.next' as const), counter: fc.constantFrom(...counters) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ type: fc.constant('counter.recall' as const), counter: fc.constantFrom(...counters) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ type: fc.constant('counter.skip' as const), counter: fc.constantFrom(...counters) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constantFrom('counter.pause' as const, 'counter.resume' as const, 'counter.close' as const),
      counter: fc.constantFrom(...counters),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      type: fc.constant('counter.call' as const),
      counter: fc.constantFrom(...counters),
      number: fc.integer({ min: 1000, max: 1012 }).map(String),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('counter.transfer' as const),
      counter: fc.constantFrom(...counters),
      toService: fc.constantFrom(...services),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('counter.transfer' as const),
      counter: fc.constantFrom(...counters),
      toCounter: fc.constantFrom(...counters),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('ticket.cancel' as const),
      number: fc.integer({ min: 1000, max: 1012 }).map(String),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('service.accepting' as const),
      service: fc.constantFrom(...services),
      accepting: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      { type: 'day.close' as const },
      { type: 'day.open' as const },
      { type: 'tick' as const },
    ),
  },
  {
    weight: 2,
    arbitrary: fc.record({ type: fc.constant('wait' as const), minutes: fc.integer({ min: 1, max: 600 }) }),
  },
);

function run(actions: Array<Action | { type: 'wait'; minutes: number }>) {
  const clock = new Clock();
  const o = office({}, { clock });
  const log: QueueEvent[] = [];
  for (const a of actions) {
    if (a.type === 'wait') {
      clock.minutes(a.minutes);
      continue;
    }
    const before = JSON.stringify(o.state);
    const r = o.engine.execute(a);
    if (r.ok) log.push(...r.events);
    else expect(JSON.stringify(o.state)).toBe(before);
  }
  return { o, log };
}

describe('queue invariants over random days', () => {
  it('holds: unique numbers per day, seq strictly +1, replay equals state, one ticket per counter', () => {
    fc.assert(
      fc.property(fc.array(action, { minLength: 20, maxLength: 200 }), (actions) => {
        const { o, log } = run(actions);
        // seq strictly increasing by one, never reused
        const first = log[0]?.seq ?? 0;
        expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => first + i));
        // no number issued twice within a day
        let seen = new Set<string>();
        for (const e of log) {
          if (e.type === 'day.opened' && !e.resumed) seen = new Set();
          if (e.type === 'ticket.issued') {
            expect(seen.has(e.ticket.number)).toBe(false);
            seen.add(e.ticket.number);
          }
        }
        // a counter serves at most one ticket, and a ticket is served at one counter at most
        const serving = Object.values(o.state.counters)
          .map((c) => c.ticket)
          .filter((t) => t !== null);
        expect(new Set(serving).size).toBe(serving.length);
        for (const t of serving) expect(o.state.tickets[t!]!.status).toBe('serving');
        // waiting lists hold exactly the waiting tickets, each once, oldest-first within a tier
        const listed = [
          ...Object.values(o.state.services).flatMap((s) => s.waiting),
          ...Object.values(o.state.pinned).flat(),
        ];
        const waiting = Object.values(o.state.tickets)
          .filter((t) => t.status === 'waiting')
          .map((t) => t.number);
        expect([...listed].sort()).toEqual([...waiting].sort());
        for (const s of Object.values(o.state.services)) {
          for (let i = 1; i < s.waiting.length; i++) {
            const a = o.state.tickets[s.waiting[i - 1]!]!;
            const b = o.state.tickets[s.waiting[i]!]!;
            if (a.tier === b.tier) expect(a.order).toBeLessThan(b.order);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('the waiting counts equal what a replay of the events gives', () => {
    fc.assert(
      fc.property(fc.array(action, { minLength: 20, maxLength: 200 }), (actions) => {
        const clock = new Clock();
        const o = office({}, { clock, open: false });
        const log: QueueEvent[] = [];
        for (const a of [{ type: 'day.open' } as Action, ...actions]) {
          if (a.type === 'wait') clock.minutes(a.minutes);
          else {
            const r = o.engine.execute(a);
            if (r.ok) log.push(...r.events);
          }
        }
        const replayed = replay(o.config, log);
        expect(replayed).toEqual(o.state);
        const live = buildSnapshot(o.config, o.state, clock.t);
        expect(buildSnapshot(o.config, replayed, clock.t)).toEqual(live);
        // and counting by hand from the events agrees with the snapshot
        const counts = new Map<string, Set<string>>();
        for (const e of log) {
          if (e.type === 'day.opened' && !e.resumed) counts.clear();
          if (e.type === 'ticket.issued')
            (counts.get(e.ticket.service) ?? counts.set(e.ticket.service, new Set()).get(e.ticket.service)!).add(
              e.ticket.number,
            );
          if (e.type === 'ticket.called' || e.type === 'ticket.cancelled')
            for (const s of counts.values()) s.delete(e.ticket.number);
          if (e.type === 'ticket.transferred') {
            const to = e.toService ?? e.ticket.service;
            (counts.get(to) ?? counts.set(to, new Set()).get(to)!).add(e.ticket.number);
          }
        }
        for (const s of live.services) expect(s.waiting).toBe(counts.get(s.id)?.size ?? 0);
      }),
      { numRuns: 300 },
    );
  });
});
