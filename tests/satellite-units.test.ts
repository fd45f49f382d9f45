// The satellite's pieces alone: the embedded broker's rules for satellite accounts (the counter in
// the payload), the config's checks, the voice's area, the mirror's rule that nothing stale is
// announced, and the keys' rule that nothing is sent later.
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  mayPublish,
  mayRead,
  satelliteCommandRefusal,
  satelliteIdPrefix,
  satelliteStatusProblem,
} from '../bridge/broker/acl.ts';
import type { Command, CommandResult } from '../bridge/contract/types.ts';
import { Bus, type BusEvents } from '../device/bus.ts';
import { simulatorDefault } from '../device/config/default.ts';
import { ConfigError, validateConfig } from '../device/config/load.ts';
import { isSatellite } from '../device/config/role.ts';
import type { Snapshot } from '../device/queue/snapshot-types.ts';
import type { QueueEvent } from '../device/queue/types.ts';
import { RATE_HOLD_MS, SatelliteKeys } from '../device/satellite/keys.ts';
import { StateMirror } from '../device/satellite/mirror.ts';
import { healthy } from '../device/ports/health.ts';
import type { DisplaySink, Frame } from '../device/ports/outputs.ts';
import { MAIN_LINK_DOWN } from '../device/satellite/messages-ko.ts';
import { areaFilter } from '../display/audio/extension.ts';
import { BoardExtension } from '../display/board-extension.ts';
import { REFERENCE } from '../display/board/render.ts';
import { SimKeypads } from '../sim/keypads.ts';
import { calledEvent } from './helpers/satellite-link.ts';

const silent = pino({ level: 'silent' });
const HASH = 'scrypt$1024$8$1$c2FsdHNhbHRzYWx0c2FsdA==$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U=';
const sat = { username: 'counter-12', role: 'satellite' as const, offices: ['singok2'], counters: ['1', '2'] };
const T = 'beonho/v1/singok2';
const bytes = (o: unknown) => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o));

