// What the simulator page shows and what its controls do, kept by the supervisor so it outlives a
// power cut of the core: the office layout, the last snapshot, the event log, the fault switches,
// the output files seen. Page actions become terminal lines for the core (the same words a person
// types) or IPC messages for the fault switches.
import { keyRefusalForClerks } from '../device/messages-ko.ts';
import type { Snapshot } from '../device/queue/snapshot-types.ts';
import { localTime } from '../device/util/time.ts';
import { eventText } from './event-text.ts';
import type { CoreMessage, OfficeLayout, SupervisorMessage } from './ipc-protocol.ts';
import type { SatelliteCoreMessage, SatelliteLayout, SatelliteSupervisorMessage } from './satellite-ipc.ts';

export type CoreState = 'starting' | 'up' | 'down';

export interface LogEntry {
  n: number;
  at: string;
  kind: 'event' | 'refused' | 'system';
  text: string;
}

export interface SimFiles {
  /** bumps whenever board.png changed */
  board: number;
  /** newest first, file names under sim/tickets */
  tickets: string[];
  /** newest audio file name under sim/audio, null before the first */
  audio: string | null;
  /** counter id -> version of sim/counter-<id>.png (the small display above the counter) */
  counters: Record<string, number>;
}

/** A satellite of the office (sim/satellites.ts), as the page shows it beside the main unit. */
export interface SatelliteView {
  device: string;
  core: CoreState;
  layout: SatelliteLayout | null;
  /** cable: null when its link does not go through a simulator cable; online: linked and current */
  link: { cable: boolean | null; online: boolean };
  files: { board: number; counters: Record<string, number>; audio: string | null };
  /** counter id -> what its last key did, as its display says it */
  keys: Record<string, { ok: boolean; text: string }>;
  restarts: number;
}

/** How the hub reaches a satellite's core. */
export interface SatelliteHandle {
  line(text: string): boolean;
  send(msg: SatelliteSupervisorMessage): boolean;
  powerCut(): void;
  cable: { cut(): void; restore(): void } | null;
}

export interface PageState {
  core: CoreState;
  layout: OfficeLayout | null;
  snapshot: Snapshot | null;
  log: LogEntry[];
  /** cable: null when the uplink does not go through the simulator's cable */
  link: { cable: boolean | null; online: boolean | null };
  faults: { unplugged: string[]; paperOut: boolean };
  files: SimFiles;
  restarts: number;
  /** the office's satellites, in the order they were given */
  satellites: SatelliteView[];
}

export interface CoreHandle {
  /** a terminal line to the core's stdin; false when the core is not running */
  line(text: string): boolean;
  send(msg: SupervisorMessage): boolean;
  powerCut(): void;
  cable: { cut(): void; restore(): void } | null;
}

export class ActionError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const LOG_KEEP = 300;
const ID = /^[A-Za-z0-9_-]{1,40}$/;
const NUMBER = /^[A-Za-z0-9-]{1,12}$/;
const KEY_VERBS = new Set(['next', 'recall', 'skip', 'pause', 'resume', 'close', 'call', 'transfer']);

export interface KeyRequest {
  counter: string;
  action: string;
  number?: string;
  toService?: string;
  toCounter?: string;
}

export class SimHub {
  private n = 0;
  private readonly listeners = new Set<() => void>();
  readonly state: PageState = {
    core: 'starting',
    layout: null,
    snapshot: null,
    log: [],
    link: { cable: null, online: null },
    faults: { unplugged: [], paperOut: false },
    files: { board: 0, tickets: [], audio: null, counters: {} },
    restarts: 0,
    satellites: [],
  };
  private readonly satelliteHandles = new Map<string, SatelliteHandle>();

  constructor(
    private readonly core: CoreHandle,
    private readonly now: () => number = Date.now,
  ) {
    this.state.link.cable = core.cable ? true : null;
  }

  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private changed(): void {
    for (const fn of this.listeners) fn();
  }

  /** `at`: the event's own time (office time); default now in the office's time zone */
  note(kind: LogEntry['kind'], text: string, at?: string): void {
    at ??= localTime(this.now(), this.state.layout?.timeZone ?? 'Asia/Seoul').iso;
    this.state.log.unshift({ n: ++this.n, at, kind, text });
    this.state.log.length = Math.min(this.state.log.length, LOG_KEEP);
  }

  // --- from the supervisor --------------------------------------------------------------------
  /** A core process is being started; `restart`: not the first one (a power cut or a crash). */
  coreStarting(restart: boolean): void {
    if (restart) this.state.restarts++;
    this.coreState('starting');
  }

  coreState(s: CoreState, why?: string): void {
    this.state.core = s;
    if (why) this.note('system', why);
    if (s !== 'up') this.state.link.online = null;
    this.changed();
  }

  /** A counter as the board and the voice name it ("민원실"), "<id>번 창구" before the layout is known. */
  private counterName(id: string): string {
    return this.state.layout?.counters.find((c) => c.id === id)?.name ?? `${id}번 창구`;
  }

