// Queue rules at their edges, as a clerk, a citizen and central meet them (docs/queue.md).
import { describe, expect, it } from 'vitest';
import { replay } from '../device/queue/reduce.ts';
import { buildSnapshot } from '../device/queue/snapshot.ts';
import type { QueueEvent } from '../device/queue/types.ts';
import { office, ok, testConfig, types } from './helpers/office.ts';

/** An open office whose every event is kept, so a test can check that a replay agrees. */
function recorded(...args: Parameters<typeof office>) {
  const o = office(args[0], { ...args[1], open: false });
  const log: QueueEvent[] = [];
  const run = (a: Parameters<typeof o.run>[0]) => {
    const r = o.run(a);
    if (r.ok) log.push(...r.events);
    return r;
  };
  const must = (a: Parameters<typeof o.run>[0]) => ok(run(a));
  const issue = (service = 'resident', priority = false) =>
    must({ type: 'ticket.issue', service, channel: 'kiosk', priority }).ticket!.number;
  must({ type: 'day.open' });
  return { ...o, run, must, issue, log, replayed: () => replay(o.config, log) };
}

describe('transfer to a counter', () => {
  it('is refused when that counter is closed, and changes nothing', () => {
    const o = office();
    o.issue();
    o.must({ type: 'counter.next', counter: '1' }); // 1001
    o.must({ type: 'counter.close', counter: '4' });
    const before = JSON.stringify(o.state);
    expect(o.run({ type: 'counter.transfer', counter: '1', toCounter: '4' })).toMatchObject({
      ok: false,
      error: { code: 'invalid-transfer' },
    });
    expect(JSON.stringify(o.state)).toBe(before);
    expect(o.state.counters['1']).toMatchObject({ status: 'serving', ticket: '1001' });
  });

  it('is allowed to a paused counter, which calls the ticket when it comes back', () => {
    const o = office();
    o.issue();
    o.issue();
    o.must({ type: 'counter.next', counter: '1' }); // 1001
    o.must({ type: 'counter.pause', counter: '4' });
    o.must({ type: 'counter.transfer', counter: '1', toCounter: '4' });
    expect(o.must({ type: 'counter.next', counter: '4' }).ticket?.number).toBe('1001');
  });

  it('a counter that closes sends its transferred tickets back to the front of their services', () => {
    const o = recorded();
    for (let i = 0; i < 4; i++) o.issue(); // 1001..1004
    o.must({ type: 'counter.next', counter: '1' }); // 1001
    o.must({ type: 'counter.next', counter: '2' }); // 1002
    o.must({ type: 'counter.transfer', counter: '1', toCounter: '4' });
    o.must({ type: 'counter.transfer', counter: '2', toCounter: '4' });
    const r = o.run({ type: 'counter.close', counter: '4' });
    expect(types(r).filter((t) => t !== 'ticket.near')).toEqual([
      'ticket.transferred',
      'ticket.transferred',
      'counter.changed',
    ]);
    expect(r.ok && r.events[0]).toMatchObject({ ticket: { number: '1001' }, counter: '4', toService: 'resident' });
    expect(o.state.pinned['4']).toEqual([]);
    expect(o.state.services.resident!.waiting).toEqual(['1001', '1002', '1003', '1004']);
    expect(o.state.tickets['1001']!.pin).toBeUndefined();
    // still counted once on the board, and called by the next counter of the service
    expect(buildSnapshot(o.config, o.state, o.clock.t).services[0]).toMatchObject({ id: 'resident', waiting: 4 });
    expect(o.run({ type: 'counter.next', counter: '3' })).toMatchObject({ ticket: { number: '1001' } });
    expect(o.replayed()).toEqual(o.state);
  });
});

describe('a service that runs out of tickets', () => {
  const config = {
    services: [
      { id: 'resident', name: '주민등록', numbers: { from: 1, to: 3 } },
      { id: 'passport', name: '여권', numbers: { from: 10, to: 99 }, cap: 2 },
    ],
    counters: [{ id: '1', name: '1번 창구', services: ['resident', 'passport'] }],
    dispenser: { buttons: [] },
  };

  it('tells central by a service.changed event when its cap or its range is reached, once', () => {
    const o = office(config);
    expect(types(o.run({ type: 'ticket.issue', service: 'passport', channel: 'online' }))).not.toContain(
      'service.changed',
    );
    const last = o.must({ type: 'ticket.issue', service: 'passport', channel: 'online' });
    expect(last.events.filter((e) => e.type === 'service.changed')).toMatchObject([
      { service: { id: 'passport', accepting: false, reason: 'cap' } },
    ]);
    o.issue('resident');
    o.issue('resident');
    const end = o.must({ type: 'ticket.issue', service: 'resident', channel: 'kiosk' });
    expect(end.ticket?.number).toBe('3');
    expect(end.events.filter((e) => e.type === 'service.changed')).toMatchObject([
      { service: { id: 'resident', accepting: false, reason: 'exhausted' } },
    ]);
    // the snapshot says the same, and the refusal changes nothing
    const snap = buildSnapshot(o.config, o.state, o.clock.t);
    expect(snap.services.map((s) => s.closedReason)).toEqual(['exhausted', 'cap']);
    const before = JSON.stringify(o.state);
    expect(o.run({ type: 'ticket.issue', service: 'passport', channel: 'online' })).toMatchObject({
      error: { code: 'cap-reached' },
    });
    expect(JSON.stringify(o.state)).toBe(before);
  });
});