describe('a satellite account on the embedded broker', () => {
  it('publishes its office cmd and its own status, nothing else', () => {
    expect(mayPublish(sat, `${T}/cmd`)).toBe(true);
    expect(mayPublish(sat, `${T}/devices/counter-12/status`)).toBe(true);
    for (const t of [
      `${T}/devices/main/status`,
      `${T}/devices/counter-34/status`,
      `${T}/state`,
      `${T}/events`,
      `${T}/cmd/result`,
      'beonho/v1/other/cmd',
    ]) {
      expect(mayPublish(sat, t), t).toBe(false);
    }
    // central's rights are unchanged: cmd only, never a status
    expect(mayPublish({ username: 'c', role: 'central', offices: ['*'] }, `${T}/devices/c/status`)).toBe(false);
  });

  it('may run counter commands for its own counters only, with ids of its own', () => {
    const cmd = (o: Record<string, unknown>) => satelliteCommandRefusal(sat, bytes(o));
    expect(cmd({ id: 'counter-12:a', type: 'counter.next', counter: '1' })).toBeNull();
    expect(cmd({ id: 'counter-12:b', type: 'counter.call', counter: '2', number: '1035' })).toBeNull();
    expect(cmd({ id: 'counter-12:c', type: 'counter.transfer', counter: '2', toCounter: '3' })).toBeNull();
    expect(cmd({ id: 'counter-12:d', type: 'counter.next', counter: 2 })).toBeNull();
    expect(cmd({ id: 'counter-12:e', type: 'counter.next', counter: '3' })).toMatchObject({
      id: 'counter-12:e',
      type: 'counter.next',
      code: 'counter-not-bound',
    });
    expect(cmd({ id: 'counter-12:f', type: 'counter.next' })?.code).toBe('counter-not-bound');
    expect(cmd({ id: 'counter-12:g', type: 'ticket.issue', service: 'resident', channel: 'kiosk' })?.code).toBe(
      'command-not-allowed',
    );
    expect(cmd({ id: 'counter-12:h', type: 'day.close' })?.code).toBe('command-not-allowed');
    // another account's prefix, none, or central's kind of id
    for (const id of ['counter-34:x', 'counter-12', '01JCD7X2W3', 'counter-12x:y']) {
      expect(cmd({ id, type: 'counter.next', counter: '1' })?.code, id).toBe('foreign-command-id');
    }
    // A refusal never carries another client's id (it would be the first result central or another
    // satellite takes for its own command), nor free text: not in the id, the type or the message.
    for (const id of ['c-7f3a', 'counter-3:01JD', '홍길동 010-1234-5678\u0000\n', 'counter-12:a b', 'counter-12:홍']) {
      expect(cmd({ id, type: 'ticket.issue', counter: '1' }), id).toMatchObject({
        id: null,
        code: 'foreign-command-id',
      });
    }
    const pd = cmd({ id: 'counter-12:p', type: '주민 900101-1234567', counter: '010-1234-5678' });
    expect(pd).toMatchObject({ id: 'counter-12:p', code: 'command-not-allowed' });
    expect(pd).not.toHaveProperty('type');
    const far = cmd({ id: 'counter-12:q', type: 'counter.next', counter: '010-1234-5678' });
    expect(far).toMatchObject({ code: 'counter-not-bound', type: 'counter.next' });
    expect(far?.message).not.toMatch(/010/);
    expect(cmd({ id: 'counter-12:r', type: 'counter.next', counter: '3' })?.message).toMatch(/counters 1, 2 only/);
    expect(satelliteCommandRefusal(sat, bytes('{not json'))).toMatchObject({ id: null, code: 'malformed' });
    expect(satelliteCommandRefusal(sat, bytes('[1]'))).toMatchObject({ id: null, code: 'not-an-object' });
    expect(satelliteCommandRefusal(sat, Buffer.from([0xff, 0xfe]))?.code).toBe('malformed');
  });

  it('publishes on its status topic only a status of the contract, its own, and small', () => {
    const topic = `${T}/devices/counter-12/status`;
    const ok = { v: 1, office: 'singok2', device: 'counter-12', online: true, session: 3 };
    expect(satelliteStatusProblem(sat, topic, bytes(ok))).toBeNull();
    expect(satelliteStatusProblem(sat, topic, Buffer.alloc(0))).toBeNull(); // clears its retained status
    expect(satelliteStatusProblem(sat, topic, bytes({ ...ok, note: '홍길동 010-1234-5678' }))).toMatch(/contract/);
    expect(satelliteStatusProblem(sat, topic, bytes({ ...ok, device: 'main' }))).toMatch(/another office or device/);
    expect(satelliteStatusProblem(sat, topic, bytes('not json'.repeat(2)))).toMatch(/contract|JSON/);
    expect(satelliteStatusProblem(sat, topic, Buffer.from([0xff]))).toMatch(/JSON/);
    const big = bytes({ ...ok, version: 'x'.repeat(60_000) });
    expect(satelliteStatusProblem(sat, topic, big)).toMatch(/at most 8192/);
    // central's and the daemon's publishes are not a satellite's
    expect(satelliteStatusProblem({ ...sat, role: 'central' }, topic, big)).toBeNull();
  });

  it('reads state, events, status and the results of its own commands only', () => {
    expect(mayRead(sat, `${T}/state`)).toBe(true);
    expect(mayRead(sat, `${T}/events`)).toBe(true);
    expect(mayRead(sat, `${T}/devices/main/status`)).toBe(true);
    expect(mayRead(sat, `${T}/cmd`)).toBe(false);
    expect(mayRead(sat, `${T}/cmd/result`, bytes({ v: 1, id: 'counter-12:a', ok: true }))).toBe(true);
    expect(mayRead(sat, `${T}/cmd/result`, bytes({ v: 1, id: 'c-7f3a', ok: true }))).toBe(false);
    expect(mayRead(sat, `${T}/cmd/result`, bytes({ v: 1, id: 'counter-34:a', ok: true }))).toBe(false);
    expect(mayRead(sat, `${T}/cmd/result`, bytes({ v: 1, id: null, ok: false }))).toBe(false);
    expect(mayRead(sat, `${T}/cmd/result`)).toBe(false);
    expect(mayRead(sat, 'beonho/v1/other/state')).toBe(false);
  });
});