  fromCore(msg: CoreMessage): void {
    switch (msg.kind) {
      case 'ready':
        this.state.layout = msg.layout;
        this.state.snapshot = msg.snapshot;
        this.state.core = 'up';
        this.note(
          'system',
          this.state.restarts > 0 ? '전원 복구: 이전 상태 그대로 다시 시작했습니다' : '시뮬레이터 시작',
        );
        this.reapplyFaults();
        break;
      case 'events': {
        this.state.snapshot = msg.snapshot;
        const name = (id: string): string => this.state.layout?.services.find((s) => s.id === id)?.name ?? id;
        const counter = (id: string): string => this.counterName(id);
        for (const ev of msg.events) {
          const text = eventText(ev, name, counter);
          if (text) this.note('event', text, ev.at);
        }
        break;
      }
      case 'refused': {
        // In the words the counter display and the board use: the queue's own message is English.
        // A press's message is already the board's Korean line; central's commands keep theirs.
        const keypad = /^keypad:(.+)$/.exec(msg.source)?.[1];
        if (keypad !== undefined)
          this.note('refused', `${this.counterName(keypad)} 키 거절: ${keyRefusalForClerks(msg.code)}`);
        else if (msg.source.startsWith('button:')) this.note('refused', `발권 거절: ${msg.message}`);
        else this.note('refused', `거절: ${msg.message}`);
        break;
      }
      case 'link':
        this.state.link.online = msg.online;
        break;
      case 'health':
        return; // shown through its effects (board alert, keypad switch); not logged
    }
    this.changed();
  }

  files(f: Partial<SimFiles>): void {
    Object.assign(this.state.files, f);
    this.changed();
  }

  // --- the satellites (sim/satellites.ts) -----------------------------------------------------
  addSatellite(device: string, handle: SatelliteHandle): void {
    this.satelliteHandles.set(device, handle);
    this.state.satellites.push({
      device,
      core: 'starting',
      layout: null,
      link: { cable: handle.cable ? true : null, online: false },
      files: { board: 0, counters: {}, audio: null },
      keys: {},
      restarts: 0,
    });
    this.changed();
  }

  satelliteState(device: string, s: CoreState, restart: boolean, why?: string): void {
    const v = this.satellite(device);
    if (s === 'starting' && restart) v.restarts++;
    v.core = s;
    if (s !== 'up') v.link.online = false;
    if (why) this.note('system', `${device}: ${why}`);
    this.changed();
  }

  fromSatellite(device: string, msg: SatelliteCoreMessage): void {
    const v = this.satellite(device);
    switch (msg.kind) {
      case 'satellite-ready':
        v.layout = msg.layout;
        v.core = 'up';
        this.note('system', v.restarts > 0 ? `${device}: 다시 켜짐` : `${device}: 위성 장치 시작`);
        break;
      case 'satellite-link':
        v.link.online = msg.online;
        this.note('system', msg.online ? `${device}: 본체 연결됨 (seq ${msg.seq})` : `${device}: 본체 연결 끊김`);
        break;
      case 'satellite-key': {
        const o = msg.outcome;
        v.keys[o.counter] = { ok: o.ok, text: o.text };
        this.note(o.ok ? 'event' : 'refused', `${device} ${this.counterName(o.counter)} 키: ${o.text}`);
        break;
      }
    }
    this.changed();
  }

  satelliteFiles(device: string, files: SatelliteView['files']): void {
    this.satellite(device).files = files;
    this.changed();
  }

  satelliteKey(device: unknown, req: KeyRequest): void {
    const v = this.satelliteUp(device);
    if (!v.layout!.keys.includes(req.counter)) {
      throw new ActionError('sim-unknown-counter', `${v.device} has no keypad for counter "${String(req.counter)}"`);
    }
    if (!v.layout!.simKeys) throw new ActionError('sim-real-inputs', '실제 키패드가 연결된 위성 장치입니다', 409);
    const words = keyWords(req);
    if (!this.satelliteHandles.get(v.device)!.line(words)) {
      throw new ActionError('sim-core-down', '위성 장치가 실행 중이 아닙니다', 503);
    }
  }

  setSatelliteLink(device: unknown, connected: boolean): void {
    const v = this.satellite(device);
    const cable = this.satelliteHandles.get(v.device)!.cable;
    if (!cable)
      throw new ActionError('sim-no-cable', "this satellite's link does not go through the simulator cable", 409);
    if (connected) cable.restore();
    else cable.cut();
    v.link.cable = connected;
    this.note('system', `${v.device}: ${connected ? 'LAN 케이블 다시 연결' : 'LAN 케이블 뽑음'}`);
    this.changed();
  }

  satellitePowerCut(device: unknown): void {
    const v = this.satelliteUp(device);
    this.satelliteHandles.get(v.device)!.powerCut();
  }

  private satellite(device: unknown): SatelliteView {
    const v = this.state.satellites.find((x) => x.device === device);
    if (!v) throw new ActionError('sim-unknown-satellite', `no satellite "${String(device)}"`);
    return v;
  }

