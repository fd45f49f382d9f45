// The simulated central's own parts: its copy of the waiting lines folded from public events
// (checked against the real engine over random days), the 알림톡 book (phones kept in central
// only) and the ticket-link keys.
import fc from 'fast-check';
import { pino } from 'pino';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import type { Action } from '../device/queue/actions.ts';
import type { QueueEvent } from '../device/queue/types.ts';
import { DEMO_TICKET_SECRET, ticketToken } from '../display/ticket/ticket-url.ts';
import { AlertBook, maskPhone, normalizePhone } from '../sim/central/alerts.ts';
import { demoKeys, deriveTicketSecret } from '../sim/central/keys.ts';
import { startCentral } from '../sim/central/main.ts';
import { CentralReader } from '../sim/central/reader.ts';
import { captureLogger } from './hw-fakes.ts';
import { estimateFor, TicketBook } from '../sim/central/tickets.ts';
import { office } from './helpers/office.ts';

const COUNTERS = ['1', '2', '3', '4'];
const SERVICES = ['resident', 'passport', 'seal', 'welfare'];

const action = fc.oneof(
  { weight: 5, arbitrary: fc.record({ service: fc.constantFrom(...SERVICES), priority: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ next: fc.constantFrom(...COUNTERS) }) },
  { weight: 1, arbitrary: fc.record({ skip: fc.constantFrom(...COUNTERS) }) },
  {
    weight: 3,
    arbitrary: fc.record({ transfer: fc.constantFrom(...COUNTERS), toService: fc.constantFrom(...SERVICES) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ transfer: fc.constantFrom(...COUNTERS), toCounter: fc.constantFrom(...COUNTERS) }),
  },
  { weight: 1, arbitrary: fc.record({ cancel: fc.nat(30) }) },
  // a counter closing sends the tickets held for it back to their services; resumed later
  { weight: 1, arbitrary: fc.record({ close: fc.constantFrom(...COUNTERS) }) },
  { weight: 1, arbitrary: fc.record({ resume: fc.constantFrom(...COUNTERS) }) },
  { weight: 1, arbitrary: fc.record({ callBack: fc.constantFrom(...COUNTERS), nth: fc.nat(30) }) },
);

function toAction(a: Record<string, unknown>, issued: string[]): Action {
  if ('service' in a)
    return { type: 'ticket.issue', service: a.service as string, channel: 'kiosk', priority: a.priority as boolean };
  if ('next' in a) return { type: 'counter.next', counter: a.next as string };
  if ('skip' in a) return { type: 'counter.skip', counter: a.skip as string };
  if ('toService' in a)
    return { type: 'counter.transfer', counter: a.transfer as string, toService: a.toService as string };
  if ('toCounter' in a)
    return { type: 'counter.transfer', counter: a.transfer as string, toCounter: a.toCounter as string };
  if ('close' in a) return { type: 'counter.close', counter: a.close as string };
  if ('resume' in a) return { type: 'counter.resume', counter: a.resume as string };
  if ('cancel' in a)
    return { type: 'ticket.cancel', number: issued[(a.cancel as number) % Math.max(1, issued.length)] ?? '1001' };
  return {
    type: 'counter.call',
    counter: a.callBack as string,
    number: issued[(a.nth as number) % Math.max(1, issued.length)] ?? '1001',
  };
}

