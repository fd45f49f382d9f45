// Clock discipline: a Pi boots with a stale clock and NTP may step it. Jumps in the middle of a
// day neither reset the day nor reuse a number; a real midnight opens the next day.
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ClockGuard, timesyncStepped } from '../device/clock.ts';
import { buildDaemon } from '../device/app.ts';
import type { QueueEvent } from '../device/queue/types.ts';
import { DAY, NINE_AM, testConfig } from './helpers/office.ts';

const HOUR = 3600_000;
let dir: string;
/** every daemon a test started: stopped before its directory goes, even when an assertion failed */
const started: Array<ReturnType<typeof buildDaemon>> = [];
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'beonho-clock-'));
});
afterEach(async () => {
  await Promise.all(started.splice(0).map((d) => d.stop()));
  await rm(dir, { recursive: true, force: true });
});

/** A daemon whose wall clock, monotonic clock and NTP flag the test moves by hand. */
async function daemon(start: { wall: number; mono?: number; synced?: boolean }) {
  const t = { wall: start.wall, mono: start.mono ?? 0, synced: start.synced ?? false };
  const events: QueueEvent[] = [];
  const logs: Array<{ component?: string; msg: string }> = [];
  const c = buildDaemon(testConfig(), {
    dataDir: dir,
    logger: pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) }),
    now: () => t.wall,
    monotonic: () => t.mono,
    clockSynchronized: () => t.synced,
    tickMs: 3600_000,
    features: ['dayRoll'],
  });
  started.push(c);
  await c.start();
  c.bus.on('queueEvents', {}, ({ events: e }) => events.push(...e));
  const issue = async () => {
    const r = await c.queue.execute({ type: 'ticket.issue', service: 'resident', channel: 'kiosk' });
    if (!r.ok) throw new Error(r.error.code);
    return r.ticket!.number;
  };
  const pass = (ms: number) => {
    t.wall += ms;
    t.mono += ms;
  };
  return { c, t, events, logs, issue, pass };
}

describe('clock jumps in the middle of a day', () => {
  it('back one hour: same day, numbering goes on', async () => {
    const d = await daemon({ wall: NINE_AM + 2 * HOUR });
    expect(await d.issue()).toBe('1001');
    d.t.wall -= HOUR;
    await d.c.parts.dayRoll!.tick();
    expect(await d.issue()).toBe('1002');
    expect(d.c.queue.state().day).toBe(DAY);
    expect(d.events.some((e) => e.type === 'day.opened')).toBe(false);
    await d.c.stop();
  });

  it('forward past midnight without NTP: ignored, no day reset; a real midnight still opens the next day', async () => {
    const d = await daemon({ wall: NINE_AM + 2 * HOUR });
    await d.issue();
    d.t.wall += 15 * HOUR; // 02:00 the next day, but only the wall clock moved
    await d.c.parts.dayRoll!.tick();
    expect(await d.issue()).toBe('1002');
    expect(d.c.queue.state().day).toBe(DAY);
    d.pass(14 * HOUR); // time really passes: 01:00 the next day by the monotonic clock
    await d.c.parts.dayRoll!.tick();
    expect(d.c.queue.state().day).toBe('2026-11-27');
    expect(await d.issue()).toBe('1001');
    await d.c.stop();
  });

  it('forward when NTP says the clock is synchronised: followed', async () => {
    const d = await daemon({ wall: NINE_AM + 2 * HOUR });
    await d.issue();
    d.t.wall += 15 * HOUR;
    d.t.synced = true;
    await d.c.parts.dayRoll!.tick();
    expect(d.c.queue.state().day).toBe('2026-11-27');
    await d.c.stop();
  });

  it('a boot in 1970 resumes the day on disk; numbers go on; NTP later brings the real time', async () => {
    const first = await daemon({ wall: NINE_AM + HOUR });
    await first.issue();
    await first.issue();
    await first.c.stop();
    const d = await daemon({ wall: 10_000, mono: 0 });
    expect(d.c.queue.state().day).toBe(DAY);
    expect(await d.issue()).toBe('1003');
    const issued = d.events.find((e) => e.type === 'ticket.issued')!;
    expect(Date.parse(issued.at)).toBeGreaterThanOrEqual(NINE_AM + HOUR);
    d.t.wall = NINE_AM + 3 * HOUR;
    d.t.synced = true;
    await d.c.parts.dayRoll!.tick();
    expect(d.c.queue.state().day).toBe(DAY);
    expect(await d.issue()).toBe('1004');
    await d.c.stop();
  });
});

