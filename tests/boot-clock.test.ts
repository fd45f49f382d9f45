// A Pi switched off overnight boots on the time saved at its last shutdown (yesterday evening)
// until NTP answers: the service waits a little for NTP before it opens the queue, so the morning's
// first press is today's first number, not yesterday's next one cancelled a moment later; and a
// clock NTP never synchronises shows in the device status.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Logger } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { buildDaemon } from '../device/app.ts';
import { waitForBootClock } from '../device/boot-clock-wait.ts';
import { Bus } from '../device/bus.ts';
import { CLOCK_GRACE_MS, createClockStatus } from '../device/clock-status.ts';
import type { FeatureContext } from '../device/extension.ts';
import type { ComponentHealth } from '../device/ports/health.ts';
import { bootConfig, bootDaemon } from './helpers/boot.ts';
import { Clock, DAY, NINE_AM } from './helpers/office.ts';
import { captureLogger } from './hw-fakes.ts';

/** A sleep that moves a fake monotonic clock instead of waiting, and runs a step per poll. */
function fakeTime(onPoll: (polls: number) => void = () => {}) {
  let mono = 0;
  let polls = 0;
  return {
    monotonic: () => mono,
    sleep: async (ms: number) => {
      mono += ms;
      polls += 1;
      onPoll(polls);
    },
    polls: () => polls,
  };
}

describe('the boot wait for NTP', () => {
  const base = (logger: Logger) => ({
    maxWaitMs: 60_000,
    timesyncd: () => true,
    systemUptimeSec: () => 40,
    hasState: () => true,
    logger,
    pollMs: 500,
  });

  it('waits for the flag just after a boot, and says how long it waited', async () => {
    const { logger, lines } = captureLogger();
    let synced = false;
    const t = fakeTime((n) => {
      if (n === 6) synced = true;
    });
    const status: string[] = [];
    const outcome = await waitForBootClock({
      ...base(logger),
      synchronized: () => synced,
      status: (s) => status.push(s),
      ...t,
    });
    expect(outcome).toBe('synchronised');
    expect(t.polls()).toBe(6);
    expect(status).toEqual(['waiting up to 60 s for NTP before opening the queue']);
    expect(lines.find((l) => l.waitedMs !== undefined)).toMatchObject({ waitedMs: 3000 });
    expect(lines.filter((l) => l.code === 'clock-unsynchronised')).toEqual([]);
  });

  it('gives up after the configured time with one warning, and starts anyway', async () => {
    const { logger, lines } = captureLogger();
    const t = fakeTime();
    expect(await waitForBootClock({ ...base(logger), synchronized: () => false, ...t })).toBe('timed-out');
    expect(t.monotonic()).toBe(60_000);
    const warned = lines.filter((l) => l.code === 'clock-unsynchronised');
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ level: 40 });
  });

  it('does not wait when the clock is synchronised, the boot is long past, timesyncd is not in use, the data dir is new, or it is turned off', async () => {
    const { logger, lines } = captureLogger();
    const never = () => {
      throw new Error('must not sleep');
    };
    const no = { ...base(logger), synchronized: () => false, sleep: never };
    expect(await waitForBootClock({ ...no, synchronized: () => true })).toBe('synchronised');
    expect(await waitForBootClock({ ...no, systemUptimeSec: () => 3600 })).toBe('not-booting');
    expect(await waitForBootClock({ ...no, timesyncd: () => false })).toBe('no-timesyncd');
    expect(await waitForBootClock({ ...no, hasState: () => false })).toBe('no-state');
    expect(await waitForBootClock({ ...no, maxWaitMs: 0 })).toBe('off');
    expect(lines).toEqual([]);
  });

  it('a stop asked for during the wait ends it', async () => {
    const { logger } = captureLogger();
    let stopping = false;
    const t = fakeTime((n) => {
      if (n === 2) stopping = true;
    });
    const outcome = await waitForBootClock({
      ...base(logger),
      synchronized: () => false,
      stopping: () => stopping,
      ...t,
    });
    expect(outcome).toBe('stopped');
    expect(t.polls()).toBe(2);
  });
});

