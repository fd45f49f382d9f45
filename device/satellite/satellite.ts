// A satellite unit (`role: satellite`): the same daemon on a small board by a counter or in a second
// waiting area. It has no store, queue, journal or numbering: its board and voice are the main
// unit's features, fed from the main unit's retained state and events through the bus (./mirror.ts),
// and its keypads send the contract's counter commands to the main unit (./keys.ts) over its own
// account (./link.ts). docs/architecture.md, "Satellites".
import type { Logger } from 'pino';
import { monotonicFactory } from 'ulid';
import type { DeviceStatus } from '../../bridge/contract/types.ts';
import { statusReason } from '../../bridge/uplink/client-common.ts';
import { SessionCounter } from '../../bridge/uplink/session.ts';
import { localErrorTimes } from '../../bridge/publish/status.ts';
import { type AnnouncerExtension, createAnnouncerExtension } from '../../display/audio/extension.ts';
import { type BoardExtension, createBoardExtension } from '../../display/board-extension.ts';
import { createSatelliteIpcExtension } from '../../sim/satellite-ipc.ts';
import { startSatelliteTerminal } from '../../sim/satellite-terminal.ts';
import { runsUnderSupervisor } from '../../sim/ipc-extension.ts';
import { SimKeypads } from '../../sim/keypads.ts';
import type { FeatureName, Hardware } from '../app.ts';
import { Bus } from '../bus.ts';
import type { SatelliteConfig } from '../config/schema.ts';
import type { Extension, FeatureContext } from '../extension.ts';
import { createHealthExtension, type HealthExtension } from '../health-extension.ts';
import { createKeypadSource } from '../hw/factory.ts';
import { claimDataDir } from '../lock.ts';
import { type ComponentHealth, healthy } from '../ports/health.ts';
import type { KeypadSource } from '../ports/keypad.ts';
import { nodeFs } from '../store/fs.ts';
import { type SystemdOptions, createSystemdExtension } from '../systemd.ts';
import { packageVersion } from '../util/build-root.ts';
import { stopParts } from '../util/stop-parts.ts';
import { localTime } from '../util/time.ts';
import { SatelliteKeys } from './keys.ts';
import { MainLink } from './link.ts';
import { StateMirror } from './mirror.ts';

/** The features a satellite can run, in start order ('mqtt' is its link to the main unit). */
const SATELLITE_FEATURES = ['health', 'board', 'audio', 'mqtt', 'simPage', 'systemd'] as const;

export interface SatelliteOptions {
  dataDir: string;
  logger: Logger;
  now?: () => number;
  newId?: () => string;
  hardware?: Pick<Hardware, 'keypads' | 'board' | 'audio'>;
  features?: readonly FeatureName[];
  terminal?: { input: NodeJS.ReadableStream; write: (line: string) => void } | null;
  systemd?: SystemdOptions;
  env?: NodeJS.ProcessEnv;
  /** how long the parts together may take to stop before the rest go on without the slow one;
   * default STOP_BUDGET_MS, as the main unit's (the same unit file, the same TimeoutStopSec) */
  stopBudgetMs?: number;
}

export interface SatelliteParts {
  health: HealthExtension | null;
  board: BoardExtension | null;
  audio: AnnouncerExtension | null;
  link: MainLink | null;
  mirror: StateMirror;
  keys: SatelliteKeys;
  /** the simulator's keypads, when no real ones are configured */
  sim: { keypads?: SimKeypads };
  terminal: boolean;
}

/** The main unit's link component in health and status. */
export const LINK_COMPONENT = 'main-link';

export class SatelliteDaemon {
  readonly bus = new Bus();
  private built: SatelliteParts | null = null;
  private running: Extension[] = [];
  private releaseLock: (() => Promise<void>) | null = null;

  constructor(
    readonly config: SatelliteConfig,
    private readonly opts: SatelliteOptions,
  ) {
    this.bus.onListenerError(({ name, err }) =>
      opts.logger.error({ err, event: name }, 'a feature failed handling a bus event'),
    );
  }

  get parts(): SatelliteParts {
    if (!this.built) throw new Error('the satellite has not been started');
    return this.built;
  }

