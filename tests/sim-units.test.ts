// The simulator's parts without a browser: the page hub (validation, fault switches that survive a
// restart), the network cable, the simulated central's ACL, the core config rewrite, the
// supervisor's own options.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { type AddressInfo, createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { PassThrough } from 'node:stream';
import path from 'node:path';
import mqtt from 'mqtt';
import { parse } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { simulatorDefault } from '../device/config/default.ts';
import { CLOSED_REASONS } from '../device/queue/types.ts';
import { closedReasonText, counterStatusText } from '../display/board/model.ts';
import { loadConfig } from '../device/config/load.ts';
import { startCable } from '../sim/cable.ts';
import { mayPublish, mayRead } from '../sim/central/acl.ts';
import { readAccounts, startCentralBroker } from '../sim/central/broker.ts';
import { counterView } from '../sim/central/citizen.ts';
import { eventText } from '../sim/event-text.ts';
import { ActionError, type CoreHandle, SimHub } from '../sim/hub.ts';
import type { OfficeLayout, SupervisorMessage } from '../sim/ipc-protocol.ts';
import { cableTarget, readConfigDoc, writeCoreConfig } from '../sim/sim-config.ts';
import { COUNTER_STATUS, counterLabel, serviceLine, voiceText } from '../sim/page/words.js';
import { CoreProcess, forwardTerminal, splitArgs } from '../sim/supervisor.ts';
import { captureLogger } from './hw-fakes.ts';
import { pino } from 'pino';
import { SimPrinter } from '../display/printer/sim-printer.ts';
import { SimKeypads } from '../sim/keypads.ts';
import type { Snapshot } from '../device/queue/snapshot-types.ts';

const layout: OfficeLayout = {
  office: 'singok2',
  name: '신곡2동 행정복지센터',
  timeZone: 'Asia/Seoul',
  dataDir: '/tmp/x',
  buttons: [{ id: 'resident', label: '주민등록', service: 'resident', priority: false }],
  counters: [
    { id: '1', name: '1번 창구', services: ['resident'] },
    { id: '2', name: '2번 창구', services: ['resident'] },
  ],
  services: [{ id: 'resident', name: '주민등록' }],
  simInputs: true,
  canUnplug: true,
  canPaperOut: true,
};
const snapshot = { seq: 3, services: [], counters: [], recentCalls: [] } as unknown as Snapshot;

function fakeCore(): CoreHandle & { lines: string[]; sent: SupervisorMessage[]; cuts: string[]; kills: number } {
  const core = {
    lines: [] as string[],
    sent: [] as SupervisorMessage[],
    cuts: [] as string[],
    kills: 0,
    line: (t: string) => core.lines.push(t) > 0,
    send: (m: SupervisorMessage) => core.sent.push(m) > 0,
    powerCut: () => {
      core.kills++;
    },
    cable: { cut: () => core.cuts.push('cut'), restore: () => core.cuts.push('restore') },
  };
  return core;
}

