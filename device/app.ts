// The composition root: the one place a daemon is put together. Production (main.ts), the
// simulator's core (main.ts forked by sim/supervisor.ts) and the tests (tests/helpers/boot.ts) all
// call buildDaemon. It chooses the parts: the inputs (real drivers from config, the simulator's
// when none is configured, or whatever the caller hands in at the `hardware` seam), the printer
// (built once, handed to the dispenser through its port), the features and their order. The
// controller then runs that order. See docs/architecture.md.
import { existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type Bridge, createBridge } from '../bridge/index.ts';
import { type AnnouncerExtension, createAnnouncerExtension } from '../display/audio/extension.ts';
import { type BoardExtension, createBoardExtension } from '../display/board-extension.ts';
import type { BoardOutput } from '../display/board/outputs.ts';
import { createPrinter } from '../display/printer/create-printer.ts';
import { createPrinterExtension, type PrinterExtension } from '../display/printer-extension.ts';
import { SimButtons } from '../sim/buttons.ts';
import { createSimIpcExtension, runsUnderSupervisor, type SimPorts } from '../sim/ipc-extension.ts';
import { SimKeypads } from '../sim/keypads.ts';
import { startTerminal } from '../sim/terminal.ts';
import type { Bus } from './bus.ts';
import { isSatellite } from './config/role.ts';
import type { Config, SatelliteConfig } from './config/schema.ts';
import { Controller, type ControllerOptions, type Core } from './controller.ts';
import { Counters } from './counters.ts';
import { type BootClockOutcome, type BootClockWaitOptions, waitForBootClock } from './boot-clock-wait.ts';
import { timesyncdInUse, timesyncSynchronized } from './clock.ts';
import { createClockStatus } from './clock-status.ts';
import { DayRoll } from './day-roll.ts';
import { Dispenser } from './dispenser.ts';
import { simulatedParts, simulatedWarning } from './simulated.ts';
import type { Extension, ExtensionContext } from './extension.ts';
import { createHealthExtension, type HealthExtension } from './health-extension.ts';
import { createButtonSource, createKeypadSource } from './hw/factory.ts';
import type { ButtonSource } from './ports/buttons.ts';
import type { ComponentHealth } from './ports/health.ts';
import type { KeypadSource } from './ports/keypad.ts';
import type { AudioOut, TicketPrinter } from './ports/outputs.ts';
import type { QueueService } from './queue/service.ts';
import { SatelliteDaemon } from './satellite/satellite.ts';
import type { Store } from './store/store.ts';
import { createSystemdExtension, type SystemdOptions, systemdNotifySender } from './systemd.ts';

/** The optional features, in start order. The dispenser and the counters are always there. */
export const FEATURES = ['dayRoll', 'health', 'printer', 'board', 'audio', 'mqtt', 'simPage', 'systemd'] as const;
export type FeatureName = (typeof FEATURES)[number];

/** Every piece of hardware the daemon talks to, replaceable at this one seam (tests, benchmarks).
 * A piece left out comes from config: its real driver, or the simulator's. */
export interface Hardware {
  buttons?: ButtonSource;
  keypads?: KeypadSource;
  printer?: TicketPrinter;
  /** the board's and the counter displays' sinks */
  board?: BoardOutput[];
  audio?: AudioOut;
}

/** The controller's options (data dir, logger, clocks, ids, the store's file system, onFatal) and
 * what the composition adds; config and the parts are the daemon's own. */
export interface DaemonOptions extends Omit<ControllerOptions, 'config' | 'parts'> {
  /** how often the day roll looks at the time; default 15 s */
  tickMs?: number;
  hardware?: Hardware;
  /** the features to run; default all of them, the simulator page only under the supervisor */
  features?: readonly FeatureName[];
  /** more features (tests), started after the built-in ones and before the inputs */
  extraFeatures?: (ctx: ExtensionContext) => Extension[];
  /** the line control (sim/terminal.ts), when the inputs are the simulator's */
  terminal?: { input: NodeJS.ReadableStream; write: (line: string) => void } | null;
  systemd?: SystemdOptions;
  /** the boot's wait for NTP (device/boot-clock-wait.ts), replaceable for tests: the machine's
   * uptime, the sleep between polls */
  bootClock?: Partial<
    Pick<BootClockWaitOptions, 'timesyncd' | 'systemUptimeSec' | 'hasState' | 'sleep' | 'pollMs' | 'monotonic'>
  >;
}

/** The parts of a started daemon, for the entry point and the tests. */
export interface DaemonParts {
  dayRoll: DayRoll | null;
  health: HealthExtension | null;
  printer: PrinterExtension | null;
  board: BoardExtension | null;
  audio: AnnouncerExtension | null;
  bridge: Bridge | null;
  dispenser: Dispenser;
  counters: Counters;
  /** the simulator's input ports, where they are in use */
  sim: SimPorts;
  /** true when the terminal control runs */
  terminal: boolean;
}

