// Keeps the device's health current and writes it to status.json every 30 s for `npm run status`,
// and within a second of a component's connection or error changing (a satellite's link to its
// main unit, a printer out of paper): an admin who runs `npm run status` after a cable was pulled
// must not read the state of half a minute before.
// It learns component errors from the bus (healthChanged) and counts issued tickets from the queue's
// events, so the only thing it needs from outside is the store's byte counter.
import type { Logger } from 'pino';
import type { Extension, FeatureContext } from './extension.ts';
import { collectHealth, type DeviceHealth, type HealthDeps, writeStatusFile } from './health.ts';
import type { ComponentHealth } from './ports/health.ts';

export interface HealthExtensionOptions {
  /** bytes the store wrote to the data dir since the start: `() => store.stats().bytesWritten` */
  bytesWritten: () => number;
  /**
   * where status.json goes; default $RUNTIME_DIRECTORY (systemd's RuntimeDirectory, /run/beonho, a
   * tmpfs: no SD-card wear) and else the data dir
   */
  dir?: string;
  everyMs?: number;
  /** epoch ms the daemon started; default: when this extension was created */
  startedAt?: number;
  deps?: Partial<HealthDeps>;
  env?: { RUNTIME_DIRECTORY?: string };
}

export interface HealthExtension extends Extension {
  /** the health now, for the MQTT status publisher */
  current(): Promise<DeviceHealth>;
}

export const STATUS_EVERY_MS = 30_000;

/** How soon a component's change reaches status.json; several changes in that time are one write. */
export const STATUS_CHANGE_DELAY_MS = 1_000;

export function createHealthExtension(ctx: FeatureContext, opts: HealthExtensionOptions): HealthExtension {
  const log: Logger = ctx.logger.child({ component: 'health' });
  const env = opts.env ?? process.env;
  // RUNTIME_DIRECTORY may list several dirs separated by ':'; ours sets one.
  const dir = opts.dir ?? env.RUNTIME_DIRECTORY?.split(':')[0] ?? ctx.dataDir;
  const startedAt = opts.startedAt ?? ctx.now();
  const components = new Map<string, ComponentHealth>();
  const owner = {};
  let ticketsIssued = 0;
  let timer: NodeJS.Timeout | null = null;
  let soon: NodeJS.Timeout | null = null;
  let failing = false;
  let writing: Promise<void> = Promise.resolve();
  /** a write waits behind the one running: it reads the health when it runs, so it stands for
   * every request made meanwhile (a stalling card and a flapping part must not queue up writes) */
  let queued = false;

  const current = (): Promise<DeviceHealth> =>
    collectHealth(
      {
        dataDir: ctx.dataDir,
        office: ctx.config.office.id,
        device: ctx.config.device.id,
        startedAt,
        bytesWritten: opts.bytesWritten(),
        ticketsIssued,
        components,
      },
      { now: ctx.now, ...opts.deps },
    );

  const write = (): Promise<void> => {
    // one write at a time: a slow card must not stack up writers
    if (queued) return writing;
    queued = true;
    writing = writing.then(async () => {
      queued = false;
      try {
        await writeStatusFile(dir, await current());
        if (failing) log.info({ code: 'status-write-failed', dir }, 'status file written again');
        failing = false;
      } catch (err) {
        if (!failing) {
          log.warn(
            { code: 'status-write-failed', dir, err: (err as Error).message },
            `\`npm run status\` will show an old status: the status file cannot be written (${statusWriteTrouble(err)})`,
          );
        }
        failing = true;
      }
    });
    return writing;
  };

  return {
    name: 'health',
    current,
    async start() {
      ctx.bus.on('healthChanged', owner, ({ component, health }) => {
        const before = components.get(component);
        components.set(component, health);
        // `ready` too: a printer out of paper that stays online keeps connected and lastError
        // (the last failure) when refilled; only `ready` says it prints again. So does the link to
        // central, whose `commands: refused` alone says central's ACL was fixed.
        const changed =
          before?.connected !== health.connected ||
          before?.lastError !== health.lastError ||
          before?.ready !== health.ready ||
          before?.commands !== health.commands;
        if (changed && timer && !soon) {
          soon = setTimeout(() => {
            soon = null;
            void write();
          }, STATUS_CHANGE_DELAY_MS);
          soon.unref();
        }
      });
      ctx.bus.on('queueEvents', owner, ({ events }) => {
        for (const e of events) if (e.type === 'ticket.issued') ticketsIssued += 1;
      });
      await write();
      timer = setInterval(() => void write(), opts.everyMs ?? STATUS_EVERY_MS);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      if (soon) clearTimeout(soon);
      soon = null;
      ctx.bus.removeListeners(owner);
      await write();
    },
  };
}

/** What to look at when the status file cannot be written, by the error's code. */
export function statusWriteTrouble(err: unknown): string {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return 'the disk is full';
    case 'EROFS':
      return 'the file system is read-only: remounted so after a write error?';
    case 'EIO':
      return 'the disk fails to write';
    default:
      return 'is the directory writable by the service?';
  }
}