describe('SimHub', () => {
  it('turns page actions into the terminal words and refuses what the office does not have', () => {
    const core = fakeCore();
    const hub = new SimHub(core, () => Date.UTC(2026, 10, 26, 1, 0));
    expect(() => hub.press('resident')).toThrow(ActionError); // core not up yet
    hub.fromCore({ kind: 'ready', layout, snapshot });
    hub.press('resident');
    hub.key({ counter: '1', action: 'next' });
    hub.key({ counter: '2', action: 'call', number: '1035' });
    hub.key({ counter: '2', action: 'transfer', toService: 'resident' });
    expect(core.lines).toEqual(['press resident', 'key 1 next', 'key 2 call 1035', 'key 2 transfer service resident']);
    expect(() => hub.press('nope')).toThrow(/no dispenser button/);
    expect(() => hub.key({ counter: '9', action: 'next' })).toThrow(/no counter/);
    expect(() => hub.key({ counter: '1', action: 'call', number: '1 ; rm' })).toThrow(ActionError);
    expect(() => hub.key({ counter: '1', action: 'explode' })).toThrow(/no keypad key/);
    expect(core.lines).toHaveLength(4);
    expect(hub.state.log[0]).toMatchObject({ kind: 'system', at: '2026-11-26T10:00:00.000+09:00' });
  });

  it('refuses presses and keys when real hardware is attached (no terminal control to type into)', () => {
    const core = fakeCore();
    const hub = new SimHub(core);
    hub.fromCore({ kind: 'ready', layout: { ...layout, simInputs: false }, snapshot });
    expect(() => hub.press('resident')).toThrow(expect.objectContaining({ code: 'sim-real-inputs' }));
    expect(() => hub.key({ counter: '1', action: 'next' })).toThrow(
      expect.objectContaining({ code: 'sim-real-inputs' }),
    );
    expect(core.lines).toEqual([]);
  });

  it('keeps hardware faults across a restart of the core and refuses an unplugged keypad', () => {
    const core = fakeCore();
    const hub = new SimHub(core);
    hub.fromCore({ kind: 'ready', layout, snapshot });
    hub.setKeypad('2', false);
    hub.setPaper(true);
    expect(() => hub.key({ counter: '2', action: 'next' })).toThrow(/뽑혀/);
    hub.powerCut();
    expect(core.kills).toBe(1);
    hub.coreState('down', '전원 차단');
    expect(() => hub.powerCut()).toThrow(ActionError);
    core.sent.length = 0;
    hub.fromCore({ kind: 'ready', layout, snapshot });
    expect(core.sent).toEqual([
      { kind: 'keypad-plug', counter: '2', plugged: false },
      { kind: 'paper', state: 'out' },
    ]);
    hub.setLink(false);
    hub.setLink(true);
    expect(core.cuts).toEqual(['cut', 'restore']);
  });

  it('logs queue events in Korean with their own time, newest first', () => {
    const hub = new SimHub(fakeCore());
    hub.fromCore({ kind: 'ready', layout, snapshot });
    hub.fromCore({
      kind: 'events',
      snapshot,
      events: [
        {
          v: 1,
          office: 'singok2',
          seq: 4,
          id: 'a',
          at: '2026-11-26T10:01:00.000+09:00',
          type: 'ticket.issued',
          ticket: {
            number: '1001',
            service: 'resident',
            channel: 'kiosk',
            priority: false,
            ahead: 2,
            estimatedWaitMin: 8,
          },
        },
        {
          v: 1,
          office: 'singok2',
          seq: 5,
          id: 'b',
          at: '2026-11-26T10:02:00.000+09:00',
          type: 'ticket.called',
          ticket: { number: '1001', service: 'resident', channel: 'kiosk', priority: false },
          counter: '1',
        },
      ],
    });
    expect(hub.state.log.slice(0, 2).map((e) => [e.at.slice(11, 16), e.text])).toEqual([
      ['10:02', '호출 1001번 → 1번 창구'],
      ['10:01', '발권 1001번 (주민등록) · 앞 2명 · 약 8분'],
    ]);
  });

  it('names a counter as the board does, not by its id (a counter 민원실 with id 5 was "5번 창구")', () => {
    const hub = new SimHub(fakeCore());
    hub.fromCore({
      kind: 'ready',
      layout: { ...layout, counters: [{ id: '5', name: '민원실', services: ['resident'] }] },
      snapshot,
    });
    const call = { v: 1 as const, office: 'singok2', id: 'c', at: '2026-11-26T10:02:00.000+09:00' };
    const ticket = { number: '1001', service: 'resident', channel: 'kiosk' as const, priority: false };
    hub.fromCore({
      kind: 'events',
      snapshot,
      events: [
        { ...call, seq: 5, type: 'ticket.called', ticket, counter: '5' },
        { ...call, seq: 6, type: 'ticket.transferred', ticket, counter: '5', toCounter: '5' },
        { ...call, seq: 7, type: 'ticket.completed', ticket, counter: '5', serviceSec: 240 },
      ],
    });
    expect(hub.state.log.slice(0, 3).map((e) => e.text)).toEqual([
      '완료 1001번 (민원실)',
      '이관 1001번 → 민원실',
      '호출 1001번 → 민원실',
    ]);
    hub.setKeypad('5', false);
    expect(hub.state.log[0]!.text).toBe('민원실 키패드 뽑음');
  });

  // The log is Korean for the clerk: a refused key read "거절: no ticket 5 today", the queue's
  // English, where the counter's own display says 호출할 수 없는 번호.
  it('says a refused key in Korean, as the counter display does, and names the counter', () => {
    const hub = new SimHub(fakeCore());
    hub.fromCore({
      kind: 'ready',
      layout: { ...layout, counters: [{ id: '5', name: '민원실', services: ['resident'] }] },
      snapshot,
    });
    hub.fromCore({ kind: 'refused', source: 'keypad:5', code: 'unknown-ticket', message: 'no ticket 5 today' });
    expect(hub.state.log[0]!.text).toBe('민원실 키 거절: 호출할 수 없는 번호');
    hub.fromCore({ kind: 'refused', source: 'keypad:5', code: 'no-waiting', message: 'nobody is waiting' });
    expect(hub.state.log[0]!.text).toBe('민원실 키 거절: 대기 없음');
    const press = '여권 발권이 마감되었습니다 (17:30 마감)';
    hub.fromCore({ kind: 'refused', source: 'button:passport', code: 'cutoff-passed', message: press });
    expect(hub.state.log[0]!.text).toBe(`발권 거절: ${press}`);
  });

  it('describes every kind of call event', () => {
    const byId = (id: string) => `${id}번 창구`;
    const name = (id: string) => (id === 'passport' ? '여권' : id);
    const base = { v: 1 as const, office: 'o', seq: 1, id: 'x', at: '2026-11-26T10:00:00.000+09:00' };
    const ticket = { number: '2001', service: 'passport', channel: 'online' as const, priority: true };
    expect(
      eventText({ ...base, type: 'ticket.issued', ticket: { ...ticket, ahead: 0, estimatedWaitMin: 0 } }, name, byId),
    ).toBe('온라인 발권 2001번 (여권, 교통약자) · 앞 0명 · 곧 호출');
    expect(eventText({ ...base, type: 'ticket.near', ticket, ahead: 3, threshold: 3 }, name, byId)).toBe(
      '알림 2001번 차례 임박 (앞 3명)',
    );
    expect(
      eventText({ ...base, type: 'counter.changed', counter: { id: '1', status: 'idle', ticket: null } }, name, byId),
    ).toBeNull();
  });
});

