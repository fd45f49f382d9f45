// The passing of time as a feature: the queue hears a `tick` at start and now and then, so a new
// date opens its day even when nobody acts (the board shows the new day at midnight) and cut-offs
// are announced as they pass. The day itself rolls in the queue (queue/service.ts), before the
// first action of a new date, whoever acts: this timer is not what keeps yesterday's numbering
// from running past midnight. Started first, so the day is open before the board, the bridge and
// the inputs start.
//
// It also says when the queue's day is later than the office's date (a clock once set months ahead,
// by hand before a restart or by a bad NTP server, opened that day): the queue keeps it, numbering
// on and its cut-offs not applied, until the real date passes it, and nothing else fails. The
// device status shows it (component `day`, `day-ahead-of-clock`), so central sees it.
import type { Logger } from 'pino';
import type { Bus } from './bus.ts';
import type { Extension } from './extension.ts';
import type { QueueService } from './queue/service.ts';
import { localTime } from './util/time.ts';

export const DAY_AHEAD = 'day-ahead-of-clock';

export const TICK_MS = 15_000;

export interface DayRollOptions {
  queue: QueueService;
  logger: Logger;
  /** how often time is looked at; default 15 s */
  tickMs?: number;
  /** to say a day ahead of the clock in the device status: the bus, the queue's clock, the zone */
  bus: Bus;
  now: () => number;
  timeZone: string;
}

export class DayRoll implements Extension {
  readonly name = 'day-roll';
  private timer: NodeJS.Timeout | null = null;
  /** the queue's day while it is later than the office's date, else null */
  private ahead: string | null = null;

  constructor(private readonly opts: DayRollOptions) {}

  async start(): Promise<void> {
    // A failure here (the disk) fails the start: the daemon must not run on a day it could not open.
    await this.time();
    this.timer = setInterval(() => void this.tick(), this.opts.tickMs ?? TICK_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One tick of time: a new day when the office's date changed (policy.autoOpen and a trusted
   * clock, see clock.ts), and cut-offs announced as they pass. Exposed for tests with an
   * injected clock. */
  async tick(): Promise<void> {
    try {
      await this.time();
    } catch (err) {
      this.opts.logger.error({ err }, 'tick failed');
    }
  }

  private async time(): Promise<void> {
    await this.opts.queue.execute({ type: 'tick' }, { source: 'timer' });
    this.checkAhead();
  }

  private checkAhead(): void {
    const { bus, now, timeZone, logger } = this.opts;
    const day = this.opts.queue.state().day;
    const today = localTime(now(), timeZone).date;
    const ahead = day !== null && day > today ? day : null;
    if (ahead === this.ahead) return;
    this.ahead = ahead;
    if (ahead) {
      logger.warn(
        { code: DAY_AHEAD, day: ahead, today },
        "the queue's day is later than today's date (the clock was once ahead): its numbering goes on, its cut-offs are not applied, and no earlier day opens until that date; see docs/deploy.md, 'The clock'",
      );
    } else logger.info({ code: DAY_AHEAD, today }, "the queue's day is no longer ahead of the clock");
    bus.emit('healthChanged', {
      component: 'day',
      health: ahead
        ? { connected: false, lastError: DAY_AHEAD, lastErrorAt: new Date(now()).toISOString(), day: ahead, today }
        : { connected: true, lastError: null, lastErrorAt: null, day, today },
    });
  }
}
