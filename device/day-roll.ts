// The passing of time as a feature: a new day opens when the office's date changes (and the clock
// can be trusted, see clock.ts), and the queue hears a `tick` now and then so cut-offs are
// announced as they pass. Started first, so the day is open before the board, the bridge and the
// inputs start; a press never meets yesterday's queue.
import type { Logger } from 'pino';
import type { ClockGuard } from './clock.ts';
import type { Config } from './config/schema.ts';
import type { Extension } from './extension.ts';
import type { QueueService } from './queue/service.ts';

export const TICK_MS = 15_000;

export interface DayRollOptions {
  config: Config;
  queue: QueueService;
  clock: Pick<ClockGuard, 'shouldOpenDay'>;
  logger: Logger;
  /** how often time is looked at; default 15 s */
  tickMs?: number;
}

export class DayRoll implements Extension {
  readonly name = 'day-roll';
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: DayRollOptions) {}

  async start(): Promise<void> {
    // A failure here (the disk) fails the start: the daemon must not run on a day it could not open.
    await this.roll();
    this.timer = setInterval(() => void this.tick(), this.opts.tickMs ?? TICK_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One tick of time: a new day when the office's date changed, and cut-offs announced as they
   * pass. Exposed for tests with an injected clock. */
  async tick(): Promise<void> {
    try {
      await this.roll();
      await this.opts.queue.execute({ type: 'tick' }, { source: 'timer' });
    } catch (err) {
      this.opts.logger.error({ err }, 'tick failed');
    }
  }

  private async roll(): Promise<void> {
    const { config, queue, clock } = this.opts;
    if (!config.policy.autoOpen) return;
    if (clock.shouldOpenDay(queue.state().day, config.office.timeZone)) {
      await queue.execute({ type: 'day.open' }, { source: 'timer' });
    }
  }
}
