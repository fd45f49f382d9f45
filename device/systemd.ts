// Tells systemd how the daemon is doing: READY=1 once everything started, WATCHDOG=1 pings while the
// event loop runs, STATUS= lines for `systemctl status`, STOPPING=1 on the way out. A no-op when
// NOTIFY_SOCKET is unset (development, tests, the simulator).
//
// How the datagrams get out: sd_notify is one AF_UNIX SOCK_DGRAM datagram to $NOTIFY_SOCKET, and
// Node 20 cannot send one: `dgram` is UDP only (unix datagrams were removed in 0.5, nodejs/node
// #29339 and #61933 are closed without them), `net` is streams only, and the npm packages that do it
// (unix-dgram, sd-notify) are native modules that must compile on the Pi. So we spawn
// `systemd-notify`, which every systemd system has (Raspberry Pi OS included), with the message as
// arguments. Two consequences, both handled:
// - the sender is the child, not our PID: the unit sets NotifyAccess=all (deploy/unit.ts);
// - a sender that exits before systemd reads the datagram used to lose it (the PID no longer maps to
//   the unit). systemd-notify >= 246 waits on a barrier (sd_notify_barrier, systemd PR #15547) until
//   systemd has processed the message; bookworm has 252.
// A spawn every 15 s costs a few milliseconds on a Pi 4. The ping timer lives on our event loop, so
// a stalled loop (a busy loop, a sync call that hangs) sends nothing and systemd restarts us.
import { execFile } from 'node:child_process';
import type { Logger } from 'pino';
import type { DaemonCode } from './error-codes.ts';
import type { Extension, FeatureContext } from './extension.ts';
import { missingRuntimeEnv, runtimeEnvWarning } from './runtime-env.ts';

export interface NotifySender {
  /** Sends one datagram of KEY=VALUE lines. Rejects when it could not be delivered. */
  send(lines: string[]): Promise<void>;
}

export interface SystemdEnv {
  NOTIFY_SOCKET?: string;
  WATCHDOG_USEC?: string;
  WATCHDOG_PID?: string;
  /** the rest of the service's environment: the unit's runtime settings (device/runtime-env.ts) */
  [key: string]: string | undefined;
}

/** Sends through the `systemd-notify` tool (see the top of this file for why). */
export function systemdNotifySender(socket: string, opts: { binary?: string; timeoutMs?: number } = {}): NotifySender {
  const binary = opts.binary ?? 'systemd-notify';
  return {
    send(lines) {
      return new Promise((resolve, reject) => {
        execFile(
          binary,
          lines,
          { env: { ...process.env, NOTIFY_SOCKET: socket }, timeout: opts.timeoutMs ?? 5000 },
          (err, _stdout, stderr) => (err ? reject(new Error(stderr.trim() || err.message)) : resolve()),
        );
      });
    },
  };
}

/**
 * Milliseconds between two watchdog pings: half of WATCHDOG_USEC, as sd_watchdog_enabled(3) advises.
 * null when systemd set no watchdog, or set it for another process (WATCHDOG_PID).
 */
export function watchdogIntervalMs(env: SystemdEnv, pid: number): number | null {
  const usec = Number(env.WATCHDOG_USEC);
  if (!env.WATCHDOG_USEC || !Number.isFinite(usec) || usec <= 0) return null;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return null;
  return Math.max(1, Math.floor(usec / 2000));
}

export interface SystemdOptions {
  env?: SystemdEnv;
  pid?: number;
  /** default: systemd-notify on $NOTIFY_SOCKET */
  sender?: NotifySender;
  /** node's own flags (default: process.execArgv): the unit's runtime flags are checked in them */
  execArgv?: readonly string[];
  /**
   * Asked before each ping; false skips it, so a daemon whose loop runs but whose core is wedged
   * (e.g. the store cannot write) is restarted too. Default: always alive.
   */
  alive?: () => boolean;
}

const SEND_FAILED: DaemonCode = 'systemd-notify-failed';
const UNIT_OUTDATED: DaemonCode = 'unit-outdated';

