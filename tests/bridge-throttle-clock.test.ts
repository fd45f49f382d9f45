// The broker's per-source allowances (logins, a satellite's commands and statuses) while the wall
// clock steps back: NTP setting a board without RTC, an admin's `date -s`. A step back of an hour
// made the refill negative, and a satellite's logins waited an hour.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SourceThrottle } from '../bridge/broker/login-limits.ts';

afterEach(() => vi.useRealTimers());

describe('a source allowance and the clock', () => {
  it('refills on time after the wall clock steps back an hour', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout', 'performance'] });
    const t = new SourceThrottle({ burst: 2, refillMs: 1000 });
    expect(t.take('10.0.0.7')).toBe(true);
    expect(t.take('10.0.0.7')).toBe(true);
    expect(t.take('10.0.0.7')).toBe(false);
    vi.setSystemTime(Date.now() - 3_600_000);
    await vi.advanceTimersByTimeAsync(1000);
    expect(t.take('10.0.0.7')).toBe(true);
  });

  it('never owes time to a clock it is given that goes back', () => {
    let now = 1_000_000;
    const t = new SourceThrottle({ burst: 1, refillMs: 1000, now: () => now });
    expect(t.take('a')).toBe(true);
    now -= 3_600_000;
    expect(t.take('a')).toBe(false);
    now += 1000;
    expect(t.take('a')).toBe(true);
  });
});
