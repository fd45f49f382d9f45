// What a satellite knows of the office: the main unit's latest retained state, and its events as
// they happen, handed to the satellite's own features over the same bus events the main unit's
// queue emits (`snapshotChanged`, `queueEvents`), so the board and the voice are the main unit's.
//
// Nothing stale is announced: each connection starts without a baseline; the first state that
// arrives on it sets one (its `seq`), and only events after it go on the bus. Events that arrive
// before that state (the main unit replaying its outbox after a restart) wait for it and are
// dropped if it already holds them. So a call made while the link was down, or repeated by a
// restarted main unit, is shown by the state but never spoken.
import type { Logger } from 'pino';
import type { Bus } from '../bus.ts';
import type { Config } from '../config/schema.ts';
import { initialState } from '../queue/reduce.ts';
import { buildSnapshot } from '../queue/snapshot.ts';
import type { Snapshot } from '../queue/snapshot-types.ts';
import type { QueueEvent } from '../queue/types.ts';
import { eventProblem, stateProblem } from './payloads.ts';

/** Events kept while a connection waits for its first state: a restarted main unit replays at most
 * a window of its outbox before its state, and more than this is a main unit to be wary of. */
const PENDING_MAX = 2000;
/** Types of unreadable event said at warn: more is a main unit sending garbage, said at debug. */
const SAID_EVENT_TYPES = 16;

export interface StateMirrorOptions {
  config: Config;
  bus: Bus;
  now: () => number;
  logger: Logger;
}

export class StateMirror {
  private latest: Snapshot | null = null;
  /** seq of the last event handed on, on this connection; null until its first state */
  private lastSeq: number | null = null;
  private pending: QueueEvent[] = [];
  /** the difference with the main unit's office last said, so a link that reconnects all day
   * (Wi-Fi, a key's reset) does not repeat it at every connection */
  private saidDiffers: string | null = null;
  /** an unreadable state was said since the last readable one */
  private saidInvalid = false;
  /** the types of the unreadable events said */
  private readonly saidEvents = new Set<string>();
  private readonly placeholder: Snapshot;

  constructor(private readonly o: StateMirrorOptions) {
    // Before the main unit has said anything: the office as configured, no day open.
    this.placeholder = buildSnapshot(o.config, initialState(o.config), o.now());
  }

  /** The main unit's latest state, or the configured office with no day before the first one. */
  snapshot(): Snapshot {
    return this.latest ?? this.placeholder;
  }

  /** true once a state arrived (on any connection) */
  get known(): boolean {
    return this.latest !== null;
  }

  /** true once the current connection brought a state: what is shown is current */
  get current(): boolean {
    return this.lastSeq !== null;
  }

  /** A new connection: nothing on it is trusted to be new until its first state. */
  connected(): void {
    this.lastSeq = null;
    this.pending = [];
  }

  state(s: Snapshot): void {
    // Another office's: not ours to show.
    if (s.office !== this.o.config.office.id) return;
    // Not the contract's state (damaged, another contract version, a field this release draws
    // missing): the board and the compare below read it as one, and threw (the satellite ended).
    // Keep what is shown; fields this release does not know are dropped, not refused.
    const problem = stateProblem(s);
    if (problem) {
      this.o.logger[this.saidInvalid ? 'debug' : 'warn'](
        { code: 'main-state-invalid', problem, seq: (s as { seq?: unknown }).seq },
        "the main unit's state is not one this release can show; keeping the last one shown",
      );
      this.saidInvalid = true;
      return;
    }
    this.saidInvalid = false;
    // One main unit's states on one connection only go forward: an older one (delivered late, or
    // a retained copy behind a live one) would be shown as current until the next change. A new
    // connection takes its first state whatever its seq (a main unit whose data was replaced).
    if (this.lastSeq !== null && this.latest && s.seq < this.latest.seq) return;
    this.latest = s;
    const first = this.lastSeq === null;
    if (first) {
      this.lastSeq = s.seq;
      this.compare(s);
    }
    this.o.bus.emit('snapshotChanged', { seq: s.seq });
    if (first) {
      const waiting = this.pending;
      this.pending = [];
      for (const e of waiting) this.event(e);
    }
  }

  /** The keypads transfer to services and the area is drawn from this satellite's own config: say
   * so when the main unit's office has changed under it. A counter renamed on the main unit counts
   * too (the board and the voice take the main unit's name; the config is out of date). */
  private compare(s: Snapshot): void {
    const ids = (xs: Array<{ id: string }>) => xs.map((x) => x.id).join(',');
    const c = this.o.config;
    const renamed = s.counters.flatMap((m) => {
      const here = c.counters.find((x) => x.id === m.id);
      return here && here.name !== m.name ? [`${m.id}: "${here.name}" -> "${m.name}"`] : [];
    });
    const key = `${ids(s.counters)}|${ids(s.services)}|${renamed.join('|')}`;
    if (ids(s.counters) === ids(c.counters) && ids(s.services) === ids(c.services) && renamed.length === 0) {
      this.saidDiffers = null;
      return;
    }
    const level = key === this.saidDiffers ? 'debug' : 'warn';
    this.saidDiffers = key;
    this.o.logger[level](
      {
        code: 'main-config-differs',
        main: { counters: ids(s.counters), services: ids(s.services) },
        here: { counters: ids(c.counters), services: ids(c.services) },
        ...(renamed.length > 0 ? { renamed } : {}),
      },
      "the main unit's counters or services differ from this satellite's config",
    );
  }

  event(e: QueueEvent): void {
    if (typeof e.seq !== 'number' || typeof e.type !== 'string') return;
    // Not the contract's event (damaged, another release): the board and the voice would draw and
    // say it as it is. Said once per type (a later release's new type comes again and again).
    const problem = eventProblem(e);
    if (problem) {
      const news = !this.saidEvents.has(e.type) && this.saidEvents.size < SAID_EVENT_TYPES;
      if (news) this.saidEvents.add(e.type);
      this.o.logger[news ? 'warn' : 'debug'](
        { code: 'main-event-invalid', problem, seq: e.seq },
        'an event from the main unit is not one this release can show or announce; skipped',
      );
      return;
    }
    if (this.lastSeq === null) {
      if (this.pending.length < PENDING_MAX) this.pending.push(e);
      return;
    }
    // At-least-once delivery: a repeat has a seq already seen.
    if (e.seq <= this.lastSeq) return;
    this.lastSeq = e.seq;
    this.o.bus.emit('queueEvents', { events: [e] });
  }
}