describe("central's copy of the waiting lines", () => {
  it('gives every ticket the place the engine gives it, over random days', () => {
    fc.assert(
      fc.property(fc.array(action, { maxLength: 120 }), (plan) => {
        const o = office({}, { open: false });
        const book = new TicketBook();
        const fold = (events: QueueEvent[]) => {
          for (const e of events) book.apply(e);
        };
        fold(o.must({ type: 'day.open' }).events);
        const issued: string[] = [];
        for (const a of plan) {
          const r = o.run(toAction(a as Record<string, unknown>, issued));
          if (!r.ok) continue;
          fold(r.events);
          if (r.ticket && r.events.some((e) => e.type === 'ticket.issued')) issued.push(r.ticket.number);
        }
        const state = o.engine.state;
        expect(book.complete).toBe(true);
        for (const [number, rec] of Object.entries(state.tickets)) {
          const place = book.place(number);
          if (rec.status === 'waiting') {
            if (rec.pin !== undefined) {
              expect(place).toEqual({
                status: 'waiting',
                service: rec.service,
                ahead: state.pinned[rec.pin]!.indexOf(number),
                counter: rec.pin,
              });
            } else {
              expect(place).toEqual({
                status: 'waiting',
                service: rec.service,
                ahead: state.services[rec.service]!.waiting.indexOf(number),
              });
            }
          } else if (rec.status === 'serving') {
            expect(place).toEqual({ status: 'called', service: rec.service, counter: rec.counter });
          } else if (rec.status === 'skipped') {
            expect(place).toMatchObject({ status: 'skipped', service: rec.service });
          } else {
            expect(place).toEqual({ status: rec.status, service: rec.service });
          }
        }
      }),
      { numRuns: 150 },
    );
  });

  it("two transfers to one service wait in the order they were sent, ahead of that service's line", () => {
    const o = office({}, { open: false });
    const book = new TicketBook();
    const run = (a: Action) => {
      for (const e of o.must(a).events) book.apply(e);
    };
    run({ type: 'day.open' });
    for (const service of ['resident', 'resident', 'seal', 'seal'])
      run({ type: 'ticket.issue', service, channel: 'kiosk' });
    run({ type: 'counter.next', counter: '1' });
    run({ type: 'counter.next', counter: '2' });
    run({ type: 'counter.transfer', counter: '1', toService: 'seal' });
    run({ type: 'counter.transfer', counter: '2', toService: 'seal' });
    const seal = o.engine.state.services.seal!.waiting;
    expect(seal.slice(0, 2)).toEqual(['1001', '1002']);
    for (const n of seal) expect(book.place(n)).toMatchObject({ status: 'waiting', ahead: seal.indexOf(n) });
  });

  it('a ticket held for a counter that closes is back in its service line, held for no counter', () => {
    const o = office({}, { open: false });
    const book = new TicketBook();
    const run = (a: Action) => {
      for (const e of o.must(a).events) book.apply(e);
    };
    run({ type: 'day.open' });
    for (const service of ['resident', 'resident']) run({ type: 'ticket.issue', service, channel: 'kiosk' });
    run({ type: 'counter.next', counter: '1' });
    run({ type: 'counter.transfer', counter: '1', toCounter: '2' });
    expect(book.place('1001')).toMatchObject({ status: 'waiting', counter: '2' });
    run({ type: 'counter.close', counter: '2' });
    const resident = o.engine.state.services.resident!.waiting;
    expect(resident[0]).toBe('1001');
    expect(book.place('1001')).toEqual({ status: 'waiting', service: 'resident', ahead: 0 });
  });

  it('a copy started mid-day knows only what it saw, and says so', () => {
    const o = office({}, { open: true });
    o.issue();
    const book = new TicketBook();
    const r = o.must({ type: 'ticket.issue', service: 'resident', channel: 'kiosk' });
    for (const e of r.events) book.apply(e);
    expect(book.complete).toBe(false);
    expect(book.place('1001')).toEqual({ status: 'unknown' });
    expect(book.place('1002')).toMatchObject({ status: 'waiting', ahead: 1 });
    // 1001, never seen, is called: 1002 moves up
    for (const e of o.must({ type: 'counter.next', counter: '1' }).events) book.apply(e);
    expect(book.place('1002')).toMatchObject({ status: 'waiting', ahead: 0 });
  });

  it('shares the service estimate linearly among the people ahead', () => {
    expect(estimateFor(0, { waiting: 5, estimatedWaitMin: 20 })).toBe(0);
    expect(estimateFor(2, { waiting: 5, estimatedWaitMin: 20 })).toBe(8);
    expect(estimateFor(5, { waiting: 5, estimatedWaitMin: 20 })).toBe(20);
    expect(estimateFor(3, { waiting: 0, estimatedWaitMin: 0 })).toBe(0);
  });
});

