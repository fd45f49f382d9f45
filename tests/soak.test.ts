// The power-cut soak's short form (docs/soak.md): the real daemon cut a dozen times while central
// issues online tickets through a real mosquitto, across a midnight; and the oracle itself, on
// made-up observations, so each of its checks is seen to fail. The long form is
// `npm run soak -- --cuts 1000`.
import { afterAll, describe, expect, it } from 'vitest';
import { cutAll } from './soak/daemon.ts';
import { mosquittoInstalled } from '../bench/lib/mosquitto.ts';
import { check, type ObservedEvent, type Observations, type ViolationKind } from './soak/oracle.ts';
import { Rng } from './soak/prng.ts';
import { formatReport, planCuts, runSoak } from './soak/soak.ts';

const at = (hhmmss: string, date = '2026-12-01') => `${date}T${hhmmss}.000+09:00`;
const opened = (seq: number, day: string): ObservedEvent => ({
  seq,
  id: `e${seq}`,
  type: 'day.opened',
  at: at('00:00:00', day),
  day,
});
const issued = (seq: number, number: string, o: { ref?: string; time?: string; channel?: string } = {}) => ({
  seq,
  id: `e${seq}`,
  type: 'ticket.issued',
  at: o.time ?? at('10:00:00'),
  ticket: {
    number,
    service: 'resident',
    channel: o.channel ?? (o.ref ? 'online' : 'kiosk'),
    ...(o.ref ? { ref: o.ref } : {}),
  },
});

/** A run in which everything went right: the base every case below breaks in one way. */
function clean(): Observations {
  return {
    events: [
      opened(1, '2026-12-01'),
      issued(2, '10001', { ref: 'ra' }),
      issued(3, '10002'),
      issued(2, '10001', { ref: 'ra' }),
    ],
    results: [
      { id: 'c1', ok: true, number: '10001' },
      { id: 'c1', ok: true, number: '10001' },
      { id: 'c2', ok: false, code: 'no-waiting' },
    ],
    commands: [
      { id: 'c1', type: 'ticket.issue', ref: 'ra', attempts: 2 },
      { id: 'c2', type: 'counter.next', attempts: 1 },
    ],
    printed: [{ number: '10002', service: 'resident' }],
    finalStateSeq: 3,
    timeZone: 'Asia/Seoul',
  };
}
const kinds = (o: Observations): ViolationKind[] => check(o).violations.map((v) => v.kind);

describe('the soak oracle', () => {
  it('passes a run where every rule held (a repeated event and a retried command included)', () => {
    const { violations, stats } = check(clean());
    expect(violations).toEqual([]);
    expect(stats).toMatchObject({ events: 3, repeats: 1, answered: 2, retried: 1, acknowledgedTickets: 1 });
  });

  it('flags a gap in seq, and a seq reused by another event', () => {
    const o = clean();
    o.events.push({ ...issued(5, '10003'), id: 'e5' }, { ...issued(3, '10004'), id: 'other' });
    o.finalStateSeq = 5;
    expect(kinds(o)).toEqual(['seq-gap', 'seq-conflict', 'events-incomplete']);
  });

  it('flags a number issued twice in a day, but not the same number on the next day', () => {
    const o = clean();
    o.events.push(
      issued(4, '10002'),
      opened(5, '2026-12-02'),
      issued(6, '10002', { time: at('09:00:00', '2026-12-02') }),
    );
    o.finalStateSeq = 6;
    expect(kinds(o)).toEqual(['number-reused']);
  });

  it('flags a ticket numbered on the old day after midnight', () => {
    const o = clean();
    o.events.push(issued(4, '10003', { time: at('00:00:00', '2026-12-02') }));
    o.finalStateSeq = 4;
    expect(kinds(o)).toEqual(['issued-on-past-day']);
  });

  it('flags a second ticket for one command and an acknowledged ticket that was never issued', () => {
    const o = clean();
    o.events.push(issued(4, '10007', { ref: 'ra' }));
    o.results.push({ id: 'c3', ok: true, number: '10009' });
    o.commands.push({ id: 'c3', type: 'ticket.issue', ref: 'rc', attempts: 1 });
    o.finalStateSeq = 4;
    expect(kinds(o)).toEqual(['second-ticket-for-command', 'acknowledged-ticket-missing']);
  });

  it('flags retries answered differently, and a command never answered (internal-error does not count)', () => {
    const o = clean();
    o.results.push({ id: 'c2', ok: true, number: '10001' }, { id: 'c4', ok: false, code: 'internal-error' });
    o.commands.push({ id: 'c4', type: 'counter.next', attempts: 3 });
    expect(kinds(o)).toEqual(['retry-answered-differently', 'unanswered']);
  });

  it('flags a printed kiosk ticket missing from the events', () => {
    const o = clean();
    o.printed.push({ number: '10005', service: 'resident' });
    expect(kinds(o)).toEqual(['printed-ticket-missing']);
  });
});

describe('the plan of cuts', () => {
  it('is the same for the same seed, starts with a plain run and has every kind', () => {
    const a = planCuts(12, new Rng(7), true);
    expect(planCuts(12, new Rng(7), true)).toEqual(a);
    expect(a[0]).toBe('running');
    for (const k of ['running', 'startup', 'backlog', 'midnight'] as const) expect(a).toContain(k);
    expect(planCuts(12, new Rng(7), false)).not.toContain('midnight');
  });
});

// Like the other mosquitto suites: a missing broker (or libfaketime) fails under CI, never skips.
const ci = Boolean(process.env.CI);
if (ci && !mosquittoInstalled())
  throw new Error('mosquitto is not installed but CI is set: apt-get install -y mosquitto mosquitto-clients');

describe.runIf(mosquittoInstalled())('the power-cut soak, short form', () => {
  afterAll(() => cutAll());

  it('12 power cuts (running, start-up, command backlog, midnight): central sees no violation', async () => {
    const report = await runSoak({
      cuts: 12,
      seed: 20261201,
      rate: 5,
      maxRunMs: 3000,
      settleMs: 60_000,
      faketime: ci ? 'required' : 'auto',
    });
    const summary = formatReport(report, 5);
    console.log(summary);
    // the harness did what it says, whatever the daemon did
    expect(report.cuts.startup + report.cuts.backlog + report.cuts.running, summary).toBeGreaterThanOrEqual(3);
    expect(report.stats.acknowledgedTickets, summary).toBeGreaterThan(0);
    if (report.midnights.note === null) expect(report.stats.days.length, summary).toBeGreaterThanOrEqual(2);
    // the summary (counts by kind, examples) is the failure message; the full list would bury it
    expect(report.violations.length, summary).toBe(0);
  }, 240_000);
});