describe('satellite configuration', () => {
  const office = { ...simulatorDefault, mqtt: { broker: { port: 0, wsPort: null } } };
  const problems = (input: unknown): string[] => {
    try {
      validateConfig(input);
      return [];
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
  };

  it('takes a satellite with its section, and a main unit with satellite accounts', () => {
    const c = validateConfig({
      ...office,
      role: 'satellite',
      device: { id: 'counter-12' },
      satellite: { main: { url: 'mqtt://192.168.0.10:1883', passwordEnv: 'BEONHO_MAIN_PASSWORD' }, counters: [1, 2] },
      outputs: { audio: { area: { counters: [3], services: ['passport'] } } },
    });
    expect(isSatellite(c)).toBe(true);
    expect(c.satellite).toMatchObject({ counters: ['1', '2'], keyTimeoutMs: 4000, main: { device: 'main' } });
    expect(c.outputs.audio.area).toEqual({ counters: ['3'], services: ['passport'] });
    const main = validateConfig({
      ...office,
      mqtt: {
        broker: {
          accounts: [
            { username: 'counter-12', passwordHash: HASH, role: 'satellite', offices: ['singok2'], counters: [1, 2] },
          ],
        },
      },
    });
    expect(isSatellite(main)).toBe(false);
    expect(main.mqtt.broker.accounts[0]!.counters).toEqual(['1', '2']);
  });

  it('refuses what would leave a satellite or its account ill-defined, one line per problem', () => {
    expect(problems({ ...office, role: 'satellite' })).toEqual([
      'satellite: role satellite needs the satellite section (main.url at least)',
    ]);
    expect(problems({ ...office, satellite: { main: { url: 'mqtt://m:1883' } } })).toEqual([
      'satellite: a satellite section needs role: satellite',
    ]);
    expect(
      problems({
        ...office,
        role: 'satellite',
        device: { id: 'counter-12' },
        satellite: { main: { url: 'mqtt://m:1883', username: 'other' }, counters: ['1', '9'] },
        outputs: { audio: { area: { counters: ['8'], services: ['tax'] } } },
      }),
    ).toEqual([
      'satellite.counters[1]: unknown counter "9"',
      'satellite.main.username: a satellite logs in with its device id (device.id "counter-12"), got "other"',
      'outputs.audio.area.counters[0]: unknown counter "8"',
      'outputs.audio.area.services[0]: unknown service "tax"',
    ]);
    const account = (a: Record<string, unknown>) =>
      problems({ ...office, mqtt: { broker: { accounts: [{ passwordHash: HASH, offices: ['singok2'], ...a }] } } });
    expect(account({ username: 'board', role: 'display', counters: [1] })).toEqual([
      'mqtt.broker.accounts[0].counters: counters are for role satellite only, got [1]',
    ]);
    expect(account({ username: 'Counter 12', role: 'satellite', counters: [1] })[0]).toMatch(
      /^mqtt\.broker\.accounts\[0\]\.username: a satellite account is named after its device id/,
    );
    // its command ids are the name, ':' and a 26-character ULID, and the broker takes at most 64:
    // a 38-character name, which a slug allows, could never send a key
    const long = 'x'.repeat(38);
    expect(account({ username: long, role: 'satellite', counters: [1] })[0]).toMatch(/1 to 37 long: its command ids/);
    expect(account({ username: 'x'.repeat(37), role: 'satellite', counters: [1] })).toEqual([]);
    expect(satelliteIdPrefix('x'.repeat(37)).length + 26).toBe(64);
    expect(
      problems({ ...office, role: 'satellite', device: { id: long }, satellite: { main: { url: 'mqtt://m:1883' } } }),
    ).toEqual([
      `device.id: a satellite's device id is at most 37 long: its command ids are the name, a colon and 26 characters, at most 64, got "${long}"`,
    ]);
    expect(account({ username: 'counter-12', role: 'satellite', offices: ['*'], counters: [1] })).toEqual([
      'mqtt.broker.accounts[0].offices: a satellite belongs to exactly one office, got ["*"]',
    ]);
    expect(account({ username: 'counter-12', role: 'satellite', counters: [7] })).toEqual([
      'mqtt.broker.accounts[0].counters[0]: unknown counter "7"',
    ]);
    // named as this unit, a satellite's retained status and will would overwrite the main unit's
    expect(account({ username: 'main', role: 'satellite', counters: [1] })).toEqual([
      `mqtt.broker.accounts[0].username: a satellite account cannot be named "main", this unit's own device.id (its status topic)`,
    ]);
  });
});

describe("a unit's voice area", () => {
  it('announces the calls of its counters or services, or every call without an area', () => {
    const all = areaFilter(undefined);
    expect(all('1', 'resident')).toBe(true);
    const upstairs = areaFilter({ counters: ['3'], services: ['passport'] });
    expect(upstairs('3', 'resident')).toBe(true);
    expect(upstairs('4', 'passport')).toBe(true);
    expect(upstairs('1', 'resident')).toBe(false);
    expect(areaFilter({ counters: [] })('1', 'resident')).toBe(false);
  });
});

const mirrorConfig = validateConfig({ ...simulatorDefault, mqtt: { enabled: false } });

function state(seq: number) {
  const m = new StateMirror({ config: mirrorConfig, bus: new Bus(), now: () => 0, logger: silent });
  return { ...m.snapshot(), seq };
}

function listen(bus: Bus) {
  const seen: Array<[keyof BusEvents, unknown]> = [];
  bus.on('queueEvents', seen, ({ events }) => seen.push(['queueEvents', events.map((e) => e.seq)]));
  bus.on('snapshotChanged', seen, ({ seq }) => seen.push(['snapshotChanged', seq]));
  return seen;
}

describe("the satellite's mirror of the main unit", () => {
  it('shows the configured office with no day until the main unit speaks', () => {
    const m = new StateMirror({ config: mirrorConfig, bus: new Bus(), now: () => 0, logger: silent });
    expect(m.snapshot()).toMatchObject({ office: 'singok2', seq: 0, open: false });
    expect(m.snapshot().counters.map((c) => c.id)).toEqual(['1', '2', '3', '4']);
    expect(m.known).toBe(false);
  });

  it('hands on only events after the first state of each connection, each once', () => {
    const bus = new Bus();
    const m = new StateMirror({ config: mirrorConfig, bus, now: () => 0, logger: silent });
    const seen = listen(bus);
    m.connected();
    // a restarted main unit replays its outbox before its state: held, then dropped as old
    m.event(calledEvent(4, '1001'));
    m.event(calledEvent(6, '1002'));
    m.state(state(5));
    expect(seen).toEqual([
      ['snapshotChanged', 5],
      ['queueEvents', [6]],
    ]);
    m.event(calledEvent(6, '1002')); // a repeat (at-least-once)
    m.event(calledEvent(7, '1003'));
    m.state(state(7));
    expect(seen.slice(2)).toEqual([
      ['queueEvents', [7]],
      ['snapshotChanged', 7],
    ]);
    expect(m.snapshot().seq).toBe(7);
    // the link returns: calls made meanwhile are in the new state, never spoken
    m.connected();
    expect(m.current).toBe(false);
    m.event(calledEvent(9, '1005'));
    m.state(state(10));
    m.event(calledEvent(11, '1006'));
    expect(seen.slice(4)).toEqual([
      ['snapshotChanged', 10],
      ['queueEvents', [11]],
    ]);
    expect(m.current).toBe(true);
  });

  it('keeps the newest state of a connection when an older one comes after it', () => {
    const bus = new Bus();
    const m = new StateMirror({ config: mirrorConfig, bus, now: () => 0, logger: silent });
    m.connected();
    m.state(state(7));
    m.state(state(5));
    expect(m.snapshot().seq).toBe(7);
    m.state(state(7)); // the same state again (a republish) is taken
    m.state(state(8));
    expect(m.snapshot().seq).toBe(8);
    // a new connection takes its first state whatever its seq (a main unit with new data)
    m.connected();
    m.state(state(2));
    expect(m.snapshot().seq).toBe(2);
  });

  it("ignores another office's state and what is not an event", () => {
    const bus = new Bus();
    const m = new StateMirror({ config: mirrorConfig, bus, now: () => 0, logger: silent });
    const seen = listen(bus);
    m.connected();
    m.state({ ...state(3), office: 'other' });
    m.state({ ...state(3), v: 2 } as unknown as Snapshot);
    m.event({ type: 'ticket.called' } as unknown as QueueEvent);
    expect(seen).toEqual([]);
    expect(m.known).toBe(false);
  });

  it("says once, not at every reconnection, that the main unit's office differs from its config", () => {
    const said: Array<{ level: number; code?: string }> = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void said.push(JSON.parse(line)) });
    const m = new StateMirror({ config: mirrorConfig, bus: new Bus(), now: () => 0, logger });
    const differs = () => said.filter((l) => l.code === 'main-config-differs' && l.level >= 40).length;
    const extra = {
      id: '9',
      name: '9번 창구',
      status: 'closed',
      ticket: null,
      services: [],
    } as Snapshot['counters'][number];
    const other = (seq: number) => ({ ...state(seq), counters: [...state(seq).counters, extra] });
    // a link that reconnects all day (Wi-Fi, a key's reset)
    for (let seq = 1; seq <= 5; seq++) {
      m.connected();
      m.state(other(seq));
    }
    expect(differs()).toBe(1);
    // the same office again, then another difference: each said
    m.connected();
    m.state(state(6));
    m.connected();
    m.state(other(7));
    expect(differs()).toBe(2);
    // a counter renamed on the main unit: the board shows its new name, the voice says this
    // satellite's config's (the announcer names counters from it)
    const renamed = (seq: number) => {
      const s = state(seq);
      return { ...s, counters: s.counters.map((c) => (c.id === '3' ? { ...c, name: '여권 창구' } : c)) };
    };
    m.connected();
    m.state(renamed(8));
    m.connected();
    m.state(renamed(9));
    expect(differs()).toBe(3);
    expect(said.at(-1)).toMatchObject({ renamed: ['3: "3번 창구" -> "여권 창구"'] });
  });
});

