// The simulated central of the soak: one mqtt.js client on the real broker, with a persistent
// session (QoS 1), that sends commands at a steady rate, resends a command with the same id when
// no result came within its retry timeout (doubling, up to a ceiling: the retry rule of
// docs/soak.md), and records every event, result and retained state it receives for the oracle.
import mqtt, { type MqttClient } from 'mqtt';
import type { ObservedEvent, ObservedResult, SentCommand } from './oracle.ts';
import type { Rng } from './prng.ts';

export interface CentralOptions {
  username: string;
  password: string;
  office: string;
  rng: Rng;
  /** first resend after this long without a result, then doubling; 0: never resend */
  retryMs: number;
  retryMaxMs: number;
}

interface Pending extends SentCommand {
  payload: string;
  firstSentAt: number;
  nextRetryAt: number;
  answeredAt: number | null;
  /** PUBACKs from the broker (the broker accepted the command) */
  accepted: number;
}

export interface Traffic {
  /** commands per second */
  rate: number;
  /** online ticket services */
  services: string[];
  /** counters central calls numbers at */
  counters: string[];
}

export class Central {
  readonly events: ObservedEvent[] = [];
  readonly results: ObservedResult[] = [];
  readonly commands = new Map<string, Pending>();
  /** seq of the latest retained state */
  stateSeq: number | null = null;
  /** newest session the device announced online */
  session = 0;
  private client: MqttClient | null = null;
  private readonly outstanding = new Set<string>();
  private next = 1;
  private maxSeq = 0;
  private readonly seqs = new Set<number>();
  private trafficTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private onlineWaiters: Array<{ after: number; resolve: () => void }> = [];
  private readonly topic: { cmd: string; events: string; result: string; state: string; status: string };

  constructor(private readonly o: CentralOptions) {
    const base = `beonho/v1/${o.office}`;
    this.topic = {
      cmd: `${base}/cmd`,
      events: `${base}/events`,
      result: `${base}/cmd/result`,
      state: `${base}/state`,
      status: `${base}/devices/+/status`,
    };
  }

  async connect(url: string): Promise<void> {
    const client = await mqtt.connectAsync(url, {
      username: this.o.username,
      password: this.o.password,
      clientId: 'soak-central',
      clean: false,
      protocolVersion: 4,
      reconnectPeriod: 500,
    });
    this.client = client;
    client.on('message', (topic, payload) => this.receive(topic, payload));
    await client.subscribeAsync([this.topic.events, this.topic.result, this.topic.state, this.topic.status], {
      qos: 1,
    });
    this.retryTimer = setInterval(() => this.resendDue(), 100);
  }

  /** Resolves when the device announces a session newer than `after` (it is connected). */
  online(after: number): Promise<void> {
    if (this.session > after) return Promise.resolve();
    return new Promise((resolve) => this.onlineWaiters.push({ after, resolve }));
  }

  startTraffic(t: Traffic): void {
    const fire = (): void => {
      const r = this.o.rng.next();
      if (r < 0.75) {
        const n = this.next;
        this.send({
          type: 'ticket.issue',
          service: this.o.rng.pick(t.services),
          channel: 'online',
          ref: `soak${n.toString(36)}`,
        });
      } else if (r < 0.95) this.send({ type: 'counter.next', counter: this.o.rng.pick(t.counters) });
      else this.send({ type: 'counter.recall', counter: this.o.rng.pick(t.counters) });
      // Poisson arrivals: exponential gaps, mean 1/rate
      const gap = (-Math.log(1 - this.o.rng.next()) * 1000) / t.rate;
      this.trafficTimer = setTimeout(fire, Math.min(gap, 10_000 / t.rate));
    };
    fire();
  }

  stopTraffic(): void {
    if (this.trafficTimer) clearTimeout(this.trafficTimer);
    this.trafficTimer = null;
  }

  /** Commands without a settled result yet. */
  unanswered(): number {
    return this.outstanding.size;
  }

