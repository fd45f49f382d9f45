// Runs a daemon's start/stop order: lock, store, clock and queue (the core), then the parts the
// composition root (app.ts) builds over that core, started in order and stopped in reverse. Like
// zigbee2mqtt's controller it wires, it does not decide: the queue decides, the features react to
// the bus. Which parts a daemon has is app.ts's business, not this file's.
import * as path from 'node:path';
import type { Logger } from 'pino';
import { monotonicFactory } from 'ulid';
import { Bus } from './bus.ts';
import { ClockGuard } from './clock.ts';
import type { Config } from './config/schema.ts';
import type { Extension, ExtensionContext } from './extension.ts';
import { claimDataDir, unwritableInDataDir } from './lock.ts';
import type { ComponentHealth } from './ports/health.ts';
import { QueueEngine } from './queue/engine.ts';
import { DurableQueue, type QueueService } from './queue/service.ts';
import type { StoreFs } from './store/fs.ts';
import { Store } from './store/store.ts';
import { stopParts } from './util/stop-parts.ts';

/** What the parts are built over: the durable queue and its clock, opened from the data dir. */
export interface Core {
  /** the context every feature is handed */
  ctx: ExtensionContext;
  store: Store;
  engine: QueueEngine;
  queue: QueueService;
  clock: ClockGuard;
}

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
  storeFs?: StoreFs;
  /** the disk failed under the journal: the daemon must stop and recover on restart */
  onFatal?: (err: Error) => void;
  /** builds the parts over the opened core, in start order (app.ts's buildDaemon) */
  parts: (core: Core) => Promise<Extension[]> | Extension[];
  /** how long the parts together may take to stop before the rest go on without the slow one;
   * default STOP_BUDGET_MS (device/util/stop-parts.ts) */
  stopBudgetMs?: number;
}

export class Controller {
  readonly bus = new Bus();
  store!: Store;
  queue!: QueueService;
  engine!: QueueEngine;
  clock!: ClockGuard;
  recovered: string[] = [];
  private parts: Extension[] = [];
  private releaseLock: (() => Promise<void>) | null = null;
  private readonly wall: () => number;
  /** the effective time every part of the daemon uses (see clock.ts) */
  readonly now = (): number => (this.clock ? this.clock.now() : this.wall());

  constructor(private readonly opts: ControllerOptions) {
    this.wall = opts.now ?? Date.now;
    this.bus.onListenerError(({ name, err }) =>
      opts.logger.error({ err, event: name }, 'a feature failed handling a bus event'),
    );
  }

  get config(): Config {
    return this.opts.config;
  }

  /** The store's part of the device status: what recovery had to repair at start. */
  storeHealth(): ComponentHealth {
    const stats = this.store.stats();
    const code =
      this.store.commandLogError !== null
        ? 'command-log-failed'
        : this.store.lastSnapshotError !== null
          ? 'snapshot-failed'
          : this.recovered.length > 0
            ? 'state-recovered'
            : null;
    return {
      connected: true,
      lastError: code,
      lastErrorAt: code ? new Date(this.now()).toISOString() : null,
      recovered: this.recovered,
      seq: stats.durableSeq,
      snapshotSeq: stats.snapshotSeq,
      lastSnapshotError: this.store.lastSnapshotError,
      commandLogError: this.store.commandLogError,
    };
  }

  async start(): Promise<void> {
    const { dataDir, logger } = this.opts;
    this.releaseLock = await claimDataDir(dataDir, { logger });
    try {
      const core = await this.openCore();
      this.parts = [];
      for (const part of await this.opts.parts(core)) {
        // Listed before it starts: a part that fails half-way is stopped with the others.
        this.parts.push(part);
        await part.start();
        logger.debug({ extension: part.name }, 'started');
      }
      // Every sink that mirrors the journal has opened its cursor: from now on a cursor on disk
      // that none opened no longer holds the journal back (store/outbox.ts).
      this.store.outbox.settle();
      // Reported once everything listens: the device status (MQTT, `npm run status`) shows it.
      this.bus.emit('healthChanged', { component: 'store', health: this.storeHealth() });
      for (const r of this.recovered) this.bus.emit('storeRecovered', { detail: r });
    } catch (err) {
      await this.stop().catch(() => undefined);
      throw unwritableInDataDir(err, dataDir);
    }
  }

  async stop(): Promise<void> {
    await stopParts(this.parts, this.opts.logger, this.opts.stopBudgetMs);
    this.parts = [];
    await this.store?.close().catch((err) => this.opts.logger.error({ err }, 'store close failed'));
    await this.releaseLock?.();
    this.releaseLock = null;
  }

  /** What the store's problems were when last logged: a change is logged once, not every retry. */
  private loggedProblems = new Map<string, string | null>();

