// Midnight: the day rolls before the first action of a new date, whatever the action and whoever
// sends it (a press, central's online ticket, a keypad), not only when the day roll's timer next
// looks at the time. The timer here is an hour, so only the queue's own check can roll the day.
import { afterEach, describe, expect, it } from 'vitest';
import type { ActionResult } from '../device/queue/actions.ts';
import type { QueueEvent } from '../device/queue/types.ts';
import { type Booted, bootConfig, bootDaemon } from './helpers/boot.ts';
import { Clock, DAY } from './helpers/office.ts';

const NEXT_DAY = '2026-11-27';
const MIDNIGHT = Date.parse(`${NEXT_DAY}T00:00:00+09:00`);
const CMD = 'beonho/v1/singok2/cmd';

let booted: Booted | null = null;
afterEach(async () => {
  await booted?.stop();
  booted = null;
});

/** The daemon at 23:59:59.9, its day open, every event and refusal recorded. */
async function lateEvening(opts: { autoOpen?: boolean; mqtt?: boolean } = {}) {
  const config = bootConfig(opts.autoOpen === false ? { policy: { autoOpen: false } } : {});
  const clock = new Clock(MIDNIGHT - 100);
  const b = await bootDaemon({
    config,
    clock,
    tickMs: 3_600_000,
    features: ['dayRoll', 'printer', ...(opts.mqtt ? (['mqtt'] as const) : [])],
  });
  booted = b;
  const events: QueueEvent[] = [];
  const refused: string[] = [];
  b.daemon.bus.on('queueEvents', {}, ({ events: e }) => events.push(...e));
  b.daemon.bus.on('actionRefused', {}, (r) => refused.push(`${r.action} ${r.code}`));
  if (opts.autoOpen === false) await b.daemon.queue.execute({ type: 'day.open' });
  expect(b.daemon.queue.state()).toMatchObject({ day: DAY, open: true });
  const issue = async (service = 'resident'): Promise<ActionResult> =>
    b.daemon.queue.execute({ type: 'ticket.issue', service, channel: 'kiosk' });
  return { b, clock, events, refused, issue, types: () => events.map((e) => e.type) };
}