  /** The data dir and its lock (one daemon per data dir), then the parts in order; a part that
   * fails stops the ones already started. */
  async start(): Promise<void> {
    this.releaseLock = await claimDataDir(this.opts.dataDir, { logger: this.opts.logger });
    try {
      const parts = await this.buildParts();
      for (const p of parts) {
        await p.start();
        this.running.push(p);
      }
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** The parts in reverse order within a budget: a part whose stop never returns (a keypad's USB
   * read, the voice mid-sentence, a main unit gone silent) held the whole stop until systemd's
   * SIGKILL at TimeoutStopSec, which counts as a failure (the unit's OnFailure timer then started
   * the satellite again after `systemctl stop`) and left the lock behind. A late part is named and
   * the rest go on without it. */
  async stop(): Promise<void> {
    await stopParts(this.running.splice(0), this.opts.logger, this.opts.stopBudgetMs);
    await this.releaseLock?.();
    this.releaseLock = null;
  }

  private async buildParts(): Promise<Extension[]> {
    const { config, opts, bus } = this;
    const sat = config.satellite;
    const logger = opts.logger;
    const now = opts.now ?? Date.now;
    const on = new Set<string>(
      opts.features ?? SATELLITE_FEATURES.filter((f) => f !== 'simPage' || runsUnderSupervisor()),
    );
    const ctx: FeatureContext = { config, bus, logger, dataDir: opts.dataDir, now };
    const unused = [
      config.hardware.buttons.driver !== 'sim' ? 'hardware.buttons' : null,
      config.outputs.printer.driver === 'escpos' ? 'outputs.printer' : null,
      config.mqtt.uplink ? 'mqtt.uplink' : null,
    ].filter((x) => x !== null);
    // A satellite's config is the office's: say so rather than leave a wired printer unexplained.
    if (unused.length > 0)
      logger.warn({ unused }, 'not used on a satellite (the main unit has the dispenser, printer and uplink)');
    const hw = opts.hardware ?? {};
    const mirror = new StateMirror({ config, bus, now, logger: logger.child({ component: 'mirror' }) });

    const health = on.has('health') ? createHealthExtension(ctx, { bytesWritten: () => 0 }) : null;
    const board = on.has('board')
      ? createBoardExtension(ctx, { snapshot: () => mirror.snapshot(), ...(hw.board ? { outputs: hw.board } : {}) })
      : null;
    // The voice names a counter as the board shows it, from the main unit's state: a counter
    // renamed there is called by its new name, not the one in this unit's config.
    const counterName = (id: string): string | undefined =>
      mirror.snapshot().counters.find((c) => c.id === id)?.name ?? config.counters.find((c) => c.id === id)?.name;
    const audio = on.has('audio')
      ? createAnnouncerExtension(ctx, { counterName, ...(hw.audio ? { out: hw.audio } : {}) })
      : null;

    const onHealth = (component: string, h: ComponentHealth) => bus.emit('healthChanged', { component, health: h });
    const sim: SatelliteParts['sim'] = {};
    let keypads: KeypadSource | null = hw.keypads ?? (await createKeypadSource(config, logger, { onHealth }));
    if (!keypads) {
      sim.keypads = new SimKeypads(sat.counters);
      keypads = sim.keypads;
    }

    const device = config.device.id;
    const isoNow = () => localTime(now(), config.office.timeZone).iso;
    const startedAt = isoNow();
    const hardware: Record<string, ComponentHealth> = {};
    let link: MainLink | null = null;
    const keys = new SatelliteKeys({
      keypads,
      link: { send: (cmd) => link?.send(cmd) ?? null, abort: (reason) => link?.abort(reason) },
      bus,
      logger: logger.child({ component: 'keys' }),
      username: sat.main.username ?? device,
      newId: opts.newId ?? monotonicFactory(),
      timeoutMs: sat.keyTimeoutMs,
      messageSeconds: sat.messageSeconds,
    });
    const linkPart = on.has('mqtt')
      ? this.linkFeature({ mirror, keys, hardware, isoNow, startedAt, setLink: (l) => (link = l) })
      : null;
    if (!linkPart) onHealth(LINK_COMPONENT, { connected: false, lastError: null, lastErrorAt: null, disabled: true });

    const simPage = on.has('simPage') ? createSatelliteIpcExtension(ctx, { mirror, keys, keypads: sim.keypads }) : null;
    const terminal = this.terminal(mirror, keys, sim.keypads);
    this.built = {
      health,
      board,
      audio,
      // made when the link part starts, after this
      get link() {
        return link;
      },
      mirror,
      keys,
      sim,
      terminal: terminal !== null,
    };
    return [
      ...[health, board, audio, linkPart, simPage].filter((x) => x !== null),
      keys,
      ...(on.has('systemd') ? [createSystemdExtension(ctx, opts.systemd ?? {})] : []),
      ...(terminal ? [terminal] : []),
    ];
  }

  /** The link to the main unit as a feature: what it hears goes to the mirror and the keys, its
   * state to the bus (the board's "본체 연결 끊김", health) and into our own retained status. */
  private linkFeature(p: {
    mirror: StateMirror;
    keys: SatelliteKeys;
    hardware: Record<string, ComponentHealth>;
    isoNow: () => string;
    startedAt: string;
    setLink: (l: MainLink | null) => void;
  }): Extension {
    const { config, bus, opts } = this;
    const sat = config.satellite;
    const office = config.office.id;
    const device = config.device.id;
    const logger = opts.logger.child({ component: LINK_COMPONENT });
    const sessions = new SessionCounter({ dir: opts.dataDir, fs: nodeFs, logger });
    const owner = {};
    let republish: NodeJS.Timeout | null = null;
    const birth = (session: number): DeviceStatus => ({
      v: 1,
      office,
      device,
      online: true,
      session,
      at: p.isoNow(),
      version: packageVersion(),
      startedAt: p.startedAt,
      hardware: localErrorTimes(p.hardware, (ms) => localTime(ms, config.office.timeZone).iso),
    });
    /** the reason the status last gave for the link being down, null while it is up */
    let failedFor: string | null = null;
    const saidDown = (reason: string): void => {
      failedFor = reason;
      bus.emit('healthChanged', {
        component: LINK_COMPONENT,
        health: {
          connected: false,
          lastError: 'main-link-down',
          lastErrorAt: p.isoNow(),
          lastErrorReason: statusReason(reason),
        },
      });
    };
    const link = new MainLink({
      cfg: sat.main,
      office,
      device,
      logger,
      nextSession: () => sessions.next(),
      birth,
      ...(opts.env ? { env: opts.env } : {}),
      handlers: {
        connected: () => p.mirror.connected(),
        up: () => {
          failedFor = null;
          bus.emit('mainLinkChanged', { online: true });
          bus.emit('healthChanged', { component: LINK_COMPONENT, health: healthy() });
        },
        down: (reason) => {
          p.keys.linkDown();
          bus.emit('mainLinkChanged', { online: false });
          saidDown(reason);
        },
        // Said once per reason, not at every retry: the status of a satellite whose main unit
        // cannot be reached says why, as the main unit's own link to central does.
        failed: (reason) => {
          if (reason !== failedFor) saidDown(reason);
        },
        refused: () => {
          failedFor = null;
          bus.emit('healthChanged', {
            component: LINK_COMPONENT,
            health: { connected: false, lastError: 'main-link-refused', lastErrorAt: p.isoNow() },
          });
        },
        state: (s) => p.mirror.state(s),
        event: (e) => p.mirror.event(e),
        result: (r) => p.keys.result(r),
        status: (s) => {
          // The main unit's link to central, for the board's mark, as its own board shows it.
          const up = s.device === sat.main.device ? s.hardware?.['mqtt-uplink'] : undefined;
          if (up && s.online) bus.emit('linkChanged', { online: up.connected });
        },
      },
    });
    // From now, so what the board and the voice report at their start is in our first status.
    bus.on('healthChanged', owner, ({ component, health }) => {
      p.hardware[component] = health;
      // Coalesced: a burst of changes is one retained status a second later.
      republish ??= setTimeout(() => {
        republish = null;
        link.republish();
      }, 1000);
    });
    return {
      name: 'main-link',
      async start() {
        await sessions.load();
        bus.emit('healthChanged', {
          component: LINK_COMPONENT,
          health: { connected: false, lastError: null, lastErrorAt: null },
        });
        bus.emit('mainLinkChanged', { online: false });
        link.start();
        p.setLink(link);
      },
      async stop() {
        bus.removeListeners(owner);
        if (republish) clearTimeout(republish);
        republish = null;
        p.setLink(null);
        await link.stop();
      },
    };
  }

  /** The line control on stdin, over the simulator's keypads only. */
  private terminal(mirror: StateMirror, keys: SatelliteKeys, keypads: SimKeypads | undefined): Extension | null {
    const t = this.opts.terminal;
    if (!t || !keypads) return null;
    const bus = this.bus;
    let stop: (() => Promise<void>) | null = null;
    return {
      name: 'terminal',
      async start() {
        stop = startSatelliteTerminal({ bus, mirror, keys, keypads, write: t.write }, t.input);
      },
      async stop() {
        await stop?.();
        stop = null;
      },
    };
  }
}