  /** A snapshot or the command log that starts or stops failing while the office runs (a full or
   * failing card) is logged: the status alone showed it, so a log-based alert never saw it. */
  private logStoreProblems(): void {
    const problems = [
      {
        code: 'snapshot-failed',
        now: this.store.lastSnapshotError,
        level: 'warn',
        failing:
          'a snapshot of the queue could not be written: nothing is lost (the journal holds every event), it is tried again a few records later; is the card full or failing?',
        back: 'snapshots written again',
      },
      {
        code: 'command-log-failed',
        now: this.store.commandLogError,
        level: 'error',
        failing:
          "the command log could not be written: answers to central's refused commands are not durable; is the card full or failing?",
        back: 'the command log is written again',
      },
    ] as const;
    for (const p of problems) {
      if (p.now === (this.loggedProblems.get(p.code) ?? null)) continue;
      this.loggedProblems.set(p.code, p.now);
      if (p.now !== null) this.opts.logger[p.level]({ code: p.code, err: p.now }, p.failing);
      else this.opts.logger.info({ code: p.code }, p.back);
    }
  }

  /** The store opened (and repaired if it must be), the clock disciplined from its last event, the
   * engine over its state and the queue that makes every action durable before the bus hears it. */
  private async openCore(): Promise<Core> {
    const { config, dataDir, logger } = this.opts;
    this.store = new Store({
      dir: dataDir,
      snapshotEvery: config.store.snapshotEvery,
      outboxMaxEvents: config.store.outboxMaxEvents,
      ...(this.opts.storeFs ? { fs: this.opts.storeFs } : {}),
      // a snapshot or the command log failing later (a full card) shows in the status at once
      onProblemChange: () => {
        this.logStoreProblems();
        this.bus.emit('healthChanged', { component: 'store', health: this.storeHealth() });
      },
    });
    const { state, recovered, leftovers, reconciledCommands } = await this.store.open(config);
    this.recovered = recovered;
    for (const r of recovered) logger.warn({ component: 'store' }, `recovered: ${r}`);
    if (leftovers.files > 0)
      logger.info(
        { component: 'store', removedTempFiles: leftovers.files, removedTempBytes: leftovers.bytes },
        'removed the temp files of durable writes cut short',
      );
    if (reconciledCommands > 0)
      logger.info(
        { component: 'store', reconciledCommands },
        'command results put back in the command log from the journal (a power cut came between them)',
      );
    this.clock = this.disciplinedClock(state.lastAt);
    const newId = this.opts.newId ?? monotonicFactory();
    const idFn = this.opts.newId ? newId : () => (newId as (t?: number) => string)(this.now());
    let journalFailed = false;
    this.engine = new QueueEngine(config, { now: this.now, newId: idFn }, state);
    this.queue = new DurableQueue({
      config,
      engine: this.engine,
      store: this.store,
      bus: this.bus,
      logger: logger.child({ component: 'queue' }),
      now: this.now,
      onFatal: (err: Error) => {
        // Every action after the failure fails with it: one line, with the code an alert looks for.
        if (!journalFailed)
          logger.fatal(
            { code: 'journal-write-failed', err },
            'the journal cannot be written; stopping so a restart recovers from disk',
          );
        journalFailed = true;
        this.opts.onFatal?.(err);
      },
      clock: this.clock,
    });
    logger.info({ seq: state.seq, day: state.day, open: state.open, dataDir: path.resolve(dataDir) }, 'queue loaded');
    const ctx: ExtensionContext = { config, bus: this.bus, queue: this.queue, logger, dataDir, now: this.now };
    return { ctx, store: this.store, engine: this.engine, queue: this.queue, clock: this.clock };
  }

  private disciplinedClock(lastEventAt: number): ClockGuard {
    const { logger } = this.opts;
    return new ClockGuard({
      wall: this.wall,
      monotonic: this.opts.monotonic ?? (this.opts.now ? this.opts.now : () => performance.now()),
      lastEventAt,
      ...(this.opts.clockSynchronized ? { synchronized: this.opts.clockSynchronized } : {}),
      // An ignored step has a code (an alert on codes saw nothing of a clock set by hand on a
      // synchronised Pi, whose status says synchronised) and its end is said with the same code.
      onJump: (j) =>
        logger.warn(
          {
            component: 'clock',
            ...(j.accepted ? {} : { code: 'clock-step-ignored' }),
            jumpMs: j.wall - j.expected,
            accepted: j.accepted,
          },
          j.accepted ? 'clock stepped (synchronised): following it' : 'clock jumped without synchronisation: ignored',
        ),
      onAgree: ({ ignoredMs }) =>
        logger.info(
          { component: 'clock', code: 'clock-step-ignored', ignoredMs },
          "the system clock agrees with the queue's time again: the ignored step is over",
        ),
    });
  }
}
