import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LevelDebouncer, RateLimiter } from '../device/hw/press-filter.ts';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('LevelDebouncer', () => {
  it('reports one change however the contact bounces', () => {
    let level = false;
    const seen: boolean[] = [];
    const d = new LevelDebouncer(
      30,
      () => level,
      (p) => seen.push(p),
    );
    for (const l of [true, false, true, false, true]) {
      level = l;
      d.edge();
      vi.advanceTimersByTime(3);
    }
    vi.advanceTimersByTime(30);
    expect(seen).toEqual([true]);
    level = false;
    d.edge();
    vi.advanceTimersByTime(30);
    expect(seen).toEqual([true, false]);
  });

  it('reports nothing for a glitch that settles back where it was', () => {
    let level = false;
    const seen: boolean[] = [];
    const d = new LevelDebouncer(
      30,
      () => level,
      (p) => seen.push(p),
    );
    level = true;
    d.edge();
    vi.advanceTimersByTime(5);
    level = false;
    d.edge();
    vi.advanceTimersByTime(100);
    expect(seen).toEqual([]);
  });

  it('forgets a contact in motion when cancelled', () => {
    const seen: boolean[] = [];
    const d = new LevelDebouncer(
      30,
      () => true,
      (p) => seen.push(p),
    );
    d.edge();
    d.cancel();
    vi.advanceTimersByTime(100);
    expect(seen).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('RateLimiter', () => {
  it('accepts one per interval and counts the rest', () => {
    let t = 0;
    const r = new RateLimiter(1500, () => t);
    const got = [0, 200, 1400, 1500, 1600, 3000, 3100].map((at) => {
      t = at;
      return r.allow();
    });
    expect(got).toEqual([true, false, false, true, false, true, false]);
    expect(r.rejected).toBe(4);
  });
});

describe('RateLimiter and the wall clock', () => {
  it('keeps accepting presses after the clock is stepped back an hour (NTP after a boot without RTC)', () => {
    let t = 10 * 3_600_000;
    const r = new RateLimiter(1500, () => t);
    expect(r.allow()).toBe(true);
    t -= 3_600_000;
    expect(r.allow()).toBe(true);
    // and the interval holds again from the new time
    t += 200;
    expect(r.allow()).toBe(false);
    t += 1500;
    expect(r.allow()).toBe(true);
    expect(r.rejected).toBe(1);
  });
});
