// A Pi has no battery-backed clock: at boot it runs on the time fake-hwclock saved at the last
// shutdown (yesterday evening, for an office switched off at night) until NTP answers, usually
// seconds after the network is up. The queue cannot tell that time from the real one (clock.ts
// trusts a reading later than its last event), so tickets pressed in those seconds would continue
// yesterday's numbering and be cancelled a moment later, when the synchronised clock rolls the
// day. So a service started just after a boot, on a clock not yet synchronised, waits a little for
// NTP before it opens the queue: the dispenser and the board start with the right day. If NTP does
// not answer in that time (a network that blocks it), the daemon starts anyway and says so: an
// office without tickets is worse than one on yesterday's day, and clock-status.ts keeps the
// problem in the device status until NTP answers.
import type { Logger } from 'pino';
import type { DaemonCode } from './error-codes.ts';

/** A service started later than this after the boot is a restart: its clock, if still not
 * synchronised, will not be by waiting (and the day on disk is the right one). */
export const BOOT_WINDOW_SEC = 600;

export const CLOCK_UNSYNCHRONISED: DaemonCode = 'clock-unsynchronised';

export interface BootClockWaitOptions {
  /** the most to wait; 0 turns the wait off (`policy.bootClockWaitSeconds`) */
  maxWaitMs: number;
  synchronized: () => boolean;
  /** whether systemd-timesyncd keeps the time here (clock.ts's timesyncdInUse): without it the
   * flag never comes, and there is nothing to wait for */
  timesyncd: () => boolean;
  /** seconds since the machine booted */
  systemUptimeSec: () => number;
  /** whether the data dir holds a queue: a fresh one has no day to continue, so nothing to wait for */
  hasState: () => boolean;
  logger: Logger;
  /** told while waiting, for `systemctl status` (systemd's STATUS=) */
  status?: (text: string) => void;
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
  monotonic?: () => number;
  /** asked between polls: a stop signal ends the wait */
  stopping?: () => boolean;
}

export type BootClockOutcome =
  | 'synchronised'
  | 'no-timesyncd'
  | 'not-booting'
  | 'no-state'
  | 'off'
  | 'timed-out'
  | 'stopped';

export async function waitForBootClock(o: BootClockWaitOptions): Promise<BootClockOutcome> {
  if (o.synchronized()) return 'synchronised';
  if (o.maxWaitMs <= 0) return 'off';
  if (!o.timesyncd()) return 'no-timesyncd';
  if (o.systemUptimeSec() > BOOT_WINDOW_SEC) return 'not-booting';
  if (!o.hasState()) return 'no-state';
  const log = o.logger.child({ component: 'clock' });
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const mono = o.monotonic ?? (() => performance.now());
  const pollMs = o.pollMs ?? 500;
  const started = mono();
  const waitSec = Math.round(o.maxWaitMs / 1000);
  log.info(
    { maxWaitSec: waitSec },
    'just booted and the clock is not synchronised yet: waiting for NTP before opening the queue',
  );
  o.status?.(`waiting up to ${waitSec} s for NTP before opening the queue`);
  while (mono() - started < o.maxWaitMs) {
    if (o.stopping?.()) return 'stopped';
    await sleep(pollMs);
    if (o.synchronized()) {
      log.info({ waitedMs: Math.round(mono() - started) }, 'the clock is synchronised: opening the queue');
      return 'synchronised';
    }
  }
  log.warn(
    { code: CLOCK_UNSYNCHRONISED, waitedSec: waitSec },
    'NTP did not answer after the boot: starting on the saved time, so the queue continues the day of its last event until NTP answers (let UDP 123 out, or set the city NTP server in /etc/systemd/timesyncd.conf)',
  );
  return 'timed-out';
}