describe('calling a number by its digits', () => {
  it('names the tickets the digits could be when several services have that number', () => {
    const o = office({
      services: [
        { id: 'a', name: '가', numbers: { prefix: 'A', from: 1, to: 999 } },
        { id: 'b', name: '나', numbers: { prefix: 'B', from: 1, to: 999 } },
      ],
      counters: [{ id: '1', name: '1번 창구', services: ['a', 'b'] }],
      dispenser: { buttons: [] },
    });
    o.issue('a');
    o.issue('b');
    const r = o.run({ type: 'counter.call', counter: '1', number: '1' });
    expect(r).toMatchObject({ ok: false, error: { code: 'unknown-ticket' } });
    expect(!r.ok && r.error.message).toContain('A001, B001');
    expect(o.run({ type: 'counter.call', counter: '1', number: '2' })).toMatchObject({
      error: { code: 'unknown-ticket', message: 'no ticket 2 today' },
    });
    expect(o.must({ type: 'counter.call', counter: '1', number: 'B001' }).ticket?.number).toBe('B001');
  });

  /** Counter 1 serves A, counter 2 serves B, counter 3 both: a keypad sends only the digits typed. */
  const twoLines = () =>
    office({
      services: [
        { id: 'a', name: '가', numbers: { prefix: 'A', from: 1, to: 999 } },
        { id: 'b', name: '나', numbers: { prefix: 'B', from: 1, to: 999 } },
      ],
      counters: [
        { id: '1', name: '1번 창구', services: ['a'] },
        { id: '2', name: '2번 창구', services: ['b'] },
        { id: '3', name: '3번 창구', services: ['a', 'b'] },
      ],
      dispenser: { buttons: [] },
    });

  it("a counter's own ticket comes before another service's of the same digits", () => {
    const o = twoLines();
    o.issue('a'); // A001
    o.issue('b'); // B001
    expect(o.must({ type: 'counter.call', counter: '2', number: '1' }).ticket?.number).toBe('B001');
    expect(o.must({ type: 'counter.call', counter: '1', number: '001' }).ticket?.number).toBe('A001');
  });

  it("the ticket that can be called wins: a no-show back at another service's counter", () => {
    const o = twoLines();
    o.issue('a'); // A001
    o.issue('b'); // B001
    o.must({ type: 'counter.next', counter: '2' }); // B001
    o.must({ type: 'counter.next', counter: '2' }); // B001 served, nobody left for B
    o.must({ type: 'counter.next', counter: '1' }); // A001
    o.must({ type: 'counter.skip', counter: '1' }); // A001 did not come
    // back at counter 2 (B only): "1" is A001, on hold, not B001 (served)
    expect(o.must({ type: 'counter.call', counter: '2', number: '1' }).ticket?.number).toBe('A001');
  });

  it('a ticket transferred to this counter is its own', () => {
    const o = twoLines();
    o.issue('a'); // A001
    o.issue('b'); // B001
    o.must({ type: 'counter.next', counter: '1' }); // A001
    o.must({ type: 'counter.transfer', counter: '1', toCounter: '2' });
    // A001 (sent to counter 2) and B001 (its service's) both wait and both are counter 2's: refused
    expect(o.run({ type: 'counter.call', counter: '2', number: '1' })).toMatchObject({ ok: false });
    o.must({ type: 'counter.call', counter: '3', number: 'B001' });
    expect(o.must({ type: 'counter.call', counter: '2', number: '1' }).ticket?.number).toBe('A001');
  });

  it('several callable tickets no counter rule tells apart are refused, naming them, and nothing changes', () => {
    const o = twoLines();
    o.issue('a');
    o.issue('b');
    const before = JSON.stringify(o.state);
    const r = o.run({ type: 'counter.call', counter: '3', number: '1' });
    expect(r).toMatchObject({ ok: false, error: { code: 'unknown-ticket' } });
    expect(!r.ok && r.error.message).toContain('A001, B001');
    expect(JSON.stringify(o.state)).toBe(before);
  });
});

