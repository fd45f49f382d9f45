// The retained `state` topic: one snapshot per change, coalesced under bursts, always ending on
// the newest. A sink that (re)connects gets the snapshot at once: a broker restart may have lost
// the retained copy.
import type { Logger } from 'pino';
import type { Snapshot } from '../../device/queue/snapshot-types.ts';
import type { Topic } from '../contract/topics.ts';
import type { Sink } from '../sink.ts';
import { Coalescer, realTimers, type Timers } from './coalescer.ts';

export interface StatePublisherOptions {
  sinks: Sink[];
  snapshot: () => Snapshot;
  topic: Topic<'state'>;
  minIntervalMs: number;
  logger: Logger;
  timers?: Timers;
}

export class StatePublisher {
  private readonly coalescer: Coalescer;
  published = 0;

  constructor(private readonly o: StatePublisherOptions) {
    this.coalescer = new Coalescer(() => this.publishAll(), o.minIntervalMs, o.timers ?? realTimers);
    for (const sink of o.sinks) sink.onConnect(() => this.publishTo(sink, this.o.snapshot()));
  }

  /** The queue changed. */
  request(): void {
    this.coalescer.request();
  }

  /** Publish now, skipping the coalescing (state.publish command). */
  now(): void {
    this.coalescer.cancel();
    this.publishAll();
  }

  stop(): void {
    this.coalescer.cancel();
  }

  private publishAll(): void {
    const snap = this.o.snapshot();
    for (const sink of this.o.sinks) this.publishTo(sink, snap);
  }

  private publishTo(sink: Sink, snap: Snapshot): void {
    if (!sink.connected()) return;
    this.published++;
    sink.publish(this.o.topic, snap, { qos: 1, retain: true }).catch((err: unknown) => {
      // The next connect republishes the newest snapshot; nothing to retry here.
      this.o.logger.debug({ sink: sink.name, err: String(err) }, 'state publish failed');
    });
  }
}