  /** The highest seq up to which every event arrived. */
  contiguousSeq(): number {
    return this.maxSeq;
  }

  sentCommands(): SentCommand[] {
    return [...this.commands.values()].map(({ id, type, ref, attempts }) => ({
      id,
      type,
      attempts,
      ...(ref !== undefined ? { ref } : {}),
    }));
  }

  /** Latency from first send to first settled result, ms, of answered commands. */
  latencies(): number[] {
    return [...this.commands.values()].filter((c) => c.answeredAt !== null).map((c) => c.answeredAt! - c.firstSentAt);
  }

  acceptedByBroker(): number {
    return [...this.commands.values()].filter((c) => c.accepted > 0).length;
  }

  async close(): Promise<void> {
    this.stopTraffic();
    if (this.retryTimer) clearInterval(this.retryTimer);
    this.retryTimer = null;
    await this.client?.endAsync(true);
    this.client = null;
  }

  private send(body: Record<string, unknown> & { type: string; ref?: string }): void {
    const id = `soak-${this.next++}`;
    const payload = JSON.stringify({ id, ...body });
    const now = Date.now();
    const c: Pending = {
      id,
      type: body.type,
      attempts: 0,
      payload,
      firstSentAt: now,
      nextRetryAt: now,
      answeredAt: null,
      accepted: 0,
      ...(body.ref !== undefined ? { ref: body.ref } : {}),
    };
    this.commands.set(id, c);
    this.outstanding.add(id);
    this.publish(c);
  }

  private publish(c: Pending): void {
    c.attempts++;
    c.nextRetryAt =
      this.o.retryMs > 0
        ? Date.now() + Math.min(this.o.retryMs * 2 ** (c.attempts - 1), this.o.retryMaxMs)
        : Number.POSITIVE_INFINITY;
    this.client?.publish(this.topic.cmd, c.payload, { qos: 1 }, (err) => {
      if (!err) c.accepted++;
    });
  }

  private resendDue(): void {
    const now = Date.now();
    for (const id of this.outstanding) {
      const c = this.commands.get(id)!;
      if (c.nextRetryAt <= now) this.publish(c);
    }
  }

  private receive(topic: string, payload: Buffer): void {
    let m: Record<string, unknown>;
    try {
      m = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
    } catch {
      return;
    }
    if (topic === this.topic.events) {
      const t = m.ticket as Record<string, unknown> | undefined;
      const e: ObservedEvent = { seq: m.seq as number, id: m.id as string, type: m.type as string, at: m.at as string };
      if (typeof m.day === 'string') e.day = m.day;
      if (t)
        e.ticket = {
          number: String(t.number),
          service: String(t.service),
          channel: String(t.channel),
          ...(typeof t.ref === 'string' ? { ref: t.ref } : {}),
        };
      this.events.push(e);
      this.seqs.add(e.seq);
      while (this.seqs.has(this.maxSeq + 1)) this.maxSeq++;
    } else if (topic === this.topic.result) {
      const err = m.error as { code?: string } | undefined;
      const ticket = (m.result as { ticket?: { number?: string } } | undefined)?.ticket;
      const r: ObservedResult = { id: typeof m.id === 'string' ? m.id : null, ok: m.ok === true };
      if (err?.code) r.code = err.code;
      if (ticket?.number !== undefined) r.number = String(ticket.number);
      this.results.push(r);
      const c = r.id === null ? undefined : this.commands.get(r.id);
      if (c && (r.ok || r.code !== 'internal-error') && c.answeredAt === null) {
        c.answeredAt = Date.now();
        this.outstanding.delete(c.id);
      }
    } else if (topic === this.topic.state) {
      if (typeof m.seq === 'number') this.stateSeq = m.seq;
    } else if (m.online === true && typeof m.session === 'number' && m.session > this.session) {
      this.session = m.session;
      this.onlineWaiters = this.onlineWaiters.filter((w) => {
        if (this.session <= w.after) return true;
        w.resolve();
        return false;
      });
    }
  }
}
