// The daemon core's side of the simulator page: when the core runs as a child of the simulator's
// supervisor (sim/supervisor.ts), this feature reports the layout, every batch of queue events with
// the new snapshot, refusals and health to the parent, and obeys the fault switches (unplug a
// keypad, take the printer's paper away). Buttons and keypad keys arrive as terminal lines on
// stdin (sim/terminal.ts), the same words a person types, so the page has no second input path.
import type { Extension, ExtensionContext } from '../device/extension.ts';
import { SimPrinter } from '../display/printer/sim-printer.ts';
import type { PrinterExtension } from '../display/printer-extension.ts';
import type { SimButtons } from './buttons.ts';
import type { SimKeypads } from './keypads.ts';
import { type CoreMessage, isSupervisorMessage, type OfficeLayout, type SupervisorMessage } from './ipc-protocol.ts';

/** The daemon's simulator ports (device/app.ts): absent when real hardware is configured. */
export interface SimPorts {
  buttons?: SimButtons;
  keypads?: SimKeypads;
}

export interface SimIpcOptions {
  /** the simulated inputs the fault switches act on */
  ports?: SimPorts;
  /** the daemon's printer feature, whose paper the page can take away when it is the simulator's */
  printer?: PrinterExtension | null;
  /** the IPC channel; default: this process's (process.send) */
  channel?: {
    send(msg: CoreMessage): void;
    on(event: 'message', fn: (msg: unknown) => void): void;
    off(event: 'message', fn: (msg: unknown) => void): void;
  };
}

/** True when this process was forked by the simulator's supervisor. */
export function runsUnderSupervisor(): boolean {
  return typeof process.send === 'function' && process.env.BEONHO_SIM_SUPERVISOR === '1';
}

export function createSimIpcExtension(ctx: ExtensionContext, opts: SimIpcOptions = {}): Extension {
  const log = ctx.logger.child({ component: 'sim-ipc' });
  const channel =
    opts.channel ??
    ({
      send: (msg: CoreMessage) => process.send?.(msg),
      on: (e: 'message', fn: (m: unknown) => void) => process.on(e, fn),
      off: (e: 'message', fn: (m: unknown) => void) => process.off(e, fn),
    } as const);
  const owner = {};
  const ports: SimPorts = opts.ports ?? {};
  const simPrinter = (): SimPrinter | null => {
    const p = opts.printer?.printer;
    return p instanceof SimPrinter ? p : null;
  };

  const onMessage = (msg: unknown): void => {
    if (!isSupervisorMessage(msg)) return;
    obey(msg);
  };

  const obey = (msg: SupervisorMessage): void => {
    if (msg.kind === 'keypad-plug') {
      const keypads = ports.keypads;
      if (!keypads) {
        log.warn({ code: 'sim-no-keypads' }, 'cannot unplug: the core was not handed the simulated keypads');
        return;
      }
      keypads.setPlugged(msg.counter, msg.plugged);
      ctx.bus.emit('healthChanged', { component: `keypad:${msg.counter}`, health: keypads.health()[msg.counter]! });
      log.info({ counter: msg.counter, plugged: msg.plugged }, 'sim keypad plug changed');
    } else {
      const printer = simPrinter();
      if (!printer) return;
      printer.setPaper(msg.state);
      // Ask at once, so the board and the next press learn it without waiting for the poll.
      void opts.printer?.poll();
      log.info({ paper: msg.state }, 'sim printer paper changed');
    }
  };

  const layout = (): OfficeLayout => {
    const c = ctx.config;
    return {
      office: c.office.id,
      name: c.office.name,
      timeZone: c.office.timeZone,
      dataDir: ctx.dataDir,
      buttons: (c.dispenser?.buttons ?? []).map((b) => ({
        id: b.id,
        label: b.label ?? b.id,
        service: b.service,
        priority: b.priority === true,
      })),
      counters: c.counters.map((k) => ({ id: k.id, name: k.name, services: [...k.services] })),
      services: c.services.map((s) => ({ id: s.id, name: s.name })),
      // The terminal control (and so the page's buttons and keys) exists only over simulated
      // inputs; with real hardware attached the page only watches.
      simInputs: ports.buttons !== undefined && ports.keypads !== undefined,
      canUnplug: ports.keypads !== undefined,
      canPaperOut: simPrinter() !== null,
    };
  };

  return {
    name: 'sim-ipc',
    async start() {
      ctx.bus.on('queueEvents', owner, ({ events }) =>
        channel.send({ kind: 'events', events, snapshot: ctx.queue.snapshot() }),
      );
      ctx.bus.on('actionRefused', owner, (r) => {
        if (!r.source?.startsWith('button:')) {
          channel.send({ kind: 'refused', source: r.source ?? r.action, code: r.code, message: r.message });
        }
      });
      ctx.bus.on('dispenserRefused', owner, (r) =>
        channel.send({ kind: 'refused', source: `button:${r.button}`, code: r.code, message: r.message }),
      );
      ctx.bus.on('healthChanged', owner, ({ component, health }) =>
        channel.send({ kind: 'health', component, health }),
      );
      ctx.bus.on('linkChanged', owner, ({ online }) => channel.send({ kind: 'link', online }));
      channel.on('message', onMessage);
      channel.send({ kind: 'ready', layout: layout(), snapshot: ctx.queue.snapshot() });
    },
    async stop() {
      ctx.bus.removeListeners(owner);
      channel.off('message', onMessage);
    },
  };
}
