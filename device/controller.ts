// Builds the daemon and runs its start/stop order: lock, store, queue, then inputs and features;
// stop in reverse. Like zigbee2mqtt's controller it wires, it does not decide: the queue decides,
// the features react to the bus.
import * as path from 'node:path';
import { mkdir } from 'node:fs/promises';
import type { Logger } from 'pino';
import { monotonicFactory } from 'ulid';
import { SimButtons } from '../sim/buttons.ts';
import { SimKeypads } from '../sim/keypads.ts';
import { Bus } from './bus.ts';
import { ClockGuard } from './clock.ts';
import type { Config } from './config/schema.ts';
import { Counters } from './counters.ts';
import { Dispenser, type TicketOutput } from './dispenser.ts';
import type { Extension, ExtensionContext } from './extension.ts';
import { acquireLock } from './lock.ts';
import type { ButtonSource } from './ports/buttons.ts';
import type { ComponentHealth } from './ports/health.ts';
import type { KeypadSource } from './ports/keypad.ts';
import { QueueEngine } from './queue/engine.ts';
import { DurableQueue, type QueueService } from './queue/service.ts';
import type { StoreFs } from './store/fs.ts';
import { Store } from './store/store.ts';

export interface ControllerOptions {
  config: Config;
  dataDir: string;
  logger: Logger;
  /** the wall clock, epoch ms (tests inject one to run a day in milliseconds) */
  now?: () => number;
  /** a monotonic clock in ms; defaults to the injected wall clock in tests, performance.now() live */
  monotonic?: () => number;
  /** whether the system clock is NTP-synchronised (default: systemd-timesyncd's flag file) */
  clockSynchronized?: () => boolean;
  newId?: () => string;
  /** input ports; default: the simulator's */
  buttons?: ButtonSource;
  keypads?: KeypadSource;
  /** builds the real input drivers from config (null: use the simulator's); the bus is for health */
  createInputs?: (bus: Bus) => Promise<{ buttons: ButtonSource | null; keypads: KeypadSource | null }>;
  /** how a ticket gets printed; null: nobody prints (tests, headless) */
  ticketOutput?: (ctx: ExtensionContext) => TicketOutput | null;
  /** features hung off the bus (board, audio, MQTT bridge, simulator page) */
  extensions?: (ctx: ExtensionContext, store: Store) => Promise<Extension[]> | Extension[];
  /** started after the inputs, stopped before them (systemd readiness: ready means ready) */
  lastExtensions?: (ctx: ExtensionContext) => Extension[];
  storeFs?: StoreFs;
  tickMs?: number;
  /** the disk failed under the journal: the daemon must stop and recover on restart */
  onFatal?: (err: Error) => void;
}

export class Controller {
  readonly bus = new Bus();
  store!: Store;
  queue!: QueueService;
  engine!: QueueEngine;
  dispenser!: Dispenser;
  counters!: Counters;
  /** set when the simulator's ports are in use */
  sim: { buttons?: SimButtons; keypads?: SimKeypads } = {};
  recovered: string[] = [];
  private extensions: Extension[] = [];
  private releaseLock: (() => Promise<void>) | null = null;
  private timer: NodeJS.Timeout | null = null;
  clock!: ClockGuard;
  private readonly wall: () => number;
  /** the effective time every part of the daemon uses (see clock.ts) */
  readonly now = (): number => (this.clock ? this.clock.now() : this.wall());

  constructor(private readonly opts: ControllerOptions) {
    this.wall = opts.now ?? Date.now;
    this.bus.onListenerError(({ name, err }) =>
      opts.logger.error({ err, event: name }, 'a feature failed handling a bus event'),
    );
  }

  /** The store's part of the device status: what recovery had to repair at start. */
  storeHealth(): ComponentHealth {
    const stats = this.store.stats();
    return {
      connected: true,
      lastError: this.recovered.length > 0 ? 'state-recovered' : null,
      lastErrorAt: this.recovered.length > 0 ? new Date(this.now()).toISOString() : null,
      recovered: this.recovered,
      seq: stats.durableSeq,
      snapshotSeq: stats.snapshotSeq,
      lastSnapshotError: this.store.lastSnapshotError,
    };
  }

  get config(): Config {
    return this.opts.config;
  }

