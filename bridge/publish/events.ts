// Drains the durable outbox to one sink: strictly in seq order, QoS 1, a bounded window of
// publishes in flight, and an event acknowledged to the outbox only after its PUBACK — and only
// once everything before it was acknowledged too. After a link cut everything from the last
// acknowledged seq is sent again (duplicates carry the same seq; consumers dedupe by seq).
import type { Logger } from 'pino';
import type { QueueEvent } from '../../device/queue/types.ts';
import type { OutboxReader } from '../../device/store/outbox-types.ts';
import type { Topic } from '../contract/topics.ts';
import type { Sink } from '../sink.ts';

export interface EventsPublisherOptions {
  sink: Sink;
  cursor: OutboxReader;
  topic: Topic<'events'>;
  window: number;
  batch: number;
  logger: Logger;
}

/** Places of the broker's Receive Maximum left to the state, the status and results, so that they
 * need not wait behind a full window of events (the uplink holds any publish past the limit). */
const RESERVED_FOR_OTHERS = 3;
/** After a failed read of the outbox: tried again then, not only at the next event (an idle office
 * with a backlog would keep it). */
const READ_RETRY_MS = 5_000;
/** After central refused an event: the window is sent again then, on the same connection (a
 * refusal such as MQTT 5's quota exceeded passes; one that does not is logged again). */
const REFUSED_RETRY_MS = 60_000;
/** A refusal that goes on (central's ACL wrong for the device's account until someone there fixes
 * it, maybe days) is logged in full the first time and then once an hour of retries, the rest at
 * debug: an error a minute per office filled the journal on the card. */
const REFUSED_REMIND_EVERY = 60;

interface InFlight {
  seq: number;
  done: boolean;
}

export class EventsPublisher {
  private sentThrough: number;
  private inflight: InFlight[] = [];
  /** Read from the outbox, not yet published. The outbox is read `batch` events at a time however
   * small the window: under mosquitto's Receive Maximum (20, a window of 17) a read per half
   * window meant ~1,100 reads for a 10,000-event backlog, each decoding a whole journal segment
   * (8.8 s against 0.5 s, bench/mqtt.ts). */
  private ahead: QueueEvent[] = [];
  private pumping = false;
  private again = false;
  /** bumped on every disconnect: acks of an older connection are ignored */
  private generation = 0;
  private stopped = false;
  private refusedIn = -1;
  /** refusals in a row since central last acknowledged an event, and the last one's reason */
  private refusedStreak = 0;
  private refusedReason: string | null = null;
  /** pending retries: of a failed read, of a refused window */
  private readonly retries: { read: NodeJS.Timeout | null; refused: NodeJS.Timeout | null } = {
    read: null,
    refused: null,
  };
  private waiters: Array<() => void> = [];
  published = 0;

  constructor(private readonly o: EventsPublisherOptions) {
    this.sentThrough = o.cursor.acked();
    o.sink.onConnect(() => {
      this.reset();
      this.kick();
    });
    o.sink.onDisconnect(() => this.reset());
  }

  /** New events may be in the outbox: publish what the window allows. */
  kick(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    void this.pump();
  }

  /** Sends nothing more. The acknowledgements of what is in flight still count until the link
   * closes (the uplink gives them a grace at its stop, and the bridge writes the cursor after it):
   * an event central acknowledged is not sent again after a clean restart. */
  stop(): void {
    this.stopped = true;
    this.clearRetry('read');
    this.clearRetry('refused');
  }

  private clearRetry(kind: 'read' | 'refused'): void {
    const timer = this.retries[kind];
    if (timer) clearTimeout(timer);
    this.retries[kind] = null;
  }

  /** Everything on disk has been acknowledged by this sink. */
  idle(): boolean {
    return this.inflight.length === 0 && this.o.cursor.acked() >= this.o.cursor.lastSeq();
  }