describe("a satellite's keys", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  function rig(up = true, clock = { t: 0 }) {
    const bus = new Bus();
    const sent: Command[] = [];
    const aborted: string[] = [];
    const link = {
      up,
      send(cmd: Command): Promise<void> | null {
        if (!this.up) return null;
        sent.push(cmd);
        return Promise.resolve();
      },
      abort(reason: string): void {
        aborted.push(reason);
      },
    };
    const keypads = new SimKeypads(['1', '2']);
    let n = 0;
    const keys = new SatelliteKeys({
      keypads,
      link,
      bus,
      logger: silent,
      username: 'counter-12',
      newId: () => `k${++n}`,
      timeoutMs: 4000,
      messageSeconds: 5,
      monotonic: () => clock.t,
    });
    const shown: Array<{ counter: string; message: string }> = [];
    bus.on('counterMessage', shown, ({ counter, message }) => shown.push({ counter, message }));
    return { keys, keypads, link, sent, shown, aborted };
  }

  const ok = (id: string, type: string, number?: string): CommandResult => ({
    v: 1,
    id,
    type,
    ok: true,
    result: {
      ...(number ? { ticket: { number, service: 'resident', channel: 'kiosk', priority: false } } : {}),
      seq: 9,
    },
  });

  it("holds every counter's keys here for a while after a rate-limited answer, so the fourth does not cut the unit off", async () => {
    const clock = { t: 0 };
    const r = rig(true, clock);
    await r.keys.start();
    r.keypads.input('1', { type: 'next' });
    r.keys.result({ v: 1, id: 'counter-12:k1', ok: false, error: { code: 'rate-limited', message: 'x' } });
    clock.t += RATE_HOLD_MS - 1;
    r.keypads.input('2', { type: 'next' });
    r.keypads.input('1', { type: 'recall' });
    expect(r.sent).toHaveLength(1);
    expect(r.shown.map((m) => m.message)).toEqual([
      '키 입력이 너무 잦음 — 잠시 후 다시',
      '키 입력이 너무 잦음 — 잠시 후 다시',
      '키 입력이 너무 잦음 — 잠시 후 다시',
    ]);
    clock.t += 1;
    r.keypads.input('2', { type: 'next' });
    expect(r.sent.map((c) => c.id)).toEqual(['counter-12:k1', 'counter-12:k2']);
    await r.keys.stop();
  });

  it("sends the contract's command and shows the main unit's answer on that counter", async () => {
    const r = rig();
    await r.keys.start();
    r.keypads.input('1', { type: 'next' });
    expect(r.sent).toEqual([{ id: 'counter-12:k1', type: 'counter.next', counter: '1' }]);
    r.keys.result(ok('counter-12:k1', 'counter.next', '1035'));
    r.keypads.input('2', { type: 'call', number: '1040' });
    expect(r.sent[1]).toEqual({ id: 'counter-12:k2', type: 'counter.call', counter: '2', number: '1040' });
    r.keys.result({
      v: 1,
      id: 'counter-12:k2',
      type: 'counter.call',
      ok: false,
      error: { code: 'not-callable', message: 'x' },
    });
    r.keypads.input('1', { type: 'next' });
    r.keys.result({ v: 1, id: 'counter-12:k3', ok: false, error: { code: 'no-waiting', message: 'x' } });
    r.keys.result(ok('someone-else:k9', 'counter.next', '1099')); // not ours: nothing shown
    expect(r.shown).toEqual([
      { counter: '1', message: '1035 호출' },
      { counter: '2', message: '호출할 수 없는 번호' },
      { counter: '1', message: '대기 없음' },
    ]);
    expect(r.keys.inFlight).toBe(0);
    await r.keys.stop();
  });

  it('refuses a key at once while the link is down, and never sends it later', async () => {
    const r = rig(false);
    await r.keys.start();
    r.keypads.input('1', { type: 'next' });
    expect(r.shown).toEqual([{ counter: '1', message: '본체 연결 끊김 — 키 무시됨' }]);
    r.link.up = true; // the link returns: the refused key stays refused
    await Promise.resolve();
    expect(r.sent).toEqual([]);
    expect(r.keys.inFlight).toBe(0);
    await r.keys.stop();
  });

  it('shows a key with no answer as unknown, after the time-out or when the link drops', async () => {
    vi.useFakeTimers();
    const r = rig();
    await r.keys.start();
    r.keypads.input('1', { type: 'next' });
    r.keypads.input('1', { type: 'recall' }); // the first has no answer yet
    r.keypads.input('2', { type: 'next' });
    expect(r.sent.map((c) => c.id)).toEqual(['counter-12:k1', 'counter-12:k2']);
    vi.advanceTimersByTime(3999);
    expect(r.shown).toEqual([{ counter: '1', message: '이전 키 처리 중' }]);
    r.keys.linkDown();
    expect(r.shown.slice(1)).toEqual([
      { counter: '1', message: '연결 끊김 — 처리 여부 확인' },
      { counter: '2', message: '연결 끊김 — 처리 여부 확인' },
    ]);
    r.keypads.input('1', { type: 'next' });
    expect(r.aborted).toEqual([]);
    // the link is reset before the clerk is told (satellite-stall.test.ts): told first, a path back
    // in between could still carry the key after it showed as failed
    const resetWhenShown: string[][] = [];
    r.keys.onOutcome(() => resetWhenShown.push([...r.aborted]));
    vi.advanceTimersByTime(4000);
    expect(r.shown.at(-1)).toEqual({ counter: '1', message: '응답 없음 — 처리 여부 확인' });
    expect(resetWhenShown).toEqual([['key-timeout']]);
    expect(r.aborted).toEqual(['key-timeout']);
    // an answer after the time-out changes nothing shown
    r.keys.result(ok('counter-12:k3', 'counter.next', '1001'));
    expect(r.shown).toHaveLength(4);
    await r.keys.stop();
  });
});