describe("central's reader", () => {
  it('dedupes by seq: a late event fills its hole, a repeat is dropped, a hole never filled stays missing', () => {
    const reader = new CentralReader({
      urls: ['mqtt://127.0.0.1:9'],
      username: 'c',
      password: 'c',
      logger: pino({ level: 'silent' }),
    });
    const feed = (seq: number) =>
      (reader as unknown as { message(topic: string, payload: Buffer): void }).message(
        'beonho/v1/singok2/events',
        Buffer.from(
          JSON.stringify({
            v: 1,
            office: 'singok2',
            seq,
            id: `e${seq}`,
            at: '2026-11-26T10:00:00.000+09:00',
            type: 'notice.changed',
            notice: '',
          }),
        ),
      );
    const seen: number[] = [];
    reader.onEvent((_v, ev) => seen.push(ev.seq));
    for (const seq of [1, 2, 4, 3, 4, 5, 8]) feed(seq);
    const v = reader.offices.get('singok2')!;
    expect(seen).toEqual([1, 2, 4, 3, 5, 8]);
    expect({ gaps: v.gaps, late: v.late, missing: v.missing, duplicates: v.duplicates, lastSeq: v.lastSeq }).toEqual({
      gaps: 2,
      late: 1,
      missing: 2,
      duplicates: 1,
      lastSeq: 8,
    });
    expect(reader.counts.events).toBe(7);
  });
});

describe("central's reader, against what an office sends", () => {
  // What any account that may publish on an office's topics sends (another release, a broken or
  // hostile client; at a city's cluster, whatever it lets publish there): it was folded as it came,
  // and an event with no ticket threw in the reader's message handler, which ended central.
  it('ignores a message that is not the contract and goes on with the next', async () => {
    const { logger, lines } = captureLogger();
    const central = await startCentral({ port: 0, mqttPort: 0, wsPort: 0 }, logger);
    const office = await mqtt.connectAsync(`mqtt://127.0.0.1:${central.ports.mqtt}`, {
      username: 'singok2',
      password: 'singok2-uplink',
      reconnectPeriod: 0,
    });
    try {
      const event = (seq: number, rest: Record<string, unknown>) =>
        JSON.stringify({ v: 1, office: 'singok2', seq, id: `e${seq}`, at: '2026-11-26T10:00:00.000+09:00', ...rest });
      const events = 'beonho/v1/singok2/events';
      await office.publishAsync(events, event(1, { type: 'ticket.issued', ticket: null }), { qos: 1 });
      await office.publishAsync(events, event(2, { type: 'ticket.called', counter: '1' }), { qos: 1 });
      await office.publishAsync('beonho/v1/singok2/state', JSON.stringify({ seq: 'x' }), { qos: 1 });
      await office.publishAsync(events, event(3, { type: 'notice.changed', notice: '' }), { qos: 1 });
      await expect.poll(() => central.reader.offices.get('singok2')?.lastSeq, { timeout: 10_000 }).toBe(3);
      const v = central.reader.offices.get('singok2')!;
      expect(v.recent.map((e) => e.seq)).toEqual([3]);
      expect(v.state).toBeNull();
      expect(lines.filter((l) => l.code === 'central-bad-payload').map((l) => l.topic)).toEqual([
        events,
        events,
        'beonho/v1/singok2/state',
      ]);
    } finally {
      await office.endAsync(true);
      await central.close();
    }
  });
});

