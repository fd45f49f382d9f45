// A clock once months ahead (set by hand before a restart, a bad NTP server) opened that day; the
// clock set right again, the queue keeps it (no earlier day opens: clock-behind), numbering on and
// its cut-offs not applied until the real date passes it, with nothing else failing. The device
// status says so (component `day`), so central sees it, and says when it is over.
import { afterEach, describe, expect, it } from 'vitest';
import { type Booted, bootDaemon } from './helpers/boot.ts';
import { Clock } from './helpers/office.ts';
import { captureLogger } from './hw-fakes.ts';

let booted: Booted | null = null;
afterEach(async () => {
  await booted?.stop();
  booted = null;
});

const at = (iso: string) => Date.parse(iso);

describe("the queue's day ahead of the clock", () => {
  it('is in the device status and the log while it lasts, and cleared when the real date passes it', async () => {
    const clock = new Clock(at('2027-03-01T10:00:00+09:00'));
    const log = captureLogger();
    const b = await bootDaemon({ clock, tickMs: 3_600_000, features: ['dayRoll', 'health'], logger: log.logger });
    booted = b;
    const day = async () => (await b.daemon.parts.health!.current()).components.day;
    expect(b.daemon.queue.state().day).toBe('2027-03-01');
    expect(await day()).toBeUndefined();

    clock.t = at('2026-12-03T10:00:00+09:00');
    await b.daemon.parts.dayRoll!.tick();
    expect(b.daemon.queue.state().day).toBe('2027-03-01');
    expect(await day()).toMatchObject({
      connected: false,
      lastError: 'day-ahead-of-clock',
      day: '2027-03-01',
      today: '2026-12-03',
    });
    await b.daemon.parts.dayRoll!.tick(); // said once
    expect(log.lines.filter((l) => l.code === 'day-ahead-of-clock')).toHaveLength(1);

    clock.t = at('2027-03-02T09:00:00+09:00');
    await b.daemon.parts.dayRoll!.tick();
    expect(b.daemon.queue.state().day).toBe('2027-03-02');
    expect(await day()).toMatchObject({ connected: true, lastError: null, day: '2027-03-02' });
  });
});