  /** Resolves when idle() (for shutdown, tests and the benchmark). */
  whenIdle(): Promise<void> {
    if (this.idle()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private reset(): void {
    this.generation++;
    // A refused window's retry belongs to the connection (generation) it was made on, and this
    // reset sends everything again anyway. Left pending, it did nothing when it fired (another
    // generation) and kept a refusal on the next connection from scheduling its own retry
    // (later() takes one per kind): the window stalled on a link that stayed up.
    this.clearRetry('refused');
    this.inflight = [];
    this.ahead = [];
    this.sentThrough = this.o.cursor.acked();
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      do {
        this.again = false;
        const window = this.window();
        while (!this.stopped && this.o.sink.connected() && this.inflight.length < window) {
          const gen = this.generation;
          if (this.ahead.length === 0) {
            if (this.sentThrough >= this.o.cursor.lastSeq()) break; // all sent: nothing to read
            const read = await this.o.cursor.read(this.sentThrough, this.o.batch);
            if (gen !== this.generation) break; // the link dropped while reading: start over
            // stopped while reading: nothing more goes out (the bridge's stop gives the link a grace
            // for what is in flight, and the outbox sends this after the restart)
            if (this.stopped) break;
            if (read.length === 0) break;
            this.ahead = read;
          }
          for (const e of this.ahead.splice(0, window - this.inflight.length)) {
            const slot: InFlight = { seq: e.seq, done: false };
            this.inflight.push(slot);
            this.sentThrough = e.seq;
            this.o.sink.publish(this.o.topic, e, { qos: 1, retain: false }).then(
              () => this.acked(slot, gen),
              (err: unknown) => this.failed(e.seq, gen, err),
            );
          }
        }
      } while (this.again && !this.stopped);
    } catch (err) {
      this.o.logger.error(
        { code: 'outbox-read-failed', err },
        `reading the outbox failed; retrying in ${READ_RETRY_MS / 1000} s or at the next event`,
      );
      this.later('read', READ_RETRY_MS, () => this.kick());
    } finally {
      this.pumping = false;
      this.notifyIdle();
    }
  }

  /** A publish failed while its link is still up: the broker refused it (an MQTT 5 PUBACK with
   * a reason code, e.g. 0x87 not authorized, 0x97 quota exceeded). The event stays in the outbox —
   * it is never skipped — so the window stalls; it is sent again from the last acknowledged event
   * REFUSED_RETRY_MS later (or at the next connection). Said loudly, once per try. */
  private failed(seq: number, gen: number, err: unknown): void {
    if (gen !== this.generation) return; // the link dropped: resent after reconnect
    if (!this.o.sink.connected()) return; // the link is being dropped: the same
    if (this.refusedIn === gen) return;
    this.refusedIn = gen;
    const reasonCode = (err as { code?: unknown }).code;
    const reason = String(err);
    this.refusedStreak++;
    const news = reason !== this.refusedReason || this.refusedStreak % REFUSED_REMIND_EVERY === 1;
    this.refusedReason = reason;
    this.o.logger[news ? 'error' : 'debug'](
      { code: 'event-publish-refused', seq, reasonCode, reason, refusals: this.refusedStreak },
      `central refused an event; events wait in the outbox and are sent again in ${REFUSED_RETRY_MS / 1000} s (check the device account may publish on events)`,
    );
    this.later('refused', REFUSED_RETRY_MS, () => {
      if (gen !== this.generation) return; // reconnected meanwhile: sent again already
      this.reset();
      this.kick();
    });
  }

  private later(kind: 'read' | 'refused', ms: number, fn: () => void): void {
    if (this.retries[kind] || this.stopped) return;
    const timer = setTimeout(() => {
      this.retries[kind] = null;
      fn();
    }, ms);
    timer.unref();
    this.retries[kind] = timer;
  }

  private acked(slot: InFlight, gen: number): void {
    if (gen !== this.generation) return;
    slot.done = true;
    this.published++;
    let through = -1;
    while (this.inflight[0]?.done) through = this.inflight.shift()!.seq;
    if (through >= 0) this.o.cursor.ack(through);
    // the event it refused went through at last (a later one acknowledged alone proves nothing)
    if (through >= 0 && this.refusedStreak > 0) {
      this.o.logger.info(
        { code: 'event-publish-refused', refusals: this.refusedStreak },
        'central takes events again after refusing them',
      );
      this.refusedStreak = 0;
      this.refusedReason = null;
    }
    // Refill at once: the outbox is read a batch at a time (`ahead`), so a PUBACK costs no read.
    // Waiting for half the window to drain stalled behind TCP: a broker without TCP_NODELAY
    // (mosquitto's default) holds its later PUBACKs until we acknowledge the first, and with nothing
    // to send our acknowledgement waited for the kernel's delayed-ACK timer (~40 ms a window:
    // ~400 events/s under mosquitto's Receive Maximum of 20).
    this.kick();
  }

  /** The configured window, within what the broker announced it accepts unacknowledged (MQTT 5
   * Receive Maximum: HiveMQ announces 10 by default, and a client that sends more is disconnected
   * with 0x93). A few places stay free for the state, the status and command results, which share
   * the link; the uplink keeps the limit for all of them (bridge/uplink/in-flight-gate.ts). */
  private window(): number {
    const max = this.o.sink.receiveMaximum?.();
    if (!max) return this.o.window;
    return Math.max(1, Math.min(this.o.window, max - RESERVED_FOR_OTHERS));
  }

  private notifyIdle(): void {
    if (this.waiters.length === 0 || !this.idle()) return;
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }
}
