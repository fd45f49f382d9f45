// A satellite core's side of the simulator page: when the office's supervisor forked it (`npm start
// -- --satellite <config>`, sim/satellites.ts), this feature tells the supervisor what the
// satellite is (its counters, its board and voice), whether its link to the main unit is up, and
// what came of each key, and obeys the keypad plug switch. Keys arrive as terminal lines on stdin
// (sim/satellite-terminal.ts), like the main unit's.
import type { FeatureContext, Extension } from '../device/extension.ts';
import type { KeyOutcome, SatelliteKeys } from '../device/satellite/keys.ts';
import type { StateMirror } from '../device/satellite/mirror.ts';
import type { SimKeypads } from './keypads.ts';

/** What the page draws of a satellite. */
export interface SatelliteLayout {
  device: string;
  office: string;
  /** counters whose keypads it carries */
  keys: string[];
  /** counters whose displays it drives */
  displays: string[];
  /** its wall board's layout, or null when it drives none */
  board: 'landscape' | 'portrait' | null;
  /** what its voice announces: null when silent; empty lists: every call */
  voice: { counters: string[]; services: string[] } | null;
  /** the keys are the simulator's (the page can press them) */
  simKeys: boolean;
}

export type SatelliteCoreMessage =
  | { kind: 'satellite-ready'; layout: SatelliteLayout }
  | { kind: 'satellite-link'; online: boolean; seq: number | null }
  | { kind: 'satellite-key'; outcome: KeyOutcome };

export type SatelliteSupervisorMessage = { kind: 'keypad-plug'; counter: string; plugged: boolean };

export interface SatelliteIpcOptions {
  mirror: StateMirror;
  keys: SatelliteKeys;
  keypads?: SimKeypads | undefined;
  channel?: {
    send(msg: SatelliteCoreMessage): void;
    on(event: 'message', fn: (msg: unknown) => void): void;
    off(event: 'message', fn: (msg: unknown) => void): void;
  };
}

export function satelliteLayout(ctx: FeatureContext, simKeys: boolean): SatelliteLayout {
  const c = ctx.config;
  const b = c.outputs.board;
  const a = c.outputs.audio;
  return {
    device: c.device.id,
    office: c.office.id,
    keys: [...(c.satellite?.counters ?? [])],
    displays: b.counterDisplays.map((d) => d.counter),
    board: b.driver === 'none' ? null : b.layout,
    voice:
      !a.enabled || a.driver === 'none'
        ? null
        : { counters: [...(a.area?.counters ?? [])], services: [...(a.area?.services ?? [])] },
    simKeys,
  };
}

export function createSatelliteIpcExtension(ctx: FeatureContext, opts: SatelliteIpcOptions): Extension {
  const channel =
    opts.channel ??
    ({
      send: (msg: SatelliteCoreMessage) => process.send?.(msg),
      on: (e: 'message', fn: (m: unknown) => void) => process.on(e, fn),
      off: (e: 'message', fn: (m: unknown) => void) => process.off(e, fn),
    } as const);
  const owner = {};
  let linked = false;
  const onMessage = (msg: unknown): void => {
    const m = msg as Partial<SatelliteSupervisorMessage> | null;
    if (m?.kind !== 'keypad-plug' || typeof m.counter !== 'string' || !opts.keypads) return;
    opts.keypads.setPlugged(m.counter, m.plugged === true);
    ctx.bus.emit('healthChanged', { component: `keypad:${m.counter}`, health: opts.keypads.health()[m.counter]! });
  };
  return {
    name: 'sim-ipc',
    async start() {
      // "Up" once linked and the first state of the connection is in: what it shows is current.
      const up = (): void => {
        linked = true;
        channel.send({ kind: 'satellite-link', online: true, seq: opts.mirror.snapshot().seq });
      };
      let waiting = false;
      ctx.bus.on('mainLinkChanged', owner, ({ online }) => {
        linked = false;
        waiting = false;
        if (!online) channel.send({ kind: 'satellite-link', online: false, seq: null });
        else if (opts.mirror.current) up();
        else waiting = true;
      });
      ctx.bus.on('snapshotChanged', owner, () => {
        if (waiting && !linked) {
          waiting = false;
          up();
        }
      });
      opts.keys.onOutcome((outcome) => channel.send({ kind: 'satellite-key', outcome }));
      channel.on('message', onMessage);
      channel.send({ kind: 'satellite-ready', layout: satelliteLayout(ctx, opts.keypads !== undefined) });
    },
    async stop() {
      ctx.bus.removeListeners(owner);
      channel.off('message', onMessage);
    },
  };
}