describe("the page's words", () => {
  // The counter card sits beside its display's frame, the dispenser buttons beside the board.
  it("say each counter's and each service's state as the board does", () => {
    for (const status of ['idle', 'serving', 'paused', 'closed'] as const) {
      expect(COUNTER_STATUS[status]).toBe(counterStatusText({ id: '1', status, ticket: null } as never));
    }
    for (const reason of [...CLOSED_REASONS, undefined]) {
      expect(serviceLine({ accepting: false, closedReason: reason, waiting: 3, estimatedWaitMin: 6 })).toBe(
        closedReasonText(reason),
      );
    }
    expect(serviceLine({ accepting: true, waiting: 0, estimatedWaitMin: 0 })).toBe('대기 0명 · 바로');
    expect(serviceLine({ accepting: true, waiting: 3, estimatedWaitMin: 6 })).toBe('대기 3명 · 약 6분');
  });

  // The satellite panel named counters "<id>번 창구" and services by their ids ("안내 방송: 2번 창구,
  // passport") where the board and the voice say 여권 창구 and 여권.
  it("name a satellite's counters and voice area as the board does", () => {
    const office = {
      counters: [{ id: '2', name: '여권 창구' }],
      services: [{ id: 'passport', name: '여권' }],
    };
    expect(counterLabel(office, '2')).toBe('여권 창구');
    expect(counterLabel(office, '7')).toBe('7번 창구');
    expect(counterLabel(null, '2')).toBe('2번 창구');
    expect(voiceText({ counters: ['2'], services: ['passport'] }, office)).toBe('안내 방송: 여권 창구, 여권');
    expect(voiceText({ counters: [], services: [] }, office)).toBe('안내 방송: 전체');
    expect(voiceText(null, office)).toBe('안내 방송 없음');
  });
});