export function defaultFeatures(): FeatureName[] {
  return FEATURES.filter((f) => f !== 'simPage' || runsUnderSupervisor());
}

/** The daemon the config describes: the office's main unit, or a satellite of it (`role:
 * satellite`, device/satellite): no store, queue or numbering, its board and voice fed from the
 * main unit's broker, its keys sent there. Narrow with isSatellite() to get the satellite's type. */
export function buildDaemon(config: SatelliteConfig, opts: DaemonOptions): SatelliteDaemon;
export function buildDaemon(config: Config, opts: DaemonOptions): Daemon;
export function buildDaemon(config: Config, opts: DaemonOptions): Daemon | SatelliteDaemon {
  return isSatellite(config) ? new SatelliteDaemon(config, opts) : new Daemon(config, opts);
}

export class Daemon {
  readonly controller: Controller;
  private built: DaemonParts | null = null;
  private bootClock: BootClockOutcome | null = null;
  private stopping = false;

  constructor(
    readonly config: Config,
    private readonly opts: DaemonOptions,
  ) {
    this.controller = new Controller({
      config,
      dataDir: opts.dataDir,
      logger: opts.logger,
      ...pick(opts, ['now', 'monotonic', 'clockSynchronized', 'newId', 'storeFs', 'onFatal', 'stopBudgetMs']),
      parts: (core) => this.buildParts(core),
    });
  }

  get bus(): Bus {
    return this.controller.bus;
  }

  /** the queue; there once start() has opened the store */
  get queue(): QueueService {
    return this.controller.queue;
  }

  get store(): Store {
    return this.controller.store;
  }

  /** the parts; there once start() has built them */
  get parts(): DaemonParts {
    if (!this.built) throw new Error('the daemon has not been started');
    return this.built;
  }

  async start(): Promise<void> {
    if (this.asService) this.bootClock = await this.waitForBootClock();
    if (this.stopping) return;
    await this.controller.start();
  }

  stop(): Promise<void> {
    this.stopping = true;
    return this.controller.stop();
  }

  /** A stop asked for while start() runs: a start still waiting for NTP ends without starting. */
  cancelStart(): void {
    this.stopping = true;
  }

  /** NOTIFY_SOCKET: systemd runs it (the unit is Type=notify); the simulator's core is not a service. */
  private get asService(): boolean {
    return (this.opts.systemd?.env ?? process.env).NOTIFY_SOCKET !== undefined && !runsUnderSupervisor();
  }

  private get synchronized(): () => boolean {
    return this.opts.clockSynchronized ?? timesyncSynchronized;
  }

  /** a test that hands in the flag stands for timesyncd */
  private get timesyncd(): () => boolean {
    return this.opts.bootClock?.timesyncd ?? (this.opts.clockSynchronized ? () => true : timesyncdInUse);
  }

  private waitForBootClock(): Promise<BootClockOutcome> {
    const socket = (this.opts.systemd?.env ?? process.env).NOTIFY_SOCKET;
    const sender = this.opts.systemd?.sender ?? (socket ? systemdNotifySender(socket) : null);
    return waitForBootClock({
      maxWaitMs: this.config.policy.bootClockWaitSeconds * 1000,
      synchronized: this.synchronized,
      timesyncd: this.timesyncd,
      systemUptimeSec: os.uptime,
      hasState: () => existsSync(path.join(this.opts.dataDir, 'state')),
      logger: this.opts.logger,
      // best effort: the systemd extension reports a notify failure once it runs
      status: (text) => void sender?.send([`STATUS=${text}`]).catch(() => {}),
      stopping: () => this.stopping,
      ...this.opts.bootClock,
    });
  }

  /** The parts over the opened core, in start order: the day first (a press never meets
   * yesterday's queue), health before whoever reports to it, the inputs after every feature that
   * reacts to them, systemd's readiness last but the terminal. */
  private async buildParts(core: Core): Promise<Extension[]> {
    const { ctx } = core;
    const on = new Set(this.opts.features ?? defaultFeatures());
    const inputs = await this.inputs(core);
    // Simulated parts report themselves healthy, so a service whose config left out its hardware
    // would look fine everywhere else.
    const asService = this.asService;
    const simWarning = simulatedWarning(ctx.config, asService);
    if (simWarning) ctx.logger.warn({ code: 'simulated-drivers', simulated: simulatedParts(ctx.config) }, simWarning);
    const f = this.features(core, on, inputs.sim);
    const dispenser = new Dispenser({
      config: ctx.config,
      queue: ctx.queue,
      bus: ctx.bus,
      buttons: inputs.buttons,
      output: f.printer?.ticketOutput(ctx.queue) ?? null,
      logger: ctx.logger.child({ component: 'dispenser' }),
    });
    const counters = new Counters({
      queue: ctx.queue,
      keypads: inputs.keypads,
      logger: ctx.logger.child({ component: 'counters' }),
      bus: ctx.bus,
    });
    const terminal = this.terminal(ctx, inputs.sim, () => Promise.all([dispenser.idle(), counters.idle()]));
    this.built = { ...f.parts, dispenser, counters, sim: inputs.sim, terminal: terminal !== null };
    // The clock's synchronisation in the device status: read from systemd-timesyncd, so only
    // where systemd runs us.
    const clockStatus =
      asService && this.timesyncd()
        ? createClockStatus(ctx, {
            synchronized: this.synchronized,
            ignoredStepMs: () => core.clock.lastIgnoredJumpMs,
            alreadySaid: this.bootClock === 'timed-out',
          })
        : null;
    return [
      ...f.list,
      ...(clockStatus ? [clockStatus] : []),
      ...(this.opts.extraFeatures?.(ctx) ?? []),
      dispenser,
      counters,
      ...(on.has('systemd') ? [createSystemdExtension(ctx, this.opts.systemd ?? {})] : []),
      ...(terminal ? [terminal] : []),
    ];
  }

