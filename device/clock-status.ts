// The clock's part of the device status. A Pi whose NTP never answers (a network that blocks UDP
// 123, a timesyncd.conf pointing nowhere) runs on the time saved at its last shutdown: its queue
// keeps the day of its last event (clock.ts will not follow an unsynchronised step), so numbers
// run on across days and the board's date is wrong, with nothing else failing. The city's IT team
// must see that from central's status topic and `npm run status`, not from a citizen's complaint.
// Runs where the daemon is a systemd service (the flag it reads is systemd-timesyncd's).
import type { Logger } from 'pino';
import { CLOCK_UNSYNCHRONISED } from './boot-clock-wait.ts';
import type { Extension, FeatureContext } from './extension.ts';
import type { ComponentHealth } from './ports/health.ts';

/** Unsynchronised for this long before it is logged: a boot's NTP answers within seconds. */
export const CLOCK_GRACE_MS = 3 * 60_000;
export const CLOCK_CHECK_MS = 15_000;

export interface ClockStatusOptions {
  synchronized: () => boolean;
  /** the last step the disciplined clock ignored, ms (ClockGuard.lastIgnoredJumpMs); 0 when none */
  ignoredStepMs: () => number;
  monotonic?: () => number;
  everyMs?: number;
  /** the boot's wait already said NTP did not answer: not again for this episode */
  alreadySaid?: boolean;
}

export interface ClockStatus extends Extension {
  /** one look at the clock (the timer's; exposed for tests) */
  check(): void;
}

export function createClockStatus(ctx: FeatureContext, o: ClockStatusOptions): ClockStatus {
  const log: Logger = ctx.logger.child({ component: 'clock' });
  const mono = o.monotonic ?? (() => performance.now());
  let timer: NodeJS.Timeout | null = null;
  let last: { synced: boolean; stepSec: number } | null = null;
  /** when the current unsynchronised episode began (monotonic) and its wall time for the status */
  let since: { mono: number; iso: string } | null = null;
  let said = o.alreadySaid ?? false;

  const report = (synced: boolean, stepSec: number): void => {
    const health: ComponentHealth = synced
      ? { connected: true, lastError: null, lastErrorAt: null, synchronised: true }
      : {
          connected: false,
          lastError: CLOCK_UNSYNCHRONISED,
          lastErrorAt: since?.iso ?? null,
          synchronised: false,
          // how far the system's time is from the queue's (a step not followed); 0 when none
          ignoredStepSec: stepSec,
        };
    ctx.bus.emit('healthChanged', { component: 'clock', health });
  };

  const check = (): void => {
    const synced = o.synchronized();
    const stepSec = synced ? 0 : Math.round(o.ignoredStepMs() / 1000);
    if (!synced && since === null) since = { mono: mono(), iso: new Date(ctx.now()).toISOString() };
    if (!synced && !said && mono() - since!.mono >= CLOCK_GRACE_MS) {
      said = true;
      log.warn(
        { code: CLOCK_UNSYNCHRONISED, ignoredStepSec: stepSec },
        'the clock is not synchronised (NTP does not answer): the queue keeps the day of its last event until it does; let UDP 123 out, or set the city NTP server in /etc/systemd/timesyncd.conf',
      );
    }
    if (synced && since !== null) {
      if (said) log.info({ code: CLOCK_UNSYNCHRONISED }, 'the clock is synchronised again');
      since = null;
      said = false;
    }
    // reported when it changes: the status keeps the last report between changes
    if (last === null || synced !== last.synced || stepSec !== last.stepSec) report(synced, stepSec);
    last = { synced, stepSec };
  };

  return {
    name: 'clock-status',
    check,
    async start() {
      check();
      timer = setInterval(check, o.everyMs ?? CLOCK_CHECK_MS);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
}