describe('the network cable', () => {
  let echo: Server;
  const sockets = new Set<Socket>();
  afterEach(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => echo?.close(r));
  });

  it('passes bytes, drops the line when cut, refuses new connections until restored', async () => {
    echo = createServer((s) => {
      sockets.add(s);
      s.pipe(s);
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    const cable = await startCable({ host: '127.0.0.1', port: (echo.address() as AddressInfo).port });
    const connect = (): Promise<Socket> =>
      new Promise((resolve, reject) => {
        const s = createConnection({ host: '127.0.0.1', port: cable.port }, () => resolve(s));
        s.on('error', reject);
      });
    const roundTrip = (s: Socket, text: string): Promise<string> =>
      new Promise((resolve) => {
        s.once('data', (d) => resolve(d.toString()));
        s.write(text);
      });

    const a = await connect();
    expect(await roundTrip(a, 'hello')).toBe('hello');
    const closed = new Promise((r) => a.on('close', r));
    cable.cut();
    await closed;
    expect(cable.connected).toBe(false);
    const b = await connect();
    await new Promise((r) => b.on('close', r)); // accepted, then dropped at once
    cable.restore();
    const c = await connect();
    expect(await roundTrip(c, 'again')).toBe('again');
    c.destroy();
    await cable.close();
  });
});

describe('the simulated central', () => {
  it('lets central command and read its offices, and an office publish only its own topics', async () => {
    const central = { username: 'central', role: 'central' as const, offices: ['*'] };
    const office = { username: 'singok2', role: 'office' as const, offices: ['singok2'] };
    expect(mayPublish(central, 'beonho/v1/singok2/cmd')).toBe(true);
    expect(mayPublish(central, 'beonho/v1/singok2/state')).toBe(false);
    expect(mayRead(central, 'beonho/v1/hoewon1/events')).toBe(true);
    expect(mayPublish(office, 'beonho/v1/singok2/state')).toBe(true);
    expect(mayPublish(office, 'beonho/v1/singok2/devices/main/status')).toBe(true);
    expect(mayPublish(office, 'beonho/v1/singok2/cmd')).toBe(false);
    expect(mayPublish(office, 'beonho/v1/hoewon1/state')).toBe(false);
    expect(mayRead(office, 'beonho/v1/singok2/cmd')).toBe(true);
    expect(mayRead(office, 'beonho/v1/hoewon1/cmd')).toBe(false);
    expect(mayRead(office, 'beonho/v1/singok2/events')).toBe(false);
    const accounts = await readAccounts(path.resolve(import.meta.dirname, '../sim/central/accounts.yaml'));
    expect(accounts.map((a) => a.username).sort()).toEqual(['central', 'cityhall', 'hoewon1', 'singok2']);
  });

  it("logs no phone or resident number, nor a name, that a client put in its id or a topic (the office broker's rule)", async () => {
    const { logger, lines } = captureLogger();
    const accounts = await readAccounts(path.resolve(import.meta.dirname, '../sim/central/accounts.yaml'));
    const broker = await startCentralBroker({ accounts, tcpPort: 0, wsPort: 0 }, logger);
    try {
      const url = `mqtt://127.0.0.1:${broker.ports.tcp}`;
      const connect = (o: { username: string; password: string; clientId: string }) =>
        new Promise<mqtt.MqttClient>((resolve) => {
          const c = mqtt.connect(url, { ...o, reconnectPeriod: 0 });
          c.on('connect', () => resolve(c));
          c.on('error', () => resolve(c));
        });
      (await connect({ username: 'nobody', password: 'x', clientId: '010-1234-5678' })).end(true);
      const office = await connect({ username: 'singok2', password: 'singok2-uplink', clientId: '900101-1234567' });
      office.publish('beonho/v1/hoewon1/010-9876-5432/홍길동', 'x');
      await new Promise<void>((r) => office.once('close', () => r()));
      // the log's own numbers (time, pid, a client's port) may hold those digits by chance: a
      // number a client sent is in a string, and a port is left out of the text searched
      const text = JSON.stringify(lines, (_k, v) => (typeof v === 'number' ? undefined : v)).replace(
        /(127\.0\.0\.1|::1|localhost):\d+/g,
        '$1:PORT',
      );
      for (const code of ['mqtt-auth-refused', 'mqtt-publish-denied'])
        expect(lines.some((l) => l.code === code)).toBe(true);
      expect(text).not.toMatch(/1234|5678|9876|홍길동/);
    } finally {
      await broker.close();
    }
  });
});

