// The publishers' coalescer (a state or status publish at most once a second) on the real timers
// while the wall clock steps back: a board without RTC set by NTP, an admin's `date -s`.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Coalescer, realTimers } from '../bridge/publish/coalescer.ts';

afterEach(() => vi.useRealTimers());

describe('the coalescer on the real timers', () => {
  it('publishes within its interval after the wall clock steps back an hour', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout', 'performance'] });
    let runs = 0;
    const c = new Coalescer(() => runs++, 1000, realTimers);
    c.request();
    expect(runs).toBe(1);
    vi.setSystemTime(Date.now() - 3_600_000);
    await vi.advanceTimersByTimeAsync(10);
    c.request(); // within the interval: waits for it, not for the hour the wall clock lost
    await vi.advanceTimersByTimeAsync(1000);
    expect(runs).toBe(2);
    c.cancel();
  });
});
