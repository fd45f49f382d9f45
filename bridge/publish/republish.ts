// The retained `state` and `status` again on a slow clock, changed or not. A clustered broker may
// keep a retained message only on the node it was published through (RabbitMQ 3.10 does, and
// delivers it only to a subscription without wildcards): a subscriber on another node, or on a
// wildcard, sees an office only when it publishes. Central asks with `state.publish` when it
// connects (docs/mqtt.md, "Clustered brokers"); this clock serves whoever cannot ask (a reader
// without the central role, an office central does not know yet) within one interval.
import type { Timers } from './coalescer.ts';

export interface RepublisherOptions {
  /** 0 turns the clock off */
  intervalSec: number;
  /** what to publish again (the state's and the status's `now()`) */
  jobs: Array<() => void>;
  /** the first tick comes after a random share of the interval, so a fleet that starts together
   * (a city's power back) does not republish in step */
  random?: () => number;
  timers?: Pick<Timers, 'setTimeout' | 'clearTimeout'>;
}

const realTimers: Pick<Timers, 'setTimeout' | 'clearTimeout'> = {
  // unref'd: the clock never keeps a stopping daemon alive
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export class Republisher {
  private timer: unknown = null;
  ticks = 0;

  constructor(private readonly o: RepublisherOptions) {}

  start(): void {
    if (this.o.intervalSec <= 0 || this.timer !== null) return;
    const ms = this.o.intervalSec * 1000;
    const first = Math.max(1, Math.round(ms * (this.o.random ?? Math.random)()));
    this.schedule(first, ms);
  }

  stop(): void {
    if (this.timer !== null) (this.o.timers ?? realTimers).clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(delay: number, every: number): void {
    this.timer = (this.o.timers ?? realTimers).setTimeout(() => {
      this.ticks++;
      for (const job of this.o.jobs) job();
      this.schedule(every, every);
    }, delay);
  }
}