describe('the day rolls before the first action of a new date', () => {
  it('a press at 00:00:00.2 gets the first number of the new day, printed with its date', async () => {
    const { b, clock, events } = await lateEvening();
    b.hw.buttons.press('resident');
    await b.settle();
    clock.advance(300); // 00:00:00.2
    b.hw.buttons.press('resident');
    await b.settle();
    expect(b.hw.printer.jobs.map((j) => [j.day, j.number])).toEqual([
      [DAY, '1001'],
      [NEXT_DAY, '1001'],
    ]);
    expect(b.daemon.queue.state()).toMatchObject({ day: NEXT_DAY, open: true });
    const after = events.filter((e) => e.at >= `${NEXT_DAY}T`);
    expect(after.map((e) => e.type).filter((t) => t.startsWith('day.') || t === 'ticket.issued')).toEqual([
      'day.closed',
      'day.opened',
      'ticket.issued',
    ]);
    const issued = after.find((e) => e.type === 'ticket.issued');
    expect(issued?.at).toMatch(/^2026-11-27T00:00:00\.200\+09:00$/);
    // every event is numbered on: the roll is journaled like any action
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => events[0]!.seq + i));
  });

  it("central's online ticket after midnight is the new day's first, its result says so", async () => {
    const { b, clock } = await lateEvening({ mqtt: true });
    const commands = b.daemon.parts.bridge!.parts.commands!;
    const online = (id: string) =>
      commands.handle(
        CMD,
        Buffer.from(JSON.stringify({ id, type: 'ticket.issue', service: 'passport', channel: 'online' })),
        'test',
      );
    expect(await online('before-midnight')).toMatchObject({ ok: true, result: { ticket: { number: '2001' } } });
    clock.advance(300);
    expect(await online('after-midnight')).toMatchObject({ ok: true, result: { ticket: { number: '2001' } } });
    expect(b.daemon.queue.state().day).toBe(NEXT_DAY);
    expect(b.daemon.queue.ticket('2001')?.channel).toBe('online');
  });

  it("a keypad's next after midnight does not call yesterday's waiting ticket", async () => {
    const { b, clock, events, refused } = await lateEvening();
    b.hw.buttons.press('resident');
    b.hw.buttons.press('resident');
    await b.settle();
    b.hw.keypads.input('1', { type: 'next' });
    await b.settle(); // counter 1 serves 1001, 1002 waits
    clock.advance(300);
    b.hw.keypads.input('1', { type: 'next' });
    await b.settle();
    expect(b.daemon.queue.state().day).toBe(NEXT_DAY);
    expect(
      events.filter((e) => e.type === 'ticket.called').map((e) => e.type === 'ticket.called' && e.ticket.number),
    ).toEqual(['1001']);
    expect(events).toContainEqual(
      expect.objectContaining({
        type: 'ticket.cancelled',
        reason: 'day-closed',
        ticket: expect.objectContaining({ number: '1002' }),
      }),
    );
    expect(refused).toEqual(['counter.next no-waiting']);
    b.hw.buttons.press('resident');
    await b.settle();
    b.hw.keypads.input('1', { type: 'next' });
    await b.settle();
    const last = events.filter((e) => e.type === 'ticket.called').at(-1);
    expect(last).toMatchObject({ type: 'ticket.called', counter: '1', ticket: { number: '1001' } });
    expect(last?.at.startsWith(NEXT_DAY)).toBe(true);
  });

  it('actions started together at midnight roll the day once, and none of them lands on the old day', async () => {
    const { clock, events, issue } = await lateEvening();
    clock.advance(300);
    const [a, s, c] = await Promise.all([issue(), issue('seal'), issue()]);
    expect([a, s, c].map((r) => r.ok && r.ticket?.number)).toEqual(['1001', '3001', '1002']);
    expect(events.filter((e) => e.type === 'day.opened')).toHaveLength(1);
    expect(events.map((e) => e.type).indexOf('day.opened')).toBeLessThan(
      events.map((e) => e.type).indexOf('ticket.issued'),
    );
  });

  it('a refused action still rolls the day first', async () => {
    const { clock, types, issue } = await lateEvening();
    clock.advance(300);
    const r = await issue('no-such-service');
    expect(r.ok).toBe(false);
    expect(types()).toContain('day.opened');
    expect(booted!.daemon.queue.state().day).toBe(NEXT_DAY);
  });

  it('with policy.autoOpen off the queue never rolls the day by itself: numbering goes on until central opens the next', async () => {
    const { b, clock, issue, types } = await lateEvening({ autoOpen: false });
    expect((await issue()).ok).toBe(true);
    clock.advance(300);
    const r = await issue();
    expect(r.ok && r.ticket?.number).toBe('1002');
    expect(b.daemon.queue.state().day).toBe(DAY);
    expect(types()).not.toContain('day.closed');
    await b.daemon.queue.execute({ type: 'day.open' });
    const first = await issue();
    expect(first.ok && first.ticket?.number).toBe('1001');
    expect(b.daemon.queue.state().day).toBe(NEXT_DAY);
  });

  it('an action decided at the last instant of a day is not stamped with the first instant of the next', async () => {
    // The clock crosses midnight between two of its readings inside one decision: after the first
    // reading (the "new date?" check), or a little later.
    for (const readsBefore of [1, 2, 3]) {
      const { b, clock, events } = await lateEvening();
      let reads = 0;
      const now = clock.now;
      clock.t = MIDNIGHT - 1;
      clock.now = () => (++reads > readsBefore ? MIDNIGHT : MIDNIGHT - 1);
      await b.daemon.queue.execute({ type: 'ticket.issue', service: 'resident', channel: 'kiosk' });
      clock.now = now;
      clock.t = MIDNIGHT;
      // Numbered on the day the queue had open: its time must be on that date.
      let day = DAY;
      for (const e of events) {
        if (e.type === 'day.opened') day = e.day;
        if (e.type === 'ticket.issued') expect(e.at.slice(0, 10), `read ${readsBefore}: ${e.at}`).toBe(day);
      }
      await b.stop();
      booted = null;
    }
  });
});