  async start(): Promise<void> {
    const { config, dataDir, logger } = this.opts;
    await mkdir(dataDir, { recursive: true });
    this.releaseLock = await acquireLock(dataDir);
    try {
      this.store = new Store({
        dir: dataDir,
        snapshotEvery: config.store.snapshotEvery,
        outboxMaxEvents: config.store.outboxMaxEvents,
        ...(this.opts.storeFs ? { fs: this.opts.storeFs } : {}),
      });
      const { state, recovered } = await this.store.open(config);
      this.recovered = recovered;
      for (const r of recovered) logger.warn({ component: 'store' }, `recovered: ${r}`);
      this.clock = new ClockGuard({
        wall: this.wall,
        monotonic: this.opts.monotonic ?? (this.opts.now ? this.opts.now : () => performance.now()),
        lastEventAt: state.lastAt,
        ...(this.opts.clockSynchronized ? { synchronized: this.opts.clockSynchronized } : {}),
        onJump: (j) =>
          logger.warn(
            { component: 'clock', jumpMs: j.wall - j.expected, accepted: j.accepted },
            j.accepted ? 'clock stepped (synchronised): following it' : 'clock jumped without synchronisation: ignored',
          ),
      });
      const newId = this.opts.newId ?? monotonicFactory();
      const idFn = this.opts.newId ? newId : () => (newId as (t?: number) => string)(this.now());
      this.engine = new QueueEngine(config, { now: this.now, newId: idFn }, state);
      const onFatal = this.opts.onFatal ?? ((err: Error) => logger.fatal({ err }, 'journal write failed'));
      this.queue = new DurableQueue(
        config,
        this.engine,
        this.store,
        this.bus,
        logger.child({ component: 'queue' }),
        this.now,
        onFatal,
      );
      logger.info({ seq: state.seq, day: state.day, open: state.open, dataDir: path.resolve(dataDir) }, 'queue loaded');

      await this.rollDay();
      const ctx: ExtensionContext = { config, bus: this.bus, queue: this.queue, logger, dataDir, now: this.now };
      const real = (await this.opts.createInputs?.(this.bus)) ?? { buttons: null, keypads: null };
      const buttons = this.opts.buttons ?? real.buttons ?? this.simButtons();
      const keypads = this.opts.keypads ?? real.keypads ?? this.simKeypads();
      this.dispenser = new Dispenser(
        config,
        this.queue,
        this.bus,
        buttons,
        this.opts.ticketOutput?.(ctx) ?? null,
        logger.child({ component: 'dispenser' }),
      );
      this.counters = new Counters(this.queue, keypads, logger.child({ component: 'counters' }));
      const features = (await this.opts.extensions?.(ctx, this.store)) ?? [];
      this.extensions = [...features, this.dispenser, this.counters, ...(this.opts.lastExtensions?.(ctx) ?? [])];
      for (const ext of this.extensions) {
        await ext.start();
        logger.debug({ extension: ext.name }, 'started');
      }
      // Reported once everything listens: the device status (MQTT, `npm run status`) shows it.
      this.bus.emit('healthChanged', { component: 'store', health: this.storeHealth() });
      for (const r of recovered) this.bus.emit('storeRecovered', { detail: r });
      this.timer = setInterval(() => void this.onTick(), this.opts.tickMs ?? 15_000);
      this.timer.unref();
    } catch (err) {
      await this.stop().catch(() => undefined);
      throw err;
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const ext of [...this.extensions].reverse()) {
      try {
        await ext.stop();
        this.opts.logger.debug({ extension: ext.name }, 'stopped');
      } catch (err) {
        this.opts.logger.error({ err, extension: ext.name }, 'stop failed');
      }
    }
    this.extensions = [];
    await this.store?.close().catch((err) => this.opts.logger.error({ err }, 'store close failed'));
    await this.releaseLock?.();
    this.releaseLock = null;
  }

  /** One tick of time: a new day when the office's date changed (and the clock can be trusted),
   * and cut-offs announced as they pass. Exposed for tests with an injected clock. */
  async onTick(): Promise<void> {
    try {
      await this.rollDay();
      await this.queue.execute({ type: 'tick' }, { source: 'timer' });
    } catch (err) {
      this.opts.logger.error({ err }, 'tick failed');
    }
  }

  private async rollDay(): Promise<void> {
    if (!this.opts.config.policy.autoOpen) return;
    if (this.clock.shouldOpenDay(this.engine.state.day, this.opts.config.office.timeZone)) {
      await this.queue.execute({ type: 'day.open' }, { source: 'timer' });
    }
  }

  private simButtons(): ButtonSource {
    const ids = this.opts.config.dispenser?.buttons.map((b) => b.id) ?? [];
    this.sim.buttons = new SimButtons(ids);
    return this.sim.buttons;
  }

  private simKeypads(): KeypadSource {
    this.sim.keypads = new SimKeypads(this.opts.config.counters.map((c) => c.id));
    return this.sim.keypads;
  }
}