class MemorySink implements DisplaySink {
  readonly kind = 'memory';
  frames = 0;
  async open(): Promise<void> {}
  async write(_f: Frame): Promise<void> {
    this.frames++;
  }
  async close(): Promise<void> {}
  health() {
    return healthy();
  }
}

describe("a satellite's board (the main unit's BoardExtension over the mirror)", () => {
  it("draws the mirror's state, a key's result on its counter, and the lost link on every display", async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'setInterval', 'Date'] });
    try {
      let t = Date.parse('2026-11-26T10:00:00+09:00');
      const bus = new Bus();
      const mirror = new StateMirror({ config: mirrorConfig, bus, now: () => t, logger: silent });
      const wall = new MemorySink();
      const c1 = new MemorySink();
      const ext = new BoardExtension(
        { config: mirrorConfig, bus, logger: silent, dataDir: '/nonexistent', now: () => t },
        {
          snapshot: () => mirror.snapshot(),
          outputs: [
            { sink: wall, target: { kind: 'board', layout: 'landscape' }, ...REFERENCE.landscape },
            { sink: c1, target: { kind: 'counter', counterId: '1' }, ...REFERENCE.counter },
          ],
        },
      );
      await ext.start();
      expect(ext.model()?.snapshot.seq).toBe(0); // the configured office before the main unit speaks
      mirror.connected();
      mirror.state({ ...state(7), open: true });
      await ext.idle();
      expect(ext.model()?.snapshot.seq).toBe(7);
      const frames = c1.frames;
      bus.emit('counterMessage', { counter: '1', message: '1035 호출', seconds: 5 });
      await ext.idle();
      expect(ext.model()?.counterNotes).toEqual({ '1': '1035 호출' });
      expect(c1.frames).toBe(frames + 1);
      bus.emit('mainLinkChanged', { online: false });
      await ext.idle();
      const m = ext.model()!;
      expect(m.alert).toBe(MAIN_LINK_DOWN);
      // the key's own message first, the lost link on the other counters
      expect(m.counterNotes).toMatchObject({ '1': '1035 호출', '2': MAIN_LINK_DOWN, '4': MAIN_LINK_DOWN });
      t += 5001;
      vi.advanceTimersByTime(5001);
      await ext.idle();
      expect(ext.model()?.counterNotes?.['1']).toBe(MAIN_LINK_DOWN);
      bus.emit('mainLinkChanged', { online: true });
      await ext.idle();
      expect(ext.model()?.counterNotes).toBeUndefined();
      expect(ext.model()?.alert).toBeNull();
      await ext.stop();
    } finally {
      vi.useRealTimers();
    }
  });
});
