// The publishers against fakes: the outbox drain (order, window, ack only after PUBACK, resend
// after a link cut) and the state coalescing under a burst (fake timers).
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { OutboxReader } from '../device/store/outbox-types.ts';
import type { QueueEvent } from '../device/queue/types.ts';
import type { Snapshot } from '../device/queue/snapshot-types.ts';
import { EventsPublisher } from '../bridge/publish/events.ts';
import { StatePublisher } from '../bridge/publish/state.ts';
import { StatusPublisher, type StatusPublisherOptions } from '../bridge/publish/status.ts';
import { validatorFor } from '../bridge/contract/schemas.ts';
import type { DeviceStatus } from '../bridge/contract/types.ts';
import type { DeviceHealth } from '../device/health.ts';
import { backoffDelay } from '../bridge/uplink/client-common.ts';
import type { PublishOptions, Sink } from '../bridge/sink.ts';
import { encodePayload } from '../bridge/contract/payload.ts';
import { localTime } from '../device/util/time.ts';
import { officeTopics, type Topic, type TopicKind } from '../bridge/contract/topics.ts';
import type { PayloadOf } from '../bridge/contract/types.ts';

const logger = pino({ level: 'silent' });
const isStatus = validatorFor('status');
const topics = officeTopics('o');

function event(seq: number): QueueEvent {
  return {
    v: 1,
    office: 'o',
    seq,
    id: `e${seq}`,
    at: '2026-11-26T10:00:00.000+09:00',
    type: 'notice.changed',
    notice: String(seq),
  };
}

class FakeOutbox implements OutboxReader {
  ackedSeq = 0;
  acks: number[] = [];
  constructor(public events: QueueEvent[]) {}
  async read(afterSeq: number, limit: number) {
    return this.events.filter((e) => e.seq > afterSeq).slice(0, limit);
  }
  acked() {
    return this.ackedSeq;
  }
  ack(seq: number) {
    this.acks.push(seq);
    this.ackedSeq = Math.max(this.ackedSeq, seq);
  }
  async flush() {}
  lastSeq() {
    return this.events.at(-1)?.seq ?? 0;
  }
  dropped() {
    return { count: 0, throughSeq: 0 };
  }
}

/** A sink whose PUBACKs the test releases by hand. */
class ManualSink implements Sink {
  readonly name = 'fake';
  up = true;
  /** the broker's MQTT 5 Receive Maximum, as a CONNACK would announce it */
  announced: number | null = null;
  receiveMaximum() {
    return this.announced;
  }
  sent: Array<{ topic: string; payload: string; opts: PublishOptions; ack: () => void; fail: (e: Error) => void }> = [];
  private connects: Array<() => void> = [];
  private disconnects: Array<() => void> = [];
  connected() {
    return this.up;
  }
  publish<K extends TopicKind>(topic: Topic<K>, payload: PayloadOf<K>, opts: PublishOptions) {
    return new Promise<void>((ack, fail) =>
      this.sent.push({ topic, payload: encodePayload(payload), opts, ack, fail }),
    );
  }
  onConnect(fn: () => void) {
    this.connects.push(fn);
  }
  onDisconnect(fn: () => void) {
    this.disconnects.push(fn);
  }
  cut() {
    this.up = false;
    for (const s of this.sent) s.fail(new Error('connection closed'));
    this.sent = [];
    for (const fn of this.disconnects) fn();
  }
  restore() {
    this.up = true;
    for (const fn of this.connects) fn();
  }
}

const tick = () => new Promise((r) => setImmediate(r));
const seqs = (sink: ManualSink) => sink.sent.map((s) => (JSON.parse(s.payload) as QueueEvent).seq);

/** An outbox of events 1..n drained by a publisher to a sink whose PUBACKs the test releases. */
function drain(n: number, o: { window: number; batch: number; announced?: number }) {
  const outbox = new FakeOutbox(Array.from({ length: n }, (_, i) => event(i + 1)));
  const sink = new ManualSink();
  sink.announced = o.announced ?? null;
  const p = new EventsPublisher({
    sink,
    cursor: outbox,
    topic: topics.events,
    window: o.window,
    batch: o.batch,
    logger,
  });
  return { outbox, sink, p };
}

