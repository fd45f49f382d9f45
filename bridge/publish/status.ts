// The retained device status: presence (online + session, the birth/death pair with the will),
// version, hardware health from the bus, and the outbox figures for central.
import type { Logger } from 'pino';
import type { ComponentHealth } from '../../device/ports/health.ts';
import type { OutboxReader } from '../../device/store/outbox-types.ts';
import type { DeviceStatus, OutboxStatus } from '../contract/types.ts';
import type { Sink } from '../sink.ts';
import { Coalescer, realTimers, type Timers } from './coalescer.ts';

export interface StatusPublisherOptions {
  office: string;
  device: string;
  version: string;
  startedAt: string;
  topic: string;
  isoNow: () => string;
  /** the cursor whose backlog central cares about (the uplink's, else the broker's) */
  cursor: OutboxReader | null;
  /** session number per sink name, set when the sink connects */
  session: (sink: Sink) => number;
  sinks: Sink[];
  logger: Logger;
  intervalSec: number;
  timers?: Timers;
}

export function outboxStatus(cursor: OutboxReader): OutboxStatus {
  const lastSeq = cursor.lastSeq();
  const ackedSeq = Math.min(cursor.acked(), lastSeq);
  const dropped = cursor.dropped();
  const from = Math.max(ackedSeq, dropped.throughSeq);
  return {
    backlog: Math.max(0, lastSeq - from),
    lastSeq,
    ackedSeq,
    dropped: dropped.count,
    droppedThroughSeq: dropped.throughSeq,
  };
}

export function willPayload(office: string, device: string, session: number): string {
  const s: DeviceStatus = { v: 1, office, device, online: false, session };
  return JSON.stringify(s);
}

export class StatusPublisher {
  private readonly hardware: Record<string, ComponentHealth> = {};
  private readonly coalescer: Coalescer;
  private ticker: NodeJS.Timeout | null = null;
  private lastOutbox = '';

  constructor(private readonly o: StatusPublisherOptions) {
    this.coalescer = new Coalescer(() => this.publishAll(), 1000, o.timers ?? realTimers);
    for (const sink of o.sinks) sink.onConnect(() => this.publishTo(sink, true));
  }

  start(): void {
    // Outbox figures change with every event; republish them on a slow clock, only when changed.
    this.ticker = setInterval(() => {
      const now = this.o.cursor ? JSON.stringify(outboxStatus(this.o.cursor)) : '';
      if (now !== this.lastOutbox) this.coalescer.request();
    }, this.o.intervalSec * 1000);
    this.ticker.unref();
  }

  health(component: string, health: ComponentHealth): void {
    this.hardware[component] = health;
    this.coalescer.request();
  }

  now(): void {
    this.coalescer.cancel();
    this.publishAll();
  }

  build(sink: Sink, online: boolean): DeviceStatus {
    const outbox = this.o.cursor ? outboxStatus(this.o.cursor) : undefined;
    return {
      v: 1,
      office: this.o.office,
      device: this.o.device,
      online,
      session: this.o.session(sink),
      at: this.o.isoNow(),
      version: this.o.version,
      startedAt: this.o.startedAt,
      hardware: { ...this.hardware },
      ...(outbox ? { outbox } : {}),
    };
  }

  /** The death half of the pair on a clean stop (the will covers the unclean one). */
  async offline(): Promise<void> {
    this.stop();
    await Promise.all(
      this.o.sinks
        .filter((s) => s.connected())
        .map((s) =>
          s
            .publish(this.o.topic, JSON.stringify(this.build(s, false)), { qos: 1, retain: true })
            .catch(() => undefined),
        ),
    );
  }

  stop(): void {
    this.coalescer.cancel();
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
  }

  private publishAll(): void {
    for (const sink of this.o.sinks) this.publishTo(sink, true);
  }

  private publishTo(sink: Sink, online: boolean): void {
    if (!sink.connected()) return;
    const status = this.build(sink, online);
    if (status.outbox) this.lastOutbox = JSON.stringify(status.outbox);
    sink.publish(this.o.topic, JSON.stringify(status), { qos: 1, retain: true }).catch((err: unknown) => {
      this.o.logger.debug({ sink: sink.name, err: String(err) }, 'status publish failed');
    });
  }
}