export function createSystemdExtension(ctx: FeatureContext, opts: SystemdOptions = {}): Extension {
  const env = opts.env ?? (process.env as SystemdEnv);
  const pid = opts.pid ?? process.pid;
  const log: Logger = ctx.logger.child({ component: 'systemd' });
  const socket = env.NOTIFY_SOCKET;
  let timer: NodeJS.Timeout | null = null;
  let pingInFlight = false;
  let lastStatus = '';
  let failures = 0;
  const owner = {};
  const facts = { link: null as boolean | null, lastError: null as string | null };

  const sender = socket ? (opts.sender ?? systemdNotifySender(socket)) : null;

  const send = async (lines: string[]): Promise<boolean> => {
    if (!sender) return false;
    try {
      await sender.send(lines);
      if (failures > 0) log.info({ code: SEND_FAILED, failures }, 'systemd notifications get through again');
      failures = 0;
      return true;
    } catch (err) {
      // Log the first failure and then every 20th: a ping every 15 s must not flood the journal.
      if (failures % 20 === 0) {
        log.error(
          { code: SEND_FAILED, err: (err as Error).message, failures: failures + 1 },
          'cannot notify systemd: is systemd-notify installed (package systemd)? without it the service is never ready and the watchdog restarts it',
        );
      }
      failures += 1;
      return false;
    }
  };

  const statusText = (): string => {
    const parts = [`office ${ctx.config.office.id}`, `device ${ctx.config.device.id}`];
    if (facts.link !== null) parts.push(facts.link ? 'central online' : 'central offline');
    if (facts.lastError) parts.push(`last error ${facts.lastError}`);
    return parts.join(', ');
  };

  const pushStatus = (): void => {
    const text = statusText();
    if (text === lastStatus) return;
    lastStatus = text;
    void send([`STATUS=${text}`]);
  };

  const ping = (): void => {
    // A ping still waiting for its barrier means systemd is slow, not us; do not pile up children.
    if (pingInFlight) return;
    if (opts.alive && !opts.alive()) {
      log.warn(
        { code: 'watchdog-skipped' },
        'the daemon reports itself wedged: watchdog ping withheld, systemd will restart it',
      );
      return;
    }
    pingInFlight = true;
    void send(['WATCHDOG=1']).finally(() => {
      pingInFlight = false;
    });
  };

  return {
    name: 'systemd',
    async start() {
      if (!sender) {
        log.debug('NOTIFY_SOCKET unset: not running under systemd, nothing to notify');
        return;
      }
      // Said before this extension listens to the bus: it is not the daemon's last error for
      // systemd's status line, which names what goes wrong while it runs.
      const missing = missingRuntimeEnv(env, opts.execArgv ?? process.execArgv);
      if (missing.length > 0) {
        log.warn({ code: UNIT_OUTDATED, missing }, runtimeEnvWarning(missing));
        const at = new Date(ctx.now()).toISOString();
        const health = { connected: true, lastError: UNIT_OUTDATED, lastErrorAt: at, missing: missing.join(' ') };
        ctx.bus.emit('healthChanged', { component: 'runtime', health });
      }
      ctx.bus.on('linkChanged', owner, ({ online }) => {
        facts.link = online;
        pushStatus();
      });
      // A part's last failure stays in its health once cleared (docs/mqtt.md) and comes again with
      // its every change (a printer refilled, the link back): only a new failure is the last error.
      const seen = new Map<string, string>();
      ctx.bus.on('healthChanged', owner, ({ component, health }) => {
        if (!health.lastError) return;
        const failure = `${health.lastError}@${health.lastErrorAt ?? ''}`;
        if (seen.get(component) === failure) return;
        seen.set(component, failure);
        facts.lastError = `${component}: ${health.lastError}`;
        pushStatus();
      });
      lastStatus = statusText();
      await send(['READY=1', `STATUS=${lastStatus}`]);
      const every = watchdogIntervalMs(env, pid);
      if (every !== null) {
        timer = setInterval(ping, every);
        // The daemon's own handles keep it alive; this timer must not keep a stopping process up.
        timer.unref();
        log.info({ everyMs: every }, 'systemd watchdog armed');
      }
    },
    async stop() {
      if (!sender) return;
      if (timer) clearInterval(timer);
      timer = null;
      ctx.bus.removeListeners(owner);
      await send(['STOPPING=1', 'STATUS=stopping']);
    },
  };
}
