// What a satellite does with a state, an event or a command result from the main unit that is not
// the contract's (a damaged payload, a main unit of another release): a state or a result threw
// reading it, in the link's message handler or the board's render, and an uncaught exception ends
// the satellite (a retained state again at every restart); an event was drawn and announced as it
// was. Now it keeps what it shows, skips the event, says so once, and shows a key so answered as
// unknown; a field this release does not know is dropped, not refused.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Command, CommandResult } from '../bridge/contract/types.ts';
import { Bus } from '../device/bus.ts';
import { simulatorDefault } from '../device/config/default.ts';
import { validateConfig } from '../device/config/load.ts';
import type { Snapshot } from '../device/queue/snapshot-types.ts';
import type { QueueEvent } from '../device/queue/types.ts';
import { SatelliteKeys } from '../device/satellite/keys.ts';
import { keyProblemText } from '../device/satellite/messages-ko.ts';
import { StateMirror } from '../device/satellite/mirror.ts';
import { SimKeypads } from '../sim/keypads.ts';
import { calledEvent, debugLog } from './helpers/satellite-link.ts';

const config = validateConfig({ ...simulatorDefault, mqtt: { enabled: false } });
const silent = pino({ level: 'silent' });
const T0 = Date.parse('2026-11-26T10:00:00+09:00');

function state(seq: number): Snapshot {
  const m = new StateMirror({ config, bus: new Bus(), now: () => T0, logger: silent });
  return { ...structuredClone(m.snapshot()), seq };
}

/** A state as it arrives from the broker: whatever JSON the main unit published. */
const broken = (seq: number, change: (s: Record<string, unknown>) => void): Snapshot => {
  const s = state(seq) as unknown as Record<string, unknown>;
  change(s);
  return s as unknown as Snapshot;
};

describe("a satellite's mirror given a state that is not the contract's", () => {
  it('keeps what it shows, says so once, and takes the next readable state', () => {
    const bus = new Bus();
    const { lines, logger } = debugLog();
    const m = new StateMirror({ config, bus, now: () => T0, logger });
    const spoken: number[] = [];
    bus.on('queueEvents', spoken, ({ events }) => spoken.push(...events.map((e) => e.seq)));
    m.connected();
    m.state(state(3));
    m.connected(); // a reconnection: its first state is unreadable
    m.event(calledEvent(4, '1001'));
    const bad = [
      broken(5, (s) => delete s.services), // threw in the config comparison
      broken(5, (s) => (s.counters = [null])),
      broken(5, (s) => delete s.recentCalls), // threw in the board's render
      broken(5, (s) => (s.counters = [{ id: '1' }])),
      broken(5, (s) => (s.v = 2)),
    ];
    for (const s of bad) expect(() => m.state(s)).not.toThrow();
    expect(m.snapshot().seq).toBe(3);
    expect(m.current).toBe(false); // nothing on this connection is trusted yet
    expect(spoken).toEqual([]);
    const said = lines.filter((l) => l.code === 'main-state-invalid');
    expect(said).toHaveLength(bad.length);
    expect(said.filter((l) => l.level >= 40)).toHaveLength(1);
    // a readable state: shown, and the calls after it spoken
    m.state(state(4));
    m.event(calledEvent(5, '1002'));
    expect(m.snapshot().seq).toBe(4);
    expect(spoken).toEqual([5]);
    // said again the next time, once
    m.state(broken(6, (s) => delete s.counters));
    expect(lines.filter((l) => l.code === 'main-state-invalid' && l.level >= 40)).toHaveLength(2);
  });

  it('takes a state of a later release, without the fields it does not know', () => {
    const m = new StateMirror({ config, bus: new Bus(), now: () => T0, logger: silent });
    m.connected();
    const s = broken(9, (x) => {
      x.weather = 'sunny';
      (x.counters as Array<Record<string, unknown>>)[0]!.mood = 'busy';
    });
    m.state(s);
    expect(m.snapshot().seq).toBe(9);
    expect(m.snapshot()).not.toHaveProperty('weather');
    expect(m.snapshot().counters[0]).not.toHaveProperty('mood');
  });
});