describe('the supervisor', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('says so when a line typed while the core is off is not run', async () => {
    const input = new PassThrough();
    let up = true;
    const sent: string[] = [];
    const said: string[] = [];
    forwardTerminal(input, { line: (t) => up && sent.push(t) > 0 }, (t) => said.push(t));
    input.write('press resident\n');
    up = false;
    input.end('key 1 next\n\n');
    await new Promise((resolve) => input.once('end', resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent).toEqual(['press resident']);
    expect(said).toEqual([
      'the core is off (power cut or restart): "key 1 next" was not run; type it again once it is back',
    ]);
  });

  // A core that says it is ready and dies at once (a crash right after its start): the supervisor
  // reads the "ready" after the core's channel has closed, still counted as open, and re-sends the
  // page's fault switches (paper out) into a broken pipe. That EPIPE came as an 'error' event
  // nobody listened to, and ended the supervisor: the whole simulator stopped.
  it('survives a message to a core that has just died, and starts it again', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'beonho-simcore-'));
    const entry = path.join(dir, 'core.mjs');
    const gone = path.join(dir, 'channel-closed');
    // Its channel closes before its process ends, so the pipe is broken before the supervisor
    // hears of any exit (which comes in a race with the channel otherwise).
    await writeFile(
      entry,
      `import { writeFileSync } from 'node:fs';
process.send(${JSON.stringify({ kind: 'ready', layout, snapshot })}, () => {
  process.disconnect();
  setImmediate(() => writeFileSync(${JSON.stringify(gone)}, ''));
  setTimeout(() => process.exit(0), 300);
});
`,
    );
    const { logger, lines } = captureLogger();
    const downs: string[] = [];
    let starts = 0;
    const core: CoreProcess = new CoreProcess({
      entry,
      args: [],
      logger,
      starting: () => {
        starts++;
      },
      message: (msg) => hub.fromCore(msg),
      down: (text) => downs.push(text),
      refused: () => undefined,
    });
    const hub = new SimHub({
      line: (t) => core.line(t),
      send: (m) => core.send(m),
      powerCut: () => core.powerCut(),
      cable: null,
    });
    hub.state.faults.paperOut = true;
    try {
      core.spawn();
      // Nothing is read from the core until its channel has closed: its "ready" and the end of the
      // channel wait in the socket together.
      const until = Date.now() + 10_000;
      while (!existsSync(gone) && Date.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
      await expect.poll(() => downs.length, { timeout: 10_000 }).toBeGreaterThan(0);
      expect(lines.some((l) => l.code === 'sim-core-down' && /EPIPE/.test(String(l.err)))).toBe(true);
      // and it is started again, as after any crash
      await expect.poll(() => starts, { timeout: 10_000 }).toBeGreaterThan(1);
    } finally {
      await core.stop();
    }
  });

  it('keeps its own options and hands the rest to the core', () => {
    expect(splitArgs(['--sim-port', '0', '-d', 'x', '--no-stdin', '--broker-port=1'], {})).toEqual({
      simPort: 0,
      core: ['-d', 'x', '--broker-port=1'],
      stdin: false,
      satellites: [],
    });
    expect(splitArgs(['--satellite', 'a.yaml', '-d', 'x', '--satellite=b.yaml'], {})).toMatchObject({
      core: ['-d', 'x'],
      satellites: ['a.yaml', 'b.yaml'],
    });
    expect(splitArgs([], { BEONHO_SIM_PORT: '9090' }).simPort).toBe(9090);
    expect(splitArgs(['--sim-port=8181'], {}).simPort).toBe(8181);
  });

  it('routes a loopback TCP uplink through the cable and leaves everything else valid', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'beonho-simcfg-'));
    const doc = await readConfigDoc(undefined);
    expect(doc).toEqual(simulatorDefault);
    expect(cableTarget(doc)).toEqual({ host: '127.0.0.1', port: 1884 });
    expect(cableTarget({ mqtt: { uplink: { url: 'mqtts://central.example.kr:8883' } } })).toBeNull();
    expect(cableTarget({ mqtt: { uplink: { url: 'ws://127.0.0.1:9002' } } })).toBeNull();
    const file = await writeCoreConfig(doc, dir, 45678);
    expect((parse(await readFile(file, 'utf8')) as { mqtt: { uplink: { url: string } } }).mqtt.uplink.url).toBe(
      'mqtt://127.0.0.1:45678',
    );
    const { config } = await loadConfig(file);
    expect(config.office.id).toBe('singok2');
    expect(simulatorDefault.mqtt?.uplink?.url).toBe('mqtt://127.0.0.1:1884'); // the default is not mutated
  });
});

