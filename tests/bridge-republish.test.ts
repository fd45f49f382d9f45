// The republish clock (bridge/publish/republish.ts): state and status again every interval,
// changed or not, the first tick at a random share of the interval; 0 turns it off.
import { describe, expect, it } from 'vitest';
import { Republisher } from '../bridge/publish/republish.ts';
import { mqttSchema } from '../device/config/mqtt-schema.ts';

function fakeTimers() {
  let now = 0;
  const pending = new Map<number, { at: number; fn: () => void }>();
  let id = 0;
  return {
    timers: {
      setTimeout: (fn: () => void, ms: number) => {
        pending.set(++id, { at: now + ms, fn });
        return id;
      },
      clearTimeout: (h: unknown) => void pending.delete(h as number),
    },
    advance(ms: number) {
      const end = now + ms;
      for (;;) {
        const next = [...pending.entries()].sort((a, b) => a[1].at - b[1].at)[0];
        if (!next || next[1].at > end) break;
        pending.delete(next[0]);
        now = next[1].at;
        next[1].fn();
      }
      now = end;
    },
    pending: () => pending.size,
  };
}

describe('republish clock', () => {
  it('runs every job at a random phase, then once per interval, until stopped', () => {
    const t = fakeTimers();
    const runs: string[] = [];
    const r = new Republisher({
      intervalSec: 300,
      jobs: [() => runs.push('state'), () => runs.push('status')],
      random: () => 0.25,
      timers: t.timers,
    });
    r.start();
    t.advance(74_999);
    expect(runs).toEqual([]);
    t.advance(1);
    expect(runs).toEqual(['state', 'status']);
    t.advance(300_000);
    t.advance(300_000);
    expect(r.ticks).toBe(3);
    r.stop();
    expect(t.pending()).toBe(0);
    t.advance(1_000_000);
    expect(r.ticks).toBe(3);
  });

  it('does nothing with an interval of 0', () => {
    const t = fakeTimers();
    const r = new Republisher({ intervalSec: 0, jobs: [() => expect.fail('no job')], timers: t.timers });
    r.start();
    expect(t.pending()).toBe(0);
  });

  it('is on by default, every 5 minutes; the config refuses a negative or day-long-plus interval', () => {
    expect(mqttSchema.parse({}).republishSec).toBe(300);
    expect(mqttSchema.safeParse({ republishSec: -1 }).success).toBe(false);
    expect(mqttSchema.safeParse({ republishSec: 86_401 }).success).toBe(false);
    expect(mqttSchema.parse({ republishSec: 0 }).republishSec).toBe(0);
  });
});