describe("a satellite's mirror given an event that is not the contract's", () => {
  it('neither draws nor announces it, says so once per type, and hands on the next readable one', () => {
    const bus = new Bus();
    const { lines, logger } = debugLog();
    const m = new StateMirror({ config, bus, now: () => T0, logger });
    const handed: QueueEvent[] = [];
    bus.on('queueEvents', handed, ({ events }) => handed.push(...events));
    m.connected();
    m.state(state(3));
    const odd = (seq: number, change: (e: Record<string, unknown>) => void): QueueEvent => {
      const e = calledEvent(seq, '1001') as unknown as Record<string, unknown>;
      change(e);
      return e as unknown as QueueEvent;
    };
    // a call with no counter was announced: "천일번 고객님, 유엔디이에프아이엔이디번 창구로 오십시오"
    m.event(odd(4, (e) => delete e.counter));
    m.event(odd(5, (e) => (e.ticket = { number: 1002 })));
    m.event(odd(6, (e) => (e.type = 'ticket.teleported'))); // a later release's
    m.event(odd(7, (e) => (e.type = 'ticket.teleported')));
    expect(handed).toEqual([]);
    const said = lines.filter((l) => l.code === 'main-event-invalid');
    expect(said).toHaveLength(4);
    expect(said.filter((l) => l.level >= 40)).toHaveLength(2); // once per type
    // a readable event after them, with a field this release does not know dropped
    m.event(odd(8, (e) => (e.lane = 'fast')));
    expect(handed.map((e) => e.seq)).toEqual([8]);
    expect(handed[0]).not.toHaveProperty('lane');
  });
});

/** A satellite's keys over sim keypads 1 and 2, with the commands sent and the lines shown. */
function rig() {
  const bus = new Bus();
  const sent: Command[] = [];
  const keypads = new SimKeypads(['1', '2']);
  const { lines, logger } = debugLog();
  let n = 0;
  const keys = new SatelliteKeys({
    keypads,
    link: {
      send: (cmd) => {
        sent.push(cmd);
        return Promise.resolve();
      },
      abort: () => undefined,
    },
    bus,
    logger,
    username: 'counter-12',
    newId: () => `k${++n}`,
    timeoutMs: 60_000,
    messageSeconds: 5,
  });
  const shown: Array<{ counter: string; message: string }> = [];
  bus.on('counterMessage', shown, ({ counter, message }) => shown.push({ counter, message }));
  return { keys, keypads, sent, shown, lines };
}

describe("a satellite's keys given a service number its keypad has not", () => {
  it('are told on the display and send nothing to the main unit', async () => {
    const r = rig();
    await r.keys.start();
    try {
      r.keypads.input('1', { type: 'mistake', code: 'unknown-service' });
      expect(r.sent).toEqual([]);
      expect(r.shown).toEqual([{ counter: '1', message: '없는 업무' }]);
      expect(r.keys.inFlight).toBe(0);
      // the counter is not left busy: the next key goes out
      r.keypads.input('1', { type: 'next' });
      expect(r.sent).toHaveLength(1);
    } finally {
      await r.keys.stop();
    }
  });

  it("are refused as busy while the counter's last key has no answer, whose answer would overwrite the line", async () => {
    const r = rig();
    await r.keys.start();
    try {
      r.keypads.input('1', { type: 'next' });
      r.keypads.input('1', { type: 'mistake', code: 'unknown-service' });
      expect(r.sent).toHaveLength(1);
      expect(r.shown).toEqual([{ counter: '1', message: keyProblemText('key-busy') }]);
      expect(r.lines.some((l) => l.code === 'key-busy')).toBe(true);
      // another counter's keypad is not held by it
      r.keypads.input('2', { type: 'mistake', code: 'unknown-service' });
      expect(r.shown.at(-1)).toEqual({ counter: '2', message: '없는 업무' });
    } finally {
      await r.keys.stop();
    }
  });
});

describe("a satellite's keys given an answer that is not the contract's", () => {
  it('shows the key as unknown and says why, rather than ending the satellite', async () => {
    const r = rig();
    await r.keys.start();
    try {
      r.keypads.input('1', { type: 'next' });
      r.keypads.input('2', { type: 'next' });
      const [a, b] = r.sent.map((c) => c.id);
      // ok without its result; a refusal without its code
      const answers = [
        { v: 1, id: a, type: 'counter.next', ok: true },
        { v: 1, id: b, type: 'counter.next', ok: false },
      ] as unknown as CommandResult[];
      for (const x of answers) expect(() => r.keys.result(x)).not.toThrow();
      expect(r.shown).toEqual([
        { counter: '1', message: '응답 오류 — 처리 여부 확인' },
        { counter: '2', message: '응답 오류 — 처리 여부 확인' },
      ]);
      expect(r.keys.inFlight).toBe(0);
      expect(r.lines.filter((l) => l.code === 'key-result-invalid' && l.level === 40)).toHaveLength(2);
      // an answer with a field this release does not know is read as usual
      r.keypads.input('1', { type: 'next' });
      r.keys.result({
        v: 1,
        id: r.sent[2]!.id,
        type: 'counter.next',
        ok: true,
        result: { ticket: { number: '1035', service: 'resident', channel: 'kiosk', priority: false }, seq: 9 },
        lane: 'fast',
      } as unknown as CommandResult);
      expect(r.shown.at(-1)).toEqual({ counter: '1', message: '1035 호출' });
    } finally {
      await r.keys.stop();
    }
  });
});
