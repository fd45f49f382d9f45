// The passing of time as a feature: the queue hears a `tick` at start and now and then, so a new
// date opens its day even when nobody acts (the board shows the new day at midnight) and cut-offs
// are announced as they pass. The day itself rolls in the queue (queue/service.ts), before the
// first action of a new date, whoever acts: this timer is not what keeps yesterday's numbering
// from running past midnight. Started first, so the day is open before the board, the bridge and
// the inputs start.
import type { Logger } from 'pino';
import type { Extension } from './extension.ts';
import type { QueueService } from './queue/service.ts';

export const TICK_MS = 15_000;

export interface DayRollOptions {
  queue: QueueService;
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
  }
}
