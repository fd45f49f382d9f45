import { describe, expect, it } from 'vitest';
import { replay } from '../device/queue/reduce.ts';
import { buildSnapshot } from '../device/queue/snapshot.ts';
import type { QueueEvent } from '../device/queue/types.ts';
import { Clock, DAY, office, ok, types } from './helpers/office.ts';

describe('issuing', () => {
  it('numbers each service from its range, in order, with people ahead and an estimate', () => {
    const o = office();
    expect([o.issue(), o.issue(), o.issue('passport')]).toEqual(['1001', '1002', '2001']);
    const r = o.must({ type: 'ticket.issue', service: 'resident', channel: 'online', ref: 'r-1' });
    expect(r.ticket).toMatchObject({ number: '1003', channel: 'online', ahead: 2, ref: 'r-1' });
    // 2 ahead x 4 min (resident's starting estimate) over 3 open counters serving resident
    expect(r.ticket!.estimatedWaitMin).toBe(Math.ceil((2 * 4) / 3));
  });

  it('issues one ticket per ref a day: a second booking under the same ref is refused, whatever its service or state', () => {
    const clock = new Clock();
    const o = office({}, { clock });
    const online = (service: string, ref: string) => o.run({ type: 'ticket.issue', service, channel: 'online', ref });
    expect(ok(online('resident', 'web-kx-1')).ticket!.number).toBe('1001');
    const seq = o.state.seq;
    const again = online('resident', 'web-kx-1');
    expect(again).toMatchObject({ ok: false, error: { code: 'duplicate-ref' } });
    expect(again.ok ? '' : again.error.message).toContain('1001');
    expect(online('passport', 'web-kx-1')).toMatchObject({ error: { code: 'duplicate-ref' } });
    expect(o.state.seq).toBe(seq);
    expect(Object.keys(o.state.tickets)).toEqual(['1001']);
    // a cancelled booking's ref stays taken: a new booking is a new ref
    o.must({ type: 'ticket.cancel', number: '1001', ref: 'web-kx-1' });
    expect(online('resident', 'web-kx-1')).toMatchObject({ error: { code: 'duplicate-ref' } });
    expect(ok(online('resident', 'web-kx-2')).ticket!.number).toBe('1002');
    // kiosk tickets carry no ref and are never held back by one
    expect(o.issue()).toBe('1003');
    // refs start again with the day, as numbers do
    clock.t += 24 * 3600_000;
    o.must({ type: 'day.open' });
    expect(ok(online('resident', 'web-kx-1')).ticket!.number).toBe('1001');
  });

  it('formats letter prefixes and widths', () => {
    const o = office({
      services: [{ id: 'a', name: '가', numbers: { prefix: 'A', from: 1, to: 999 } }],
      counters: [{ id: '1', name: '1번 창구', services: ['a'] }],
      dispenser: { buttons: [] },
    });
    expect(o.issue('a')).toBe('A001');
  });

  it('refuses unknown services, a closed day, a stopped service, the cap and the end of the range', () => {
    const o = office({
      services: [
        { id: 'resident', name: '주민등록', numbers: { from: 1, to: 2 } },
        { id: 'passport', name: '여권', numbers: { from: 10, to: 99 }, cap: 1 },
      ],
      counters: [{ id: '1', name: '1번 창구', services: ['resident', 'passport'] }],
      dispenser: { buttons: [] },
    });
    const before = o.state.seq;
    expect(o.run({ type: 'ticket.issue', service: 'nope', channel: 'kiosk' })).toMatchObject({
      ok: false,
      error: { code: 'unknown-service' },
    });
    o.issue('passport');
    expect(o.run({ type: 'ticket.issue', service: 'passport', channel: 'kiosk' })).toMatchObject({
      error: { code: 'cap-reached' },
    });
    o.issue();
    o.issue();
    expect(o.run({ type: 'ticket.issue', service: 'resident', channel: 'kiosk' })).toMatchObject({
      error: { code: 'range-exhausted' },
    });
    o.must({ type: 'service.accepting', service: 'passport', accepting: false });
    expect(o.run({ type: 'ticket.issue', service: 'passport', channel: 'kiosk' })).toMatchObject({
      error: { code: 'not-accepting' },
    });
    o.must({ type: 'day.close' });
    expect(o.run({ type: 'ticket.issue', service: 'resident', channel: 'kiosk' })).toMatchObject({
      error: { code: 'day-closed' },
    });
    expect(o.state.seq).toBeGreaterThan(before);
  });

  it('stops issuing at the cut-off time and announces it once on a tick', () => {
    const o = office({
      services: [{ id: 'resident', name: '주민등록', numbers: { from: 1001, to: 1999 }, cutoff: '17:30' }],
      counters: [{ id: '1', name: '1번 창구', services: ['resident'] }],
      dispenser: { buttons: [] },
    });
    o.issue();
    o.clock.t = Date.parse(`${DAY}T17:29:59+09:00`);
    o.issue();
    expect(types(o.run({ type: 'tick' }))).toEqual([]);
    o.clock.t = Date.parse(`${DAY}T17:30:00+09:00`);
    expect(o.run({ type: 'ticket.issue', service: 'resident', channel: 'kiosk' })).toMatchObject({
      error: { code: 'cutoff-passed' },
    });
    expect(types(o.run({ type: 'tick' }))).toEqual(['service.changed']);
    expect(types(o.run({ type: 'tick' }))).toEqual([]);
    expect(buildSnapshot(o.config, o.state, o.clock.t).services[0]).toMatchObject({
      accepting: false,
      closedReason: 'cutoff',
    });
  });

  it('a refused action changes nothing', () => {
    const o = office();
    o.issue();
    const before = JSON.stringify(o.state);
    for (const a of [
      { type: 'counter.next', counter: '9' },
      { type: 'counter.call', counter: '1', number: '1999' },
      { type: 'counter.recall', counter: '1' },
      { type: 'counter.transfer', counter: '1', toService: 'passport' },
      { type: 'ticket.cancel', number: '5555' },
      { type: 'notice.set', text: 'x'.repeat(201) },
    ] as const) {
      expect(o.run(a).ok).toBe(false);
      expect(JSON.stringify(o.state)).toBe(before);
    }
  });
});

