// The simulated central's one MQTT client: it reads every office through the public contract, as a
// real integration would, from its own broker or from a real cluster (a list of node URLs; mqtt.js
// moves to the next node when one fails). What it keeps per office: the newest state, each
// device's presence (a will of an older session never overrides a newer online status), events
// deduplicated by seq with gaps counted, and the waiting lines folded from the events (./tickets.ts).
//
// A cluster may give a new subscriber no retained copy (RabbitMQ 3.10 keeps it on the node it was
// published through, and gives it to no wildcard subscription): on every connect central asks each
// office it knows with `state.publish`, and asks an office it first hears of (docs/mqtt.md,
// "Clustered brokers").
import type { Logger } from 'pino';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { officeTopics, parseTopic } from '../../bridge/contract/topics.ts';
import type { CommandResult, DeviceStatus } from '../../bridge/contract/types.ts';
import type { Snapshot } from '../../device/queue/snapshot-types.ts';
import { eventProblem, resultProblem, stateProblem } from '../../device/satellite/payloads.ts';
import type { QueueEvent } from '../../device/queue/types.ts';
import { TicketBook } from './tickets.ts';

export interface OfficeView {
  id: string;
  state: Snapshot | null;
  devices: Map<string, DeviceStatus>;
  /** the highest seq received */
  lastSeq: number | null;
  /** holes in the seq sequence (each hole once) and the events still missing from them */
  gaps: number;
  missing: number;
  /** events that came after a later one and filled their hole (a cluster may reorder across a
   * failover: central dedupes by seq, not by the highest seq seen) */
  late: number;
  /** repeats dropped (at-least-once delivery after a link cut) */
  duplicates: number;
  /** the seqs of the holes (the newest 10,000) */
  holes: Set<number>;
  /** the newest events, newest first */
  recent: QueueEvent[];
  book: TicketBook;
}

export interface CentralReaderOptions {
  /** mqtt://host:port, one per node of a cluster */
  urls: string[];
  username: string;
  password: string;
  /** a fixed id: the session (and the events queued while central was away) survives a restart */
  clientId?: string;
  /** offices to ask for their state on every connect (central's own list of its offices) */
  offices?: string[];
  logger: Logger;
  /** mqtt.js options for tests and the benchmark (keepalive, reconnectPeriod) */
  mqttOptions?: Partial<IClientOptions>;
}

type Listener<T extends unknown[]> = (...args: T) => void;

const RECENT = 12;
/** holes remembered per office: a late event older than these counts as a repeat */
const HOLES = 10_000;

export class CentralReader {
  readonly offices = new Map<string, OfficeView>();
  /** every message received, by topic kind, repeats included (the benchmark's broker rate) */
  readonly counts: Record<'state' | 'events' | 'status' | 'cmd/result', number> = {
    state: 0,
    events: 0,
    status: 0,
    'cmd/result': 0,
  };
  /** their payload bytes, by topic kind */
  readonly bytes: Record<'state' | 'events' | 'status' | 'cmd/result', number> = {
    state: 0,
    events: 0,
    status: 0,
    'cmd/result': 0,
  };
  private client: MqttClient | null = null;
  private connected = false;
  private connections = 0;
  private asked = new Set<string>();
  private readonly known: Set<string>;
  private readonly pending = new Map<string, { resolve: (r: CommandResult) => void; timer: NodeJS.Timeout }>();
  private readonly officeFns: Array<Listener<[OfficeView]>> = [];
  private readonly eventFns: Array<Listener<[OfficeView, QueueEvent]>> = [];
  private readonly connFns: Array<Listener<[boolean]>> = [];
  private n = 0;

  constructor(private readonly o: CentralReaderOptions) {
    this.known = new Set(o.offices ?? []);
  }

  isConnected(): boolean {
    return this.connected;
  }

  /** An office changed (state, presence or events). */
  onOffice(fn: Listener<[OfficeView]>): void {
    this.officeFns.push(fn);
  }

  /** A new event (not a repeat), after the office's view took it in. */
  onEvent(fn: Listener<[OfficeView, QueueEvent]>): void {
    this.eventFns.push(fn);
  }

  onConnection(fn: Listener<[boolean]>): void {
    this.connFns.push(fn);
  }

  start(): Promise<void> {
    const servers = this.o.urls.map((u) => {
      const url = new URL(u);
      const protocol = url.protocol.replace(':', '') as 'mqtt' | 'mqtts' | 'ws' | 'wss';
      return { host: url.hostname, port: Number(url.port || (protocol === 'mqtts' ? 8883 : 1883)), protocol };
    });
    const client = mqtt.connect({
      servers,
      username: this.o.username,
      password: this.o.password,
      clientId: this.o.clientId ?? `beonho-central-${Math.random().toString(16).slice(2, 10)}`,
      // 3.1.1: every broker of a city speaks it (RabbitMQ 3.10 refuses MQTT 5 by closing)
      protocolVersion: 4,
      clean: this.o.clientId === undefined,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      ...this.o.mqttOptions,
    });
    this.client = client;
    client.on('connect', () => {
      this.connections++;
      this.asked.clear();
      client.subscribe(
        ['beonho/v1/+/state', 'beonho/v1/+/events', 'beonho/v1/+/devices/+/status', 'beonho/v1/+/cmd/result'],
        { qos: 1 },
        (err) => {
          if (err) {
            this.o.logger.warn({ code: 'central-subscribe-failed', err: err.message }, 'subscribe failed');
            return;
          }
          this.connected = true;
          for (const fn of this.connFns) fn(true);
          for (const office of new Set([...this.known, ...this.offices.keys()])) this.ask(office);
        },
      );
    });
    client.on('close', () => {
      if (!this.connected) return;
      this.connected = false;
      for (const fn of this.connFns) fn(false);
    });
    client.on('error', (err) => this.o.logger.debug({ err: err.message }, 'central link error'));
    client.on('message', (topic, payload) => this.message(topic, payload));
    return new Promise((resolve) => {
      if (this.connected) resolve();
      else this.onConnection((up) => up && resolve());
    });
  }