describe('events publisher', () => {
  it('publishes in seq order within its window and acks only what was PUBACKed, in order', async () => {
    const { outbox, sink, p } = drain(10, { window: 4, batch: 100 });
    p.kick();
    await tick();
    expect(seqs(sink)).toEqual([1, 2, 3, 4]);
    expect(sink.sent.every((s) => s.opts.qos === 1 && !s.opts.retain)).toBe(true);
    // PUBACK of 2 before 1: nothing may be acked until 1 is.
    sink.sent[1]!.ack();
    await tick();
    expect(outbox.acks).toEqual([]);
    sink.sent[0]!.ack();
    await tick();
    expect(Math.max(...outbox.acks)).toBe(2);
    await tick();
    expect(seqs(sink)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const s of sink.sent.slice(2)) s.ack();
    for (let i = 0; i < 10; i++) {
      await tick();
      for (const s of sink.sent) s.ack();
    }
    expect(outbox.ackedSeq).toBe(10);
    expect(p.idle()).toBe(true);
    expect([...new Set(seqs(sink))]).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
  });

  it("keeps within the broker's Receive Maximum, leaving room for state, status and results", async () => {
    const { outbox, sink, p } = drain(30, { window: 500, batch: 100, announced: 10 });
    p.kick();
    await tick();
    expect(seqs(sink)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    // a broker that announces less than the reserve still gets one event at a time
    sink.announced = 2;
    let acked = 0;
    while (acked < sink.sent.length) {
      const unacked = sink.sent.slice(acked);
      acked = sink.sent.length;
      for (const s of unacked) s.ack();
      await tick();
      await tick();
      // what the acks let through: never more than the window the broker allows now
      expect(sink.sent.length - acked).toBeLessThanOrEqual(acked <= 7 ? 7 : 1);
    }
    expect(outbox.ackedSeq).toBe(30);
  });

  it('reads the outbox a batch at a time however small the window the broker allows', async () => {
    // mosquitto announces a Receive Maximum of 20; a journal read decodes a whole segment
    const { outbox, sink, p } = drain(1000, { window: 500, batch: 500, announced: 20 });
    const read = vi.spyOn(outbox, 'read');
    p.kick();
    for (let acked = 0; outbox.ackedSeq < 1000; ) {
      await tick();
      // never more than the broker allows in flight
      expect(sink.sent.length - acked).toBeLessThanOrEqual(17);
      const unacked = sink.sent.slice(acked);
      acked = sink.sent.length;
      for (const s of unacked) s.ack();
      await tick();
    }
    expect([...new Set(seqs(sink))]).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    // two batches of 500, not one read per half window (~110)
    expect(read).toHaveBeenCalledTimes(2);
    expect(p.idle()).toBe(true);
  });

  it('fills the window again at each PUBACK, without waiting for it to drain', async () => {
    // Waiting for half the window stalled behind TCP against a broker without TCP_NODELAY
    // (mosquitto): ~400 events/s. Each PUBACK lets the next event out at once.
    const { sink, p } = drain(10, { window: 4, batch: 100 });
    p.kick();
    await tick();
    expect(seqs(sink)).toEqual([1, 2, 3, 4]);
    sink.sent[0]!.ack();
    await tick();
    expect(seqs(sink)).toEqual([1, 2, 3, 4, 5]);
    sink.sent[1]!.ack();
    await tick();
    expect(seqs(sink)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('an event central refused is sent again a minute later on the same connection, never skipped', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const { outbox, sink, p } = drain(3, { window: 10, batch: 100 });
      p.kick();
      await tick();
      expect(seqs(sink)).toEqual([1, 2, 3]);
      // a quota exceeded for 1; 2 and 3 go through but cannot be acknowledged past 1
      sink.sent[0]!.fail(Object.assign(new Error('quota exceeded'), { code: 0x97 }));
      sink.sent[1]!.ack();
      sink.sent[2]!.ack();
      await tick();
      expect(outbox.acks).toEqual([]);
      vi.advanceTimersByTime(59_000);
      await tick();
      expect(seqs(sink)).toEqual([1, 2, 3]);
      vi.advanceTimersByTime(1_000);
      await tick();
      expect(seqs(sink)).toEqual([1, 2, 3, 1, 2, 3]);
      for (const sent of sink.sent.slice(3)) sent.ack();
      await tick();
      expect(outbox.ackedSeq).toBe(3);
      expect(p.idle()).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a refusal on the next connection is retried too, though the last connection left a retry pending', async () => {
    // Central refused an event, the link dropped and came back within the minute, and central
    // refused again on the new connection. The old connection's retry did nothing when it fired
    // (another connection), and it had kept the new refusal from scheduling its own: the window
    // stalled on a link that stayed up, until the next reconnect (maybe never).
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const { outbox, sink, p } = drain(3, { window: 10, batch: 100 });
      p.kick();
      await tick();
      sink.sent[0]!.fail(Object.assign(new Error('quota exceeded'), { code: 0x97 }));
      await tick();
      vi.advanceTimersByTime(20_000);
      sink.cut();
      sink.restore();
      await tick();
      expect(seqs(sink)).toEqual([1, 2, 3]);
      sink.sent[0]!.fail(Object.assign(new Error('quota exceeded'), { code: 0x97 }));
      sink.sent[1]!.ack();
      sink.sent[2]!.ack();
      await tick();
      vi.advanceTimersByTime(59_000);
      await tick();
      expect(seqs(sink)).toEqual([1, 2, 3]);
      vi.advanceTimersByTime(1_000);
      await tick();
      expect(seqs(sink)).toEqual([1, 2, 3, 1, 2, 3]);
      for (const sent of sink.sent.slice(3)) sent.ack();
      await tick();
      expect(outbox.ackedSeq).toBe(3);
      expect(p.idle()).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a refusal that goes on for a day is logged once an hour, not at every retry', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const lines: Array<{ level: number; code?: string; msg: string }> = [];
      const outbox = new FakeOutbox([event(1)]);
      const sink = new ManualSink();
      const p = new EventsPublisher({
        sink,
        cursor: outbox,
        topic: topics.events,
        window: 10,
        batch: 100,
        logger: pino({ level: 'debug' }, { write: (l: string) => void lines.push(JSON.parse(l)) }),
      });
      p.kick();
      await tick();
      // central's ACL refuses the device's events all day: every retry is refused again
      const refuse = () => sink.sent.at(-1)!.fail(Object.assign(new Error('not authorized'), { code: 0x87 }));
      for (let minute = 0; minute < 24 * 60; minute++) {
        refuse();
        await tick();
        vi.advanceTimersByTime(60_000);
        await tick();
      }
      const errors = lines.filter((l) => l.code === 'event-publish-refused' && l.level >= 50);
      expect(errors.length).toBeGreaterThanOrEqual(24);
      expect(errors.length).toBeLessThanOrEqual(25);
      // fixed at central: said once, and the next refusal is news again
      sink.sent.at(-1)!.ack();
      await tick();
      expect(outbox.ackedSeq).toBe(1);
      expect(lines.at(-1)).toMatchObject({ level: 30, msg: 'central takes events again after refusing them' });
    } finally {
      vi.useRealTimers();
    }
  });

  it('a failed read of the outbox is tried again by itself, with no new event', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const { outbox, sink, p } = drain(2, { window: 10, batch: 100 });
      const read = outbox.read.bind(outbox);
      let fails = 1;
      outbox.read = async (after, limit) => {
        if (fails-- > 0) throw new Error('EIO: the card');
        return read(after, limit);
      };
      p.kick();
      await tick();
      expect(seqs(sink)).toEqual([]);
      vi.advanceTimersByTime(5_000);
      await tick();
      expect(seqs(sink)).toEqual([1, 2]);
      p.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it('sends nothing after its stop, not even what a read under way at the stop brings back', async () => {
    // The bridge's stop: the publisher first, then the status's offline (up to 2 s) and the
    // uplink's grace, with the link still there; what the read brings is sent after the restart.
    const { outbox, sink, p } = drain(4, { window: 10, batch: 100 });
    const read = outbox.read.bind(outbox);
    let release: () => void = () => undefined;
    outbox.read = (after, limit) =>
      new Promise((resolve) => {
        release = () => resolve(read(after, limit));
      });
    p.kick();
    await tick();
    p.stop();
    release();
    await tick();
    await tick();
    expect(seqs(sink)).toEqual([]);
  });

  it('after a link cut resends from the last acknowledged seq, before anything newer', async () => {
    const { outbox, sink, p } = drain(6, { window: 10, batch: 100 });
    p.kick();
    await tick();
    sink.sent[0]!.ack();
    sink.sent[1]!.ack();
    await tick();
    expect(outbox.ackedSeq).toBe(2);
    sink.cut();
    outbox.events.push(event(7), event(8));
    p.kick(); // new events while offline: nothing goes out
    await tick();
    expect(sink.sent).toEqual([]);
    sink.restore();
    await tick();
    expect(seqs(sink)).toEqual([3, 4, 5, 6, 7, 8]);
    // acks of the old connection are ignored: no ack went past 2 while the link was down
    expect(Math.max(...outbox.acks)).toBe(2);
  });
});

describe('state coalescing', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('publishes a burst of 100 changes in one second a few times, ending on the latest', () => {
    vi.useFakeTimers();
    let version = 0;
    const published: number[] = [];
    const sink: Sink = {
      name: 's',
      connected: () => true,
      publish: async (_t, payload, opts) => {
        expect(opts).toMatchObject({ qos: 1, retain: true });
        published.push((JSON.parse(encodePayload(payload)) as Snapshot).seq);
      },
      onConnect: () => {},
      onDisconnect: () => {},
    };
    const state = new StatePublisher({
      sinks: [sink],
      snapshot: () => ({ seq: version }) as Snapshot,
      topic: topics.state,
      minIntervalMs: 250,
      logger,
      timers: {
        now: () => Date.now(),
        setTimeout: (fn, ms) => setTimeout(fn, ms),
        clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
      },
    });
    for (let i = 0; i < 100; i++) {
      version++;
      state.request();
      vi.advanceTimersByTime(10);
    }
    vi.advanceTimersByTime(1000);
    expect(published.length).toBeLessThanOrEqual(6);
    expect(published.length).toBeGreaterThanOrEqual(2);
    expect(published.at(-1)).toBe(100);
    // strictly increasing: never an older snapshot after a newer one
    expect([...published].sort((a, b) => a - b)).toEqual(published);
  });
});

describe('reconnect backoff', () => {
  it('grows exponentially to the cap, with jitter in the upper half', () => {
    expect(backoffDelay(0, 1000, 60000, 0)).toBe(500);
    expect(backoffDelay(0, 1000, 60000, 1)).toBe(1000);
    expect(backoffDelay(3, 1000, 60000, 0.5)).toBe(6000);
    expect(backoffDelay(30, 1000, 60000, 1)).toBe(60000);
    expect(backoffDelay(30, 1000, 60000, 0)).toBe(30000);
  });
});

/** singok2's main unit's status publisher on one sink, at session 4, the clock stopped at 10:00. */
function statusPublisher(sink: Sink, o: Pick<StatusPublisherOptions, 'cursor' | 'deviceHealth'>): StatusPublisher {
  return new StatusPublisher({
    office: 'singok2',
    device: 'main',
    version: '1.2.3',
    startedAt: '2026-11-26T09:00:00.000+09:00',
    topic: officeTopics('singok2').status('main'),
    isoNow: () => '2026-11-26T10:00:00.000+09:00',
    localIso: (ms) => localTime(ms, 'Asia/Seoul').iso,
    session: () => 4,
    sinks: [sink],
    logger,
    intervalSec: 30,
    ...o,
  });
}

describe('device status', () => {
  it('carries the machine health and early components from the health collector, per the schema', async () => {
    const published: string[] = [];
    const sink: Sink = {
      name: 's',
      connected: () => true,
      publish: async (_t, payload) => {
        published.push(encodePayload(payload));
      },
      onConnect: () => {},
      onDisconnect: () => {},
    };
    const status = statusPublisher(sink, {
      cursor: new FakeOutbox([event(1), event(2)]),
      deviceHealth: async () =>
        ({
          v: 1,
          at: '2026-11-26T01:00:00.000Z',
          version: '1.2.3',
          node: 'v20.20.2',
          uptimeSec: 3600,
          systemUptimeSec: 86400,
          disk: { path: '/data', freeBytes: 5e9, totalBytes: 3e10, freePct: 16.7, blockBytes: 4096 },
          memory: { rssBytes: 9e7, heapUsedBytes: 3e7, systemFreeBytes: 1e9, systemTotalBytes: 4e9 },
          cpuTempC: 51.5,
          writes: { bytesWritten: 1e6, ticketsIssued: 100, bytesPerTicket: 10000 },
          components: { keypads: { connected: true, lastError: null, lastErrorAt: null } },
        }) as DeviceHealth,
    });
    status.health('printer', {
      connected: false,
      lastError: 'printer-offline',
      lastErrorAt: '2026-11-26T09:59:00.000+09:00',
    });
    status.now();
    await new Promise((r) => setTimeout(r, 10));
    const s = JSON.parse(published.at(-1)!) as DeviceStatus;
    expect(isStatus(s), JSON.stringify(isStatus.errors)).toBe(true);
    expect(s).toMatchObject({ online: true, session: 4, version: '1.2.3', outbox: { backlog: 2, lastSeq: 2 } });
    expect(s.system).toMatchObject({ uptimeSec: 3600, diskFreePct: 16.7, cpuTempC: 51.5, bytesPerTicket: 10000 });
    expect(Object.keys(s.hardware ?? {}).sort()).toEqual(['keypads', 'printer']);
    await status.offline();
    expect(JSON.parse(published.at(-1)!)).toMatchObject({ online: false, session: 4 });
  });

  it("gives every component's lastErrorAt in office-local time, as `at`, whatever form its driver stamped", async () => {
    const published: DeviceStatus[] = [];
    const sink: Sink = {
      name: 's',
      connected: () => true,
      publish: async (_t, payload) => {
        published.push(payload as DeviceStatus);
      },
      onConnect: () => {},
      onDisconnect: () => {},
    };
    const status = statusPublisher(sink, {
      cursor: null,
      deviceHealth: async () =>
        ({
          components: {
            printer: { connected: false, lastError: 'printer-offline', lastErrorAt: '2026-11-26T00:59:00.000Z' },
          },
          memory: { rssBytes: 1 },
          writes: {},
        }) as unknown as DeviceHealth,
    });
    status.health('board', {
      connected: false,
      lastError: 'display-fb-write',
      lastErrorAt: '2026-11-26T00:58:00.500Z',
    });
    status.health('keypad:1', {
      connected: false,
      lastError: 'keypad-gone',
      lastErrorAt: '2026-11-26T09:57:00.000+09:00',
    });
    status.health('audio', { connected: true, lastError: null, lastErrorAt: null });
    status.now();
    await new Promise((r) => setTimeout(r, 10));
    const hw = published.at(-1)!.hardware!;
    expect(hw.printer!.lastErrorAt).toBe('2026-11-26T09:59:00.000+09:00');
    expect(hw.board!.lastErrorAt).toBe('2026-11-26T09:58:00.500+09:00');
    expect(hw['keypad:1']!.lastErrorAt).toBe('2026-11-26T09:57:00.000+09:00');
    expect(hw.audio!.lastErrorAt).toBeNull();
    await status.offline();
  });

  it('a clean stop is the last word: a status being built when it comes is not published after it', async () => {
    const published: Array<{ online: boolean }> = [];
    let connect: () => void = () => {};
    const sink: Sink = {
      name: 's',
      connected: () => true,
      publish: async (_t, payload) => {
        published.push(payload as { online: boolean });
      },
      onConnect: (fn) => {
        connect = fn;
      },
      onDisconnect: () => {},
    };
    // the first health read (the connect's status) is slow: the stop comes while it is built
    let slow: (() => void) | null = null;
    let reads = 0;
    const health = { components: {}, memory: { rssBytes: 1 }, writes: {} } as unknown as DeviceHealth;
    const status = statusPublisher(sink, {
      cursor: null,
      deviceHealth: () => {
        reads += 1;
        if (reads > 1) return Promise.resolve(health);
        return new Promise<DeviceHealth>((r) => {
          slow = () => r(health);
        });
      },
    });
    connect();
    await new Promise((r) => setTimeout(r, 5));
    expect(slow).not.toBeNull();
    await status.offline();
    slow!();
    await new Promise((r) => setTimeout(r, 5));
    expect(published.map((p) => p.online)).toEqual([false]);
  });
});
