// The retained device status: presence (online + session, the birth/death pair with the will),
// version, hardware health from the bus, and the outbox figures for central.
import type { Logger } from 'pino';
import type { ComponentHealth } from '../../device/ports/health.ts';
import type { OutboxReader } from '../../device/store/outbox-types.ts';
import type { DeviceHealth } from '../../device/health.ts';
import type { DeviceStatus, OutboxStatus, SystemStatus } from '../contract/types.ts';
import type { Topic } from '../contract/topics.ts';
import type { Sink } from '../sink.ts';
import { Coalescer, realTimers, type Timers } from './coalescer.ts';

export interface StatusPublisherOptions {
  office: string;
  device: string;
  version: string;
  startedAt: string;
  topic: Topic<'status'>;
  isoNow: () => string;
  /** an instant as office-local ISO 8601, as `at` is: the components' `lastErrorAt` (drivers
   * stamp theirs in UTC or local; central gets one form) */
  localIso: (ms: number) => string;
  /** the cursor whose backlog central cares about (the uplink's, else the broker's) */
  cursor: OutboxReader | null;
  /** session number per sink name, set when the sink connects */
  session: (sink: Sink) => number;
  sinks: Sink[];
  logger: Logger;
  intervalSec: number;
  timers?: Timers;
  /** the daemon's health collector (HealthExtension.current), for `system` and more components */
  deviceHealth?: () => Promise<DeviceHealth>;
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

/** The death half of the presence pair, as the broker publishes it when the link dies. */
export function willPayload(office: string, device: string, session: number): DeviceStatus {
  return { v: 1, office, device, online: false, session };
}

/** The components with `lastErrorAt` as office-local time, like every other time in a status:
 * drivers stamp theirs in UTC or local, central reads one form. */
export function localErrorTimes(
  hardware: Record<string, ComponentHealth>,
  localIso: (ms: number) => string,
): Record<string, ComponentHealth> {
  const out: Record<string, ComponentHealth> = {};
  for (const [name, h] of Object.entries(hardware)) {
    const ms = h.lastErrorAt === null ? Number.NaN : Date.parse(h.lastErrorAt);
    out[name] = Number.isFinite(ms) ? { ...h, lastErrorAt: localIso(ms) } : h;
  }
  return out;
}

export class StatusPublisher {
  private readonly hardware: Record<string, ComponentHealth> = {};
  private readonly coalescer: Coalescer;
  private ticker: NodeJS.Timeout | null = null;
  private lastOutbox = '';
  private chain: Promise<void> = Promise.resolve();
  /** stopped (the clean stop's online:false is published or on its way): no status after it */
  private stopped = false;

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

  async build(sink: Sink, online: boolean): Promise<DeviceStatus> {
    const outbox = this.o.cursor ? outboxStatus(this.o.cursor) : undefined;
    let system: SystemStatus | undefined;
    let components: Record<string, ComponentHealth> = {};
    if (this.o.deviceHealth) {
      try {
        const h = await this.o.deviceHealth();
        system = {
          node: h.node,
          uptimeSec: h.uptimeSec,
          systemUptimeSec: h.systemUptimeSec,
          diskFreePct: h.disk ? h.disk.freePct : null,
          rssBytes: h.memory.rssBytes,
          cpuTempC: h.cpuTempC,
          bytesPerTicket: h.writes.bytesPerTicket,
        };
        components = h.components;
      } catch (err) {
        this.o.logger.debug({ err: String(err) }, 'device health unavailable for status');
      }
    }
    return {
      v: 1,
      office: this.o.office,
      device: this.o.device,
      online,
      session: this.o.session(sink),
      at: this.o.isoNow(),
      version: this.o.version,
      startedAt: this.o.startedAt,
      hardware: localErrorTimes({ ...components, ...this.hardware }, this.o.localIso),
      ...(system ? { system } : {}),
      ...(outbox ? { outbox } : {}),
    };
  }

  /** The death half of the pair on a clean stop (the will covers the unclean one). */
  async offline(): Promise<void> {
    this.stop();
    await Promise.all(
      this.o.sinks
        .filter((s) => s.connected())
        .map(async (s) => {
          const status = await this.build(s, false);
          // A half-dead link must not hold the shutdown: the will covers what this misses.
          const sent = s.publish(this.o.topic, status, { qos: 1, retain: true }).catch(() => undefined);
          let timer: NodeJS.Timeout | undefined;
          const timeout = new Promise<void>((resolve) => {
            timer = setTimeout(resolve, 2000);
          });
          await Promise.race([sent, timeout]);
          clearTimeout(timer);
        }),
    );
  }

  stop(): void {
    this.stopped = true;
    this.coalescer.cancel();
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
  }

  private publishAll(): void {
    for (const sink of this.o.sinks) this.publishTo(sink, true);
  }

  private publishTo(sink: Sink, online: boolean): void {
    if (this.stopped || !sink.connected()) return;
    // Statuses are built asynchronously; chain them per publisher so they leave in order.
    this.chain = this.chain.then(async () => {
      if (this.stopped || !sink.connected()) return;
      const status = await this.build(sink, online);
      // A stop while this one was built: the stop's online:false is the last word, and an
      // online:true retained after it would show a stopped device present until its next start.
      if (this.stopped) return;
      if (status.outbox) this.lastOutbox = JSON.stringify(status.outbox);
      // Not awaited: the order is fixed once publish() is called; a PUBACK must not hold the chain.
      sink.publish(this.o.topic, status, { qos: 1, retain: true }).catch((err: unknown) => {
        this.o.logger.debug({ sink: sink.name, err: String(err) }, 'status publish failed');
      });
    });
  }
}