describe('the clock in the device status', () => {
  function context() {
    const { logger, lines } = captureLogger();
    const bus = new Bus();
    const reports: ComponentHealth[] = [];
    bus.on('healthChanged', {}, ({ component, health }) => {
      if (component === 'clock') reports.push(health);
    });
    const ctx = { bus, logger, now: () => NINE_AM } as unknown as FeatureContext;
    return { ctx, lines, reports };
  }

  it('reports an unsynchronised clock at once, warns once after the grace, and reports it synchronised again', async () => {
    const { ctx, lines, reports } = context();
    let synced = false;
    let step = 0;
    let mono = 0;
    const status = createClockStatus(ctx, {
      synchronized: () => synced,
      ignoredStepMs: () => step,
      monotonic: () => mono,
      everyMs: 3_600_000,
    });
    await status.start();
    try {
      expect(reports).toEqual([
        {
          connected: false,
          lastError: 'clock-unsynchronised',
          lastErrorAt: new Date(NINE_AM).toISOString(),
          synchronised: false,
          ignoredStepSec: 0,
        },
      ]);
      mono += CLOCK_GRACE_MS - 1;
      status.check();
      expect(lines.filter((l) => l.code === 'clock-unsynchronised')).toEqual([]);
      expect(reports).toHaveLength(1);
      mono += 1;
      step = -13 * 3_600_000; // the system's time 13 h behind the queue's (a boot at the saved time)
      status.check();
      status.check();
      expect(lines.filter((l) => l.code === 'clock-unsynchronised' && l.level === 40)).toHaveLength(1);
      expect(reports.at(-1)).toMatchObject({ connected: false, ignoredStepSec: -46_800 });
      expect(reports).toHaveLength(2);
      synced = true;
      status.check();
      expect(reports.at(-1)).toEqual({ connected: true, lastError: null, lastErrorAt: null, synchronised: true });
      expect(lines.filter((l) => l.code === 'clock-unsynchronised' && l.level === 30)).toHaveLength(1);
    } finally {
      await status.stop();
    }
  });

  it('a boot that synchronises within the grace logs nothing', async () => {
    const { ctx, lines, reports } = context();
    let synced = false;
    let mono = 0;
    const status = createClockStatus(ctx, {
      synchronized: () => synced,
      ignoredStepMs: () => 0,
      monotonic: () => mono,
    });
    await status.start();
    mono += 20_000;
    synced = true;
    status.check();
    await status.stop();
    expect(reports.map((r) => r.connected)).toEqual([false, true]);
    expect(lines).toEqual([]);
  });
});

describe('a morning boot on yesterday evening’s saved time', () => {
  let dir: string | null = null;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = null;
  });

  it("the service waits for NTP, then the first press is today's first number", async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'beonho-bootclock-'));
    const config = bootConfig();
    // yesterday: two tickets, the day left open (nobody closes it: the next date rolls it)
    const yesterday = new Clock(NINE_AM - 24 * 3_600_000);
    const first = await bootDaemon({ config, dataDir: dir, clock: yesterday });
    first.hw.buttons.press('resident');
    first.hw.buttons.press('resident');
    await first.settle();
    expect(first.hw.printer.jobs.map((j) => j.number)).toEqual(['1001', '1002']);
    await first.stop();

    // this morning: the Pi boots at the time saved at yesterday's shutdown, NTP answers 3 s later
    const clock = new Clock(NINE_AM - 24 * 3_600_000 + 9 * 3_600_000);
    let synced = false;
    let mono = 0;
    const sent: string[][] = [];
    const b = await bootDaemon({
      config,
      dataDir: dir,
      clock,
      monotonic: () => mono,
      clockSynchronized: () => synced,
      systemd: { env: { NOTIFY_SOCKET: '/run/systemd/notify' }, sender: { send: async (l) => void sent.push(l) } },
      bootClock: {
        systemUptimeSec: () => 35,
        sleep: async (ms) => {
          mono += ms;
          if (mono >= 3000 && !synced) {
            synced = true;
            clock.t = NINE_AM - 10 * 60_000; // 08:50 today
          }
        },
      },
    });
    try {
      expect(sent[0]).toEqual(['STATUS=waiting up to 60 s for NTP before opening the queue']);
      b.hw.buttons.press('resident');
      await b.settle();
      expect(b.hw.printer.jobs.map((j) => [j.day, j.number])).toEqual([[DAY, '1001']]);
      const health = await b.daemon.parts.health!.current();
      expect(health.components.clock).toMatchObject({ connected: true, synchronised: true });
    } finally {
      await b.stop();
    }
  });

  it('a stop during the wait ends the start without opening anything', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'beonho-bootclock-'));
    const { logger } = captureLogger();
    let polls = 0;
    const daemon = buildDaemon(bootConfig(), {
      dataDir: dir,
      logger,
      clockSynchronized: () => false,
      systemd: { env: { NOTIFY_SOCKET: '/run/systemd/notify' }, sender: { send: async () => {} } },
      bootClock: {
        systemUptimeSec: () => 35,
        hasState: () => true,
        sleep: async () => {
          polls += 1;
          if (polls === 2) daemon.cancelStart();
        },
      },
    });
    await daemon.start();
    expect(polls).toBe(2);
    expect(() => daemon.parts).toThrow(/not been started/);
    await daemon.stop();
  });
});