describe('calling', () => {
  it('next completes the current ticket and calls the oldest across the counter services', () => {
    const o = office();
    o.issue('seal'); // 3001
    o.issue('resident'); // 1001
    const r = o.must({ type: 'counter.next', counter: '1' });
    expect(r.ticket?.number).toBe('3001');
    o.clock.minutes(3);
    const r2 = o.must({ type: 'counter.next', counter: '1' });
    expect(types(r2).slice(0, 2)).toEqual(['ticket.completed', 'ticket.called']);
    expect(r2.ticket?.number).toBe('1001');
    const done = r2.events.find((e) => e.type === 'ticket.completed');
    expect(done).toMatchObject({ serviceSec: 180 });
  });

  it('serves priority tickets first within a service, and not when the policy is off', () => {
    const o = office();
    o.issue();
    o.issue();
    o.issue('resident', true); // 1003
    expect(o.must({ type: 'counter.next', counter: '1' }).ticket?.number).toBe('1003');
    const off = office({ policy: { priority: 'off' } });
    off.issue();
    off.issue('resident', true);
    expect(off.must({ type: 'counter.next', counter: '1' }).ticket?.number).toBe('1001');
  });

  it('service-order policy serves the counter first service before the older tickets of its second', () => {
    const o = office({ policy: { counterOrder: 'service-order' } });
    o.issue('seal');
    o.issue('resident');
    expect(o.must({ type: 'counter.next', counter: '1' }).ticket?.number).toBe('1001');
  });

  it('next with nobody waiting is refused on an idle counter, and frees a serving one', () => {
    const o = office();
    expect(o.run({ type: 'counter.next', counter: '1' })).toMatchObject({ error: { code: 'no-waiting' } });
    o.issue();
    o.must({ type: 'counter.next', counter: '1' });
    const r = o.must({ type: 'counter.next', counter: '1' });
    expect(types(r)).toEqual(['ticket.completed', 'counter.changed']);
    expect(o.state.counters['1']).toMatchObject({ status: 'idle', ticket: null });
  });

  it('recall repeats the call; a clerk can call a chosen number', () => {
    const o = office();
    o.issue();
    o.issue();
    o.issue();
    o.must({ type: 'counter.next', counter: '1' });
    expect(types(o.run({ type: 'counter.recall', counter: '1' }))).toEqual(['ticket.recalled']);
    const r = o.must({ type: 'counter.call', counter: '2', number: '1003' });
    expect(r.ticket?.number).toBe('1003');
    expect(o.run({ type: 'counter.call', counter: '2', number: '1001' })).toMatchObject({
      error: { code: 'not-callable' },
    });
    expect(o.run({ type: 'counter.call', counter: '2', number: '1500' })).toMatchObject({
      error: { code: 'unknown-ticket' },
    });
  });

  it('skip parks a no-show, calls the next, and the parked ticket can be called back within the hold', () => {
    const o = office({ policy: { noShowHoldMinutes: 10 } });
    o.issue();
    o.issue();
    o.issue();
    o.must({ type: 'counter.next', counter: '1' });
    const r = o.must({ type: 'counter.skip', counter: '1' });
    expect(types(r).slice(0, 2)).toEqual(['ticket.skipped', 'ticket.called']);
    expect(r.ticket?.number).toBe('1002');
    o.clock.minutes(9);
    expect(o.must({ type: 'counter.call', counter: '2', number: '1001' }).ticket?.number).toBe('1001');
    o.must({ type: 'counter.skip', counter: '2' }); // 1001 again, then 1003 called
    o.clock.minutes(11);
    expect(o.run({ type: 'counter.call', counter: '2', number: '1001' })).toMatchObject({
      error: { code: 'hold-expired' },
    });
  });

  it('transfer to a service puts the ticket at the front of that service', () => {
    const o = office();
    o.issue('passport'); // 2001
    o.issue(); // 1001
    o.must({ type: 'counter.next', counter: '1' }); // 1001
    o.must({ type: 'counter.transfer', counter: '1', toService: 'passport' });
    expect(o.state.counters['1']!.ticket).toBeNull();
    expect(o.state.services.passport!.waiting).toEqual(['1001', '2001']);
    expect(o.must({ type: 'counter.next', counter: '3' }).ticket?.number).toBe('1001');
  });

  it('transfer to a counter is called first there, and only there', () => {
    const o = office();
    o.issue();
    o.issue();
    o.must({ type: 'counter.next', counter: '1' }); // 1001
    o.must({ type: 'counter.transfer', counter: '1', toCounter: '4' }); // welfare counter
    expect(o.must({ type: 'counter.next', counter: '2' }).ticket?.number).toBe('1002');
    expect(o.must({ type: 'counter.next', counter: '4' }).ticket?.number).toBe('1001');
    expect(o.run({ type: 'counter.transfer', counter: '4', toCounter: '4' })).toMatchObject({
      error: { code: 'invalid-transfer' },
    });
    expect(o.run({ type: 'counter.transfer', counter: '4' })).toMatchObject({ error: { code: 'invalid-transfer' } });
  });

  it('pause completes the current ticket; next resumes; close needs a resume', () => {
    const o = office();
    o.issue();
    o.issue();
    o.must({ type: 'counter.next', counter: '1' });
    expect(types(o.run({ type: 'counter.pause', counter: '1' }))).toEqual(['ticket.completed', 'counter.changed']);
    expect(o.state.counters['1']!.status).toBe('paused');
    expect(o.must({ type: 'counter.next', counter: '1' }).ticket?.number).toBe('1002');
    o.must({ type: 'counter.close', counter: '1' });
    expect(o.run({ type: 'counter.next', counter: '1' })).toMatchObject({ error: { code: 'counter-closed' } });
    o.must({ type: 'counter.resume', counter: '1' });
    expect(o.state.counters['1']!.status).toBe('idle');
  });

  it('cancel removes a waiting ticket; a served one cannot be cancelled', () => {
    const o = office();
    o.issue();
    o.issue();
    o.must({ type: 'ticket.cancel', number: '1002' });
    expect(o.state.services.resident!.waiting).toEqual(['1001']);
    o.must({ type: 'counter.next', counter: '1' });
    expect(o.run({ type: 'ticket.cancel', number: '1001' })).toMatchObject({ error: { code: 'not-cancellable' } });
  });
});