describe("the citizen's ticket page", () => {
  // "<counter>(으)로 오세요" when called: the page wrote 로 after every name (민원 3로, 상담석로).
  it('gets the particle after the counter name with it', () => {
    const state = {
      counters: [
        { id: '1', name: '1번 창구', status: 'idle' as const, ticket: null, services: [] },
        { id: '2', name: '민원 3', status: 'idle' as const, ticket: null, services: [] },
        { id: '3', name: '상담석', status: 'idle' as const, ticket: null, services: [] },
        { id: '4', name: '민원실(2층)', status: 'idle' as const, ticket: null, services: [] },
      ],
    };
    expect(
      ['1', '2', '3', '4', '9'].map((id) => {
        const c = counterView(state, id);
        return `${c.name}${c.ro}`;
      }),
    ).toEqual(['1번 창구로', '민원 3으로', '상담석으로', '민원실(2층)로', '9번 창구로']);
  });
});

describe("the simulator's printer and keypads in the device status", () => {
  it('stamp when their fault began, as the drivers do, and clear it with the fault', () => {
    const printer = new SimPrinter('/nonexistent', pino({ level: 'silent' }));
    expect(printer.health()).toMatchObject({ lastError: null, lastErrorAt: null });
    const before = Date.now();
    printer.setPaper('out');
    const out = printer.health();
    expect(out.lastError).toBe('printer-paper-out');
    expect(Date.parse(out.lastErrorAt!)).toBeGreaterThanOrEqual(before - 1);
    printer.setPaper('out'); // still out: the same moment
    expect(printer.health().lastErrorAt).toBe(out.lastErrorAt);
    printer.setPaper('ok');
    expect(printer.health()).toMatchObject({ lastError: null, lastErrorAt: null });

    const keypads = new SimKeypads(['1', '2']);
    keypads.setPlugged('2', false);
    const h = keypads.health();
    expect(h['1']).toMatchObject({ connected: true, lastErrorAt: null });
    expect(h['2']).toMatchObject({ connected: false, lastError: 'keypad-unplugged' });
    expect(Date.parse(h['2']!.lastErrorAt!)).toBeGreaterThanOrEqual(before - 1);
    keypads.setPlugged('2', true);
    expect(keypads.health()['2']).toMatchObject({ connected: true, lastErrorAt: null });
  });
});