describe('the log while the clock cannot be trusted', () => {
  const clockLines = (logs: Array<{ component?: string; msg: string }>) => logs.filter((l) => l.component === 'clock');

  it('a boot in 1970 on a network that blocks NTP says so once, not at every reading for days', async () => {
    const first = await daemon({ wall: NINE_AM + HOUR });
    await first.issue();
    await first.c.stop();
    const d = await daemon({ wall: 10_000, mono: 0 });
    // three days of the day roll's ticks (every 15 s), NTP never answering
    for (let i = 0; i < 3 * 24 * 240; i++) {
      d.pass(15_000);
      await d.c.parts.dayRoll!.tick();
    }
    expect(clockLines(d.logs)).toHaveLength(1);
    expect(clockLines(d.logs)[0]!.msg).toMatch(/ignored/);
    // NTP at last: the step is news again, once
    d.t.wall = NINE_AM + 3 * 24 * HOUR + 2 * HOUR;
    d.t.synced = true;
    for (let i = 0; i < 10; i++) await d.c.parts.dayRoll!.tick();
    expect(clockLines(d.logs).map((l) => l.msg)).toEqual([
      'clock jumped without synchronisation: ignored',
      'clock stepped (synchronised): following it',
    ]);
    await d.c.stop();
  });

  it('a step set by hand is one warning with a code, and its end one line with the same code', async () => {
    const d = await daemon({ wall: NINE_AM + HOUR });
    await d.issue();
    // `date -s` three hours ahead; NTP does not confirm it
    d.t.wall += 3 * HOUR;
    for (let i = 0; i < 20; i++) {
      d.pass(15_000);
      await d.c.parts.dayRoll!.tick();
    }
    // set back where it belongs: the queue's time and the system's agree again
    d.t.wall -= 3 * HOUR;
    for (let i = 0; i < 20; i++) {
      d.pass(15_000);
      await d.c.parts.dayRoll!.tick();
    }
    const lines = clockLines(d.logs) as Array<{ level: number; code?: string; msg: string }>;
    expect(lines.map((l) => [l.level, l.code])).toEqual([
      [40, 'clock-step-ignored'],
      [30, 'clock-step-ignored'],
    ]);
    expect(lines[1]!.msg).toMatch(/agrees/);
    await d.c.stop();
  });

  it('a second step while one is ignored is reported too', () => {
    let wall = NINE_AM;
    let mono = 0;
    const jumps: number[] = [];
    const g = new ClockGuard({
      wall: () => wall,
      monotonic: () => mono,
      synchronized: () => false,
      lastEventAt: 0,
      onJump: (j) => jumps.push(j.wall - j.expected),
    });
    wall += 10 * HOUR;
    for (let i = 0; i < 100; i++) {
      wall += 1000;
      mono += 1000;
      g.now();
    }
    wall -= 20 * HOUR;
    for (let i = 0; i < 100; i++) {
      wall += 1000;
      mono += 1000;
      g.now();
    }
    expect(jumps).toEqual([10 * HOUR, -10 * HOUR]);
    expect(g.now()).toBe(NINE_AM + 200_000);
  });
});

describe('ClockGuard', () => {
  it('gives whole milliseconds while it ignores a step (the monotonic clock has fractions)', () => {
    let wall = 1_000_000;
    let mono = 5.25;
    const g = new ClockGuard({ wall: () => wall, monotonic: () => mono, synchronized: () => false, lastEventAt: 0 });
    wall -= 10 * HOUR; // stepped back, not synchronised: ignored
    mono += 1000.7939453125;
    const t = g.now();
    expect(Number.isInteger(t)).toBe(true);
    expect(t).toBe(1_001_000);
    mono += 0.5;
    expect(g.now()).toBeGreaterThanOrEqual(t);
  });

  it('follows the wall clock while it agrees with the monotonic clock', () => {
    let wall = 1_000_000;
    let mono = 5;
    const g = new ClockGuard({ wall: () => wall, monotonic: () => mono, synchronized: () => false, lastEventAt: 0 });
    wall += 30_000;
    mono += 29_000; // drift within tolerance
    expect(g.now()).toBe(wall);
    wall += 10 * HOUR;
    expect(g.now()).toBe(wall - 10 * HOUR);
  });
});

describe('a step made by hand on a synchronised machine', () => {
  // systemd-timesyncd's flag stays from its first synchronisation until the next boot; it is
  // touched after every synchronisation, its step included. A technician's `date -s` with a wrong
  // year leaves it as it was: following that step opened a day months ahead, and the corrected
  // clock could not open a day again until the real date caught up (clock-behind).
  it('is ignored (no future day opens); the steps timesyncd makes are followed', async () => {
    const flag = path.join(dir, 'synchronized');
    await writeFile(flag, '');
    const touch = (at: number) => utimes(flag, at / 1000, at / 1000);
    let wall = NINE_AM;
    let mono = 0;
    await touch(wall); // NTP answered at 09:00
    const g = new ClockGuard({
      wall: () => wall,
      monotonic: () => mono,
      synchronized: () => true,
      stepConfirmed: (w) => timesyncStepped(w, flag),
      lastEventAt: 0,
    });
    wall += HOUR;
    mono += HOUR;
    expect(g.now()).toBe(NINE_AM + HOUR);
    wall = Date.parse('2027-03-01T10:00:00+09:00'); // date -s, by hand
    mono += 1000;
    expect(g.now()).toBe(NINE_AM + HOUR + 1000);
    expect(g.shouldOpenDay(DAY, 'Asia/Seoul')).toBe(false);
    // timesyncd's next synchronisation steps the clock back to the real time: nothing to follow
    mono += 20 * 60_000;
    wall = NINE_AM + HOUR + 1000 + 20 * 60_000;
    await touch(wall);
    expect(g.now()).toBe(wall);
    // a step timesyncd makes (back an hour, say) is read right after its touch, and followed
    wall -= HOUR;
    mono += 15_000;
    wall += 15_000;
    await touch(wall - 15_000);
    expect(g.now()).toBe(wall);
  });

  it('timesyncStepped: only a flag touched within moments of the reading, and never a missing one', async () => {
    const flag = path.join(dir, 'synchronized');
    expect(timesyncStepped(NINE_AM, flag)).toBe(false);
    await writeFile(flag, '');
    await utimes(flag, NINE_AM / 1000, NINE_AM / 1000);
    expect(timesyncStepped(NINE_AM + 60_000, flag)).toBe(true);
    expect(timesyncStepped(NINE_AM - 60_000, flag)).toBe(true);
    expect(timesyncStepped(NINE_AM + HOUR, flag)).toBe(false);
  });
});