describe('알림톡 book', () => {
  const near = (number: string, ahead: number): QueueEvent =>
    ({
      v: 1,
      office: 'singok2',
      seq: 9,
      id: 'x',
      at: '2026-11-26T10:00:00.000+09:00',
      type: 'ticket.near',
      ticket: { number, service: 'resident', channel: 'kiosk', priority: false },
      ahead,
      threshold: ahead,
    }) as QueueEvent;

  it('takes Korean mobile numbers only and masks them', () => {
    expect(normalizePhone('010-1234-5678')).toBe('01012345678');
    expect(normalizePhone('011 234 5678')).toBe('0112345678');
    for (const bad of ['02-123-4567', '010-12-34', '', 'abc', 1012345678, null])
      expect(() => normalizePhone(bad)).toThrow(expect.objectContaining({ code: 'alert-bad-phone' }));
    expect(maskPhone('01012345678')).toBe('010-****-5678');
  });

  it('sends to an opted-in ticket on near and called, others on near only; forgets at day end', () => {
    const book = new AlertBook();
    expect(book.subscribe('singok2', '2026-11-26', '1002', '010-1234-5678')).toBe('010-****-5678');
    expect(book.onEvent('singok2', '2026-11-26', near('1001', 1))).toMatchObject({ to: null, ref: null });
    expect(book.onEvent('singok2', '2026-11-26', near('1002', 1))).toMatchObject({ to: '010-****-5678' });
    const called = {
      ...near('1002', 0),
      type: 'ticket.called',
      counter: '3',
    } as unknown as QueueEvent;
    expect(book.onEvent('singok2', '2026-11-26', called)).toMatchObject({ kind: 'called', counter: '3' });
    expect(
      book.onEvent('singok2', '2026-11-26', { ...called, ticket: { ...near('1001', 0), number: '1001' } } as never),
    ).toBeNull();
    // another office's ticket of the same number is another ticket
    expect(book.onEvent('hoewon1', '2026-11-26', near('1002', 1))).toMatchObject({ to: null });
    book.onEvent('singok2', '2026-11-26', {
      v: 1,
      office: 'singok2',
      seq: 10,
      id: 'y',
      at: '2026-11-26T18:00:00.000+09:00',
      type: 'day.closed',
      day: '2026-11-26',
      issued: 2,
      completed: 0,
      waiting: 2,
    });
    expect(book.count()).toBe(0);
    expect(book.subscribed('singok2', '2026-11-26', '1002')).toBeNull();
    expect(book.talks.filter((t) => t.office === 'singok2')).toEqual([]);
    expect(book.talks.filter((t) => t.office === 'hoewon1')).toHaveLength(1);
  });

  it('forgets the phone of a ticket served or cancelled: its link no longer shows it', () => {
    for (const type of ['ticket.completed', 'ticket.cancelled'] as const) {
      const book = new AlertBook();
      book.subscribe('singok2', '2026-11-26', '1002', '010-1234-5678');
      book.subscribe('singok2', '2026-11-26', '1003', '010-9876-5432');
      const done = { ...near('1002', 0), type, counter: '3', serviceSec: 60, reason: 'cancelled' } as never;
      expect(book.onEvent('singok2', '2026-11-26', done)).toBeNull();
      expect(book.subscribed('singok2', '2026-11-26', '1002'), type).toBeNull();
      expect(book.subscribed('singok2', '2026-11-26', '1003'), type).toBe('010-****-5432');
    }
  });
});

describe('ticket-link keys', () => {
  it('the demo keys verify what the simulator prints; derived keys differ per office', () => {
    expect(demoKeys('singok2')).toBe(DEMO_TICKET_SECRET);
    const a = deriveTicketSecret('city-master-key-0123456789', 'singok2');
    const b = deriveTicketSecret('city-master-key-0123456789', 'hoewon1');
    expect(a).not.toBe(b);
    expect(ticketToken(a, 'singok2', '2026-11-26', '1001')).not.toBe(ticketToken(b, 'singok2', '2026-11-26', '1001'));
  });
});