describe('near, estimates and days', () => {
  it('fires ticket.near once per ticket per threshold as the queue moves', () => {
    const o = office({ policy: { near: [3, 1] } });
    for (let i = 0; i < 6; i++) o.issue();
    const near: Array<[string, number, number]> = [];
    const collect = (evs: QueueEvent[]) => {
      for (const e of evs) if (e.type === 'ticket.near') near.push([e.ticket.number, e.ahead, e.threshold]);
    };
    for (let i = 0; i < 6; i++) collect(o.must({ type: 'counter.next', counter: '1' }).events);
    const t1006 = near.filter((n) => n[0] === '1006');
    expect(t1006).toEqual([
      ['1006', 3, 3],
      ['1006', 1, 1],
    ]);
    const keys = near.map((n) => `${n[0]}@${n[2]}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('a ticket issued close to the front gets one near event for the smallest threshold reached', () => {
    const o = office({ policy: { near: [10, 3, 1] } });
    const r = o.must({ type: 'ticket.issue', service: 'resident', channel: 'online' });
    expect(r.events.filter((e) => e.type === 'ticket.near')).toMatchObject([{ ahead: 0, threshold: 1 }]);
  });

  it('the estimate learns from service times (EWMA) and shares among open counters', () => {
    const o = office({ policy: { ewmaAlpha: 0.5 } });
    for (let i = 0; i < 4; i++) o.issue('welfare');
    o.must({ type: 'counter.next', counter: '4' });
    o.clock.minutes(2);
    o.must({ type: 'counter.next', counter: '4' });
    // 12 min start, one 2-minute service: 12 + 0.5 * (2 - 12) = 7 min
    expect(o.state.services.welfare!.avgServiceSec).toBe(7 * 60);
    expect(buildSnapshot(o.config, o.state, o.clock.t).services.find((s) => s.id === 'welfare')).toMatchObject({
      waiting: 2,
      estimatedWaitMin: 14,
    });
  });

  it('a new day resets numbers and cancels what was left; the same day re-opened continues them', () => {
    const clock = new Clock();
    const o = office({}, { clock });
    o.issue();
    o.issue();
    o.must({ type: 'day.close' });
    expect(o.state.open).toBe(false);
    o.must({ type: 'day.open' });
    expect(o.issue()).toBe('1003');
    clock.t += 24 * 3600_000;
    const r = o.must({ type: 'day.open' });
    expect(types(r)).toContain('day.closed');
    expect(types(r)).toContain('day.opened');
    expect(o.issue()).toBe('1001');
    clock.t -= 48 * 3600_000;
    o.must({ type: 'day.close' });
    expect(o.run({ type: 'day.open' })).toMatchObject({ error: { code: 'clock-behind' } });
  });

  it('replaying the events from scratch gives the same state', () => {
    const o = office({}, { open: false });
    const all: QueueEvent[] = [];
    const go = (r: ReturnType<typeof o.run>) => {
      if (r.ok) all.push(...r.events);
    };
    go(o.run({ type: 'day.open' }));
    for (let i = 0; i < 20; i++)
      go(
        o.run({ type: 'ticket.issue', service: i % 3 ? 'resident' : 'seal', channel: 'kiosk', priority: i % 7 === 0 }),
      );
    go(o.run({ type: 'counter.next', counter: '1' }));
    o.clock.minutes(4);
    go(o.run({ type: 'counter.skip', counter: '1' }));
    go(o.run({ type: 'counter.transfer', counter: '1', toCounter: '3' }));
    go(o.run({ type: 'counter.next', counter: '3' }));
    go(o.run({ type: 'notice.set', text: '점심시간 12:00-13:00' }));
    const replayed = replay(o.config, all);
    expect(replayed).toEqual(o.state);
    expect(ok({ ok: true, events: all }).events.map((e) => e.seq)).toEqual(all.map((_, i) => i + 1));
  });
});