  /** Buttons and keypads: handed in, else the real drivers config names, else the simulator's. */
  private async inputs(core: Core): Promise<{ buttons: ButtonSource; keypads: KeypadSource; sim: SimPorts }> {
    const { config, logger, bus } = core.ctx;
    const hw = this.opts.hardware ?? {};
    const onHealth = (component: string, health: ComponentHealth) => bus.emit('healthChanged', { component, health });
    const sim: SimPorts = {};
    let buttons = hw.buttons ?? (await createButtonSource(config, logger, { onHealth }));
    if (!buttons) {
      sim.buttons = new SimButtons(config.dispenser?.buttons.map((b) => b.id) ?? []);
      buttons = sim.buttons;
    }
    let keypads = hw.keypads ?? (await createKeypadSource(config, logger, { onHealth }));
    if (!keypads) {
      sim.keypads = new SimKeypads(config.counters.map((c) => c.id));
      keypads = sim.keypads;
    }
    return { buttons, keypads, sim };
  }

  /** The features that hang off the bus, each only when chosen (config may still turn one off:
   * a disabled bridge or a silent audio output starts and does nothing). */
  private features(core: Core, on: Set<FeatureName>, sim: SimPorts) {
    const { ctx, store } = core;
    const hw = this.opts.hardware ?? {};
    const dayRoll = on.has('dayRoll')
      ? new DayRoll({
          queue: ctx.queue,
          logger: ctx.logger.child({ component: 'day-roll' }),
          bus: ctx.bus,
          now: ctx.now,
          timeZone: ctx.config.office.timeZone,
          ...(this.opts.tickMs !== undefined ? { tickMs: this.opts.tickMs } : {}),
        })
      : null;
    const health = on.has('health')
      ? createHealthExtension(ctx, { bytesWritten: () => store.stats().bytesWritten })
      : null;
    // The one printer of the daemon: the feature reports its status, the dispenser prints through it.
    const printer = on.has('printer')
      ? createPrinterExtension(ctx, hw.printer ?? createPrinter(ctx.config, ctx.dataDir, ctx.logger))
      : null;
    const board = on.has('board') ? createBoardExtension(ctx, hw.board ? { outputs: hw.board } : {}) : null;
    const audio = on.has('audio') ? createAnnouncerExtension(ctx, hw.audio ? { out: hw.audio } : {}) : null;
    const bridge = on.has('mqtt')
      ? createBridge(ctx, store.outbox, {
          fs: store.fs,
          commands: store.commands,
          ...(health ? { deviceHealth: () => health.current() } : {}),
        })
      : null;
    const simPage = on.has('simPage') ? createSimIpcExtension(ctx, { ports: sim, printer }) : null;
    const list = [dayRoll, health, printer, board, audio, bridge, simPage].filter((x) => x !== null);
    return { parts: { dayRoll, health, printer, board, audio, bridge }, printer, list };
  }

  /** The line control on stdin, over the simulator's inputs only: with real hardware attached the
   * terminal has nothing to press. */
  private terminal(ctx: ExtensionContext, sim: SimPorts, settled: () => Promise<unknown>): Extension | null {
    const t = this.opts.terminal;
    const { buttons, keypads } = sim;
    if (!t || !buttons || !keypads) return null;
    let stop: (() => Promise<void>) | null = null;
    return {
      name: 'terminal',
      async start() {
        const deps = { bus: ctx.bus, queue: ctx.queue, buttons, keypads, write: t.write, settled };
        stop = startTerminal({ ...deps, buttonIds: ctx.config.dispenser?.buttons.map((b) => b.id) ?? [] }, t.input);
      },
      async stop() {
        await stop?.();
        stop = null;
      },
    };
  }
}

function pick<T extends object, K extends keyof T>(o: T, keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