  async stop(): Promise<void> {
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
    const c = this.client;
    this.client = null;
    if (c) await c.endAsync(true);
    this.connected = false;
  }

  /** Publish a command and wait for its result on cmd/result (by id). */
  command(office: string, body: Record<string, unknown>, timeoutMs = 15_000): Promise<CommandResult> {
    const client = this.client;
    if (!client || !this.connected)
      return Promise.reject(Object.assign(new Error('central is not connected'), { code: 'central-offline' }));
    const id = typeof body.id === 'string' ? body.id : `hq-${Date.now().toString(36)}-${++this.n}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(Object.assign(new Error(`no result for ${id} from ${office}`), { code: 'central-command-timeout' }));
      }, timeoutMs);
      this.pending.set(id, { resolve, timer });
      client.publish(officeTopics(office).cmd, JSON.stringify({ ...body, id }), { qos: 1 });
    });
  }

  /** `state.publish` to one office, once per connection. */
  private ask(office: string): void {
    if (this.asked.has(office) || !this.client || !this.connected) return;
    this.asked.add(office);
    this.client.publish(
      officeTopics(office).cmd,
      JSON.stringify({ id: `hq-ask-${Date.now().toString(36)}-${this.connections}-${office}`, type: 'state.publish' }),
      { qos: 1 },
    );
  }

  private view(id: string): OfficeView {
    let v = this.offices.get(id);
    if (!v) {
      v = {
        id,
        state: null,
        devices: new Map(),
        lastSeq: null,
        gaps: 0,
        missing: 0,
        late: 0,
        duplicates: 0,
        holes: new Set(),
        recent: [],
        book: new TicketBook(),
      };
      this.offices.set(id, v);
    }
    return v;
  }

  private message(topic: string, payload: Buffer): void {
    const t = parseTopic(topic);
    if (!t || t.kind === 'cmd') return;
    this.counts[t.kind]++;
    this.bytes[t.kind] += payload.byteLength;
    let msg: unknown;
    try {
      msg = JSON.parse(payload.toString('utf8'));
    } catch {
      this.o.logger.warn({ code: 'central-bad-payload', topic }, 'payload is not JSON');
      return;
    }
    if (!msg || typeof msg !== 'object') return;
    // Folded and drawn as read: anything that may publish on an office's topics (another release,
    // a broken client; at a city's cluster, whatever it lets publish there) could otherwise throw
    // in this handler, and that ended central. A status is read only where nothing can throw.
    const problem = this.problem(t.kind, msg);
    if (problem) {
      this.o.logger.warn({ code: 'central-bad-payload', topic, problem }, 'payload is not the contract; ignored');
      return;
    }
    if (t.kind === 'cmd/result') {
      const r = msg as CommandResult;
      const p = r.id ? this.pending.get(r.id) : undefined;
      if (p && r.id) {
        clearTimeout(p.timer);
        this.pending.delete(r.id);
        p.resolve(r);
      }
      return;
    }
    const isNew = !this.offices.has(t.office);
    const v = this.view(t.office);
    // An office central first hears of by an event or a status: ask it for the whole picture.
    if (isNew && t.kind !== 'state') this.ask(t.office);
    if (t.kind === 'state') {
      const s = msg as Snapshot;
      if (!v.state || s.seq >= v.state.seq) v.state = s;
    } else if (t.kind === 'status') {
      const s = msg as DeviceStatus;
      const prev = v.devices.get(t.device!);
      // The will of an older session must not mark a newer, live session offline.
      if (!prev || s.session >= prev.session) v.devices.set(t.device!, s);
    } else {
      const ev = msg as QueueEvent;
      if (v.lastSeq !== null && ev.seq <= v.lastSeq) {
        if (!v.holes.delete(ev.seq)) {
          v.duplicates++;
          return;
        }
        v.late++;
        v.missing--;
      } else {
        if (v.lastSeq !== null && ev.seq !== v.lastSeq + 1) {
          v.gaps++;
          v.missing += ev.seq - v.lastSeq - 1;
          for (let s = Math.max(v.lastSeq + 1, ev.seq - HOLES); s < ev.seq; s++) v.holes.add(s);
          if (v.holes.size > HOLES) for (const s of [...v.holes].slice(0, v.holes.size - HOLES)) v.holes.delete(s);
        }
        v.lastSeq = ev.seq;
      }
      v.book.apply(ev);
      v.recent.unshift(ev);
      if (v.recent.length > RECENT) v.recent.length = RECENT;
      for (const fn of this.eventFns) fn(v, ev);
    }
    for (const fn of this.officeFns) fn(v);
  }

  private problem(kind: string, msg: object): string | null {
    if (kind === 'state') return stateProblem(msg);
    if (kind === 'cmd/result') return resultProblem(msg);
    if (kind !== 'events') return null;
    const type = (msg as { type?: unknown }).type;
    return typeof type === 'string' ? eventProblem(msg as { type: string }) : 'an event without a type';
  }
}

/** Whether one of the office's devices is online (newest session wins over a late will); null
 * when no device ever said. */
export function isOnline(v: OfficeView): boolean | null {
  if (v.devices.size === 0) return null;
  return [...v.devices.values()].some((s) => s.online);
}