describe("a cancel that names the ticket's day and ref", () => {
  it("never takes today's ticket of that number for yesterday's, nor another online ticket's", () => {
    const o = office();
    const day = o.state.day;
    o.must({ type: 'ticket.issue', service: 'resident', channel: 'online', ref: 'web-a' }); // 1001
    o.must({ type: 'ticket.issue', service: 'resident', channel: 'online', ref: 'web-b' }); // 1002
    const before = JSON.stringify(o.state);
    // central's cancel of yesterday's 1001, delivered after midnight
    expect(o.run({ type: 'ticket.cancel', number: '1001', day: '2020-01-01' })).toMatchObject({
      ok: false,
      error: { code: 'unknown-ticket', message: expect.stringContaining('numbers start again each day') },
    });
    expect(o.run({ type: 'ticket.cancel', number: '1001', ref: 'web-b' })).toMatchObject({
      ok: false,
      error: { code: 'unknown-ticket' },
    });
    expect(JSON.stringify(o.state)).toBe(before);
    // its own day and ref: cancelled
    expect(o.run({ type: 'ticket.cancel', number: '1001', day: day!, ref: 'web-a' })).toMatchObject({ ok: true });
    expect(o.state.tickets['1001']!.status).toBe('cancelled');
    // without them, as before
    expect(o.run({ type: 'ticket.cancel', number: '1002' })).toMatchObject({ ok: true });
  });
});

describe('stopping a service', () => {
  it('is refused on a closed day (the next day would drop the switch) and changes nothing', () => {
    const o = recorded();
    o.must({ type: 'day.close' });
    const before = JSON.stringify(o.state);
    for (const accepting of [false, true]) {
      expect(o.run({ type: 'service.accepting', service: 'passport', accepting })).toMatchObject({
        ok: false,
        error: { code: 'day-closed' },
      });
    }
    expect(JSON.stringify(o.state)).toBe(before);
    // the same day opened again: the switch works, and holds
    o.must({ type: 'day.open' });
    o.must({ type: 'service.accepting', service: 'passport', accepting: false });
    expect(o.run({ type: 'ticket.issue', service: 'passport', channel: 'kiosk' })).toMatchObject({
      error: { code: 'not-accepting' },
    });
  });
});

describe('resuming a service that something else still closes', () => {
  // Central folds service.changed into its own picture of the office: the events must end where the
  // state ends. Resuming lifted only the manual stop, and the one event said "accepting: true" for a
  // service still closed by its cap, range or cut-off (the simulator printed "발권 재개").
  const folded = (log: QueueEvent[], id: string) => {
    let accepting = true;
    let reason: string | undefined;
    for (const e of log) {
      if (e.type === 'service.changed' && e.service.id === id) {
        accepting = e.service.accepting;
        reason = e.service.accepting ? undefined : e.service.reason;
      }
    }
    return { accepting, reason };
  };
  const closedOf = (o: ReturnType<typeof recorded>, id: string) => {
    const s = buildSnapshot(o.config, o.state, o.clock.now()).services.find((x) => x.id === id)!;
    return { accepting: s.accepting, reason: s.closedReason };
  };

  it.each([
    ['cap', { cap: 2 }, 'cap-reached'],
    ['exhausted', { numbers: { from: 2001, to: 2002 } }, 'range-exhausted'],
    ['cutoff', { cutoff: '10:00' }, 'cutoff-passed'],
  ] as const)('closed by %s: the resume is followed by that reason, as the state says', (reason, patch, code) => {
    const services = testConfig().services.map((s) => (s.id === 'passport' ? { ...s, ...patch } : s));
    const o = recorded({ services });
    o.issue('passport');
    o.issue('passport');
    if (reason === 'cutoff') {
      o.clock.minutes(61);
      o.must({ type: 'tick' });
    }
    expect(closedOf(o, 'passport')).toEqual({ accepting: false, reason });
    o.must({ type: 'service.accepting', service: 'passport', accepting: false });
    expect(closedOf(o, 'passport')).toEqual({ accepting: false, reason: 'manual' });
    const resumed = o.must({ type: 'service.accepting', service: 'passport', accepting: true });
    expect(resumed.events.map((e) => e.type === 'service.changed' && e.service)).toEqual([
      { id: 'passport', accepting: true, reason: 'manual' },
      { id: 'passport', accepting: false, reason },
    ]);
    expect(closedOf(o, 'passport')).toEqual({ accepting: false, reason });
    expect(folded(o.log, 'passport')).toEqual({ accepting: false, reason });
    expect(o.run({ type: 'ticket.issue', service: 'passport', channel: 'online' })).toMatchObject({
      error: { code },
    });
    expect(o.replayed()).toEqual(o.state);
  });

  it('a service nothing else closes: one event, accepting', () => {
    const o = recorded();
    o.must({ type: 'service.accepting', service: 'passport', accepting: false });
    const resumed = o.must({ type: 'service.accepting', service: 'passport', accepting: true });
    expect(resumed.events.map((e) => e.type === 'service.changed' && e.service)).toEqual([
      { id: 'passport', accepting: true, reason: 'manual' },
    ]);
    expect(folded(o.log, 'passport')).toEqual({ accepting: true, reason: undefined });
  });
});