  private satelliteUp(device: unknown): SatelliteView {
    const v = this.satellite(device);
    if (v.core !== 'up' || !v.layout) throw new ActionError('sim-core-down', '위성 장치가 다시 시작하는 중입니다', 503);
    return v;
  }

  // --- from the page --------------------------------------------------------------------------
  press(button: unknown): void {
    const layout = this.requireSimInputs();
    if (typeof button !== 'string' || !layout.buttons.some((b) => b.id === button)) {
      throw new ActionError('sim-unknown-button', `no dispenser button "${String(button)}"`);
    }
    this.line(`press ${button}`);
  }

  key(req: KeyRequest): void {
    const layout = this.requireSimInputs();
    if (!layout.counters.some((c) => c.id === req.counter)) {
      throw new ActionError('sim-unknown-counter', `no counter "${String(req.counter)}"`);
    }
    if (!KEY_VERBS.has(req.action)) throw new ActionError('sim-unknown-key', `no keypad key "${String(req.action)}"`);
    if (this.state.faults.unplugged.includes(req.counter)) {
      throw new ActionError('sim-keypad-unplugged', `${this.counterName(req.counter)} 키패드가 뽑혀 있습니다`, 409);
    }
    this.line(keyWords(req));
  }

  setLink(connected: boolean): void {
    if (!this.core.cable)
      throw new ActionError('sim-no-cable', 'the uplink does not go through the simulator cable', 409);
    if (connected) this.core.cable.restore();
    else this.core.cable.cut();
    this.state.link.cable = connected;
    this.note('system', connected ? '중앙 회선 복구' : '중앙 회선 절단');
    this.changed();
  }

  setKeypad(counter: unknown, plugged: boolean): void {
    const layout = this.requireUp();
    if (typeof counter !== 'string' || !layout.counters.some((c) => c.id === counter)) {
      throw new ActionError('sim-unknown-counter', `no counter "${String(counter)}"`);
    }
    if (!layout.canUnplug)
      throw new ActionError('sim-cannot-unplug', 'the core was not handed the simulated keypads', 409);
    const set = new Set(this.state.faults.unplugged);
    if (plugged) set.delete(counter);
    else set.add(counter);
    this.state.faults.unplugged = [...set].sort();
    this.core.send({ kind: 'keypad-plug', counter, plugged });
    this.note('system', `${this.counterName(counter)} 키패드 ${plugged ? '연결' : '뽑음'}`);
    this.changed();
  }

  setPaper(out: boolean): void {
    const layout = this.requireUp();
    if (!layout.canPaperOut) throw new ActionError('sim-no-sim-printer', 'the printer is not the simulated one', 409);
    this.state.faults.paperOut = out;
    this.core.send({ kind: 'paper', state: out ? 'out' : 'ok' });
    this.note('system', out ? '발권기 용지 없음' : '발권기 용지 보충');
    this.changed();
  }

  powerCut(): void {
    if (this.state.core !== 'up') throw new ActionError('sim-core-down', '코어가 이미 꺼져 있습니다', 409);
    this.core.powerCut();
  }

  private requireUp(): OfficeLayout {
    if (this.state.core !== 'up' || !this.state.layout) {
      throw new ActionError('sim-core-down', '코어가 다시 시작하는 중입니다. 잠시 후 다시 누르세요', 503);
    }
    return this.state.layout;
  }

  /** Buttons and keys go through the terminal control, which runs only over simulated inputs. */
  private requireSimInputs(): OfficeLayout {
    const layout = this.requireUp();
    if (!layout.simInputs) {
      throw new ActionError('sim-real-inputs', '실제 발권기와 키패드가 연결되어 있어 화면에서 누를 수 없습니다', 409);
    }
    return layout;
  }

  private line(text: string): void {
    if (!this.core.line(text)) throw new ActionError('sim-core-down', '코어가 실행 중이 아닙니다', 503);
  }

  /** Hardware faults are physical: a restarted core finds the keypad still unplugged. */
  private reapplyFaults(): void {
    for (const counter of this.state.faults.unplugged) this.core.send({ kind: 'keypad-plug', counter, plugged: false });
    if (this.state.faults.paperOut) this.core.send({ kind: 'paper', state: 'out' });
  }
}

/** The terminal line of a keypad key (sim/terminal.ts, sim/satellite-terminal.ts). */
function keyWords(req: KeyRequest): string {
  if (!KEY_VERBS.has(req.action)) throw new ActionError('sim-unknown-key', `no keypad key "${String(req.action)}"`);
  let words = `key ${req.counter} ${req.action}`;
  if (req.action === 'call') {
    if (!req.number || !NUMBER.test(req.number)) throw new ActionError('sim-bad-number', '호출할 번호를 입력하세요');
    words += ` ${req.number}`;
  } else if (req.action === 'transfer') {
    if (req.toService && ID.test(req.toService)) words += ` service ${req.toService}`;
    else if (req.toCounter && ID.test(req.toCounter)) words += ` counter ${req.toCounter}`;
    else throw new ActionError('sim-bad-transfer', '이관할 업무나 창구를 고르세요');
  }
  return words;
}
