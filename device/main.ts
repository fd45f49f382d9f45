// Entry point: options, config, logger, then the daemon (app.ts builds it). Exit codes: 0 clean
// stop, 1 runtime failure, 2 what a person must fix first (the command line, the config, the data
// dir, ...: systemd should not restart-loop on those).
// Only the command line's parser is loaded before the options are read: `--help` or a bad option
// answers without loading the daemon (the config's validators, the broker, the board's canvas).
// The config is validated in a worker thread (config/load-isolated.ts: the validator's memory ends
// with it) while the daemon's modules load in this one; a bad config is refused before anything
// starts.
import { parseCli } from './cli.ts';
import { simulatorReadyLine } from './simulated.ts';
import { HardwareError } from './hw/errors.ts';
import { DataDirError, LockedError } from './lock.ts';
import { missingNodeApis, NODE_TOO_OLD, nodeTooOldMessage } from './node-support.ts';

/** Start failures by code that a restart cannot cure: a newer or broken state, a certificate file
 * that cannot be read. */
const FOR_A_PERSON = new Set([
  // the config names a ticket link but the service has no secret for it: a restart cannot fix that
  'printer-ticket-secret-missing',
  // a ticket secret too short, or the published demo secret on a real printer
  'printer-ticket-secret-weak',
  'state-too-new',
  'state-other-office',
  'state-unrecoverable',
  'main-tls-file',
  'broker-tls-file',
  'uplink-tls-file',
]);

async function main(): Promise<void> {
  // Before `--help` too: the installer runs `--help` with the service's Node to catch exactly this.
  const missing = missingNodeApis();
  if (missing.length > 0) {
    process.stderr.write(`beonho: ${nodeTooOldMessage(missing)} [${NODE_TOO_OLD}]\n`);
    process.exit(2);
  }
  const cli = parseCli(process.argv);
  const [{ ConfigError }, { loadConfigIsolated }] = await Promise.all([
    import('./config/config-error.ts'),
    import('./config/load-isolated.ts'),
  ]);
  // The daemon's modules load while the worker validates the config (another thread).
  const modules = Promise.all([
    import('./app.ts'),
    import('./config/role.ts'),
    import('./log.ts'),
    import('./config/advice.ts'),
  ]);
  // awaited below, once the config is in: a failure to load is thrown there, after a config
  // problem is reported, not as an unhandled rejection while the worker still runs
  modules.catch(() => {});
  let loaded: Awaited<ReturnType<typeof loadConfigIsolated>>;
  try {
    loaded = await loadConfigIsolated(cli.config);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`beonho: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const { config, source, warnings, fallback } = loaded;
  const [{ buildDaemon }, { isSatellite }, { createLogger }, { configAdvice }] = await modules;
  // Command-line ports win over the file (two daemons on one machine, tests).
  if (cli.brokerPort !== undefined) config.mqtt.broker.port = cli.brokerPort;
  if (cli.wsPort !== undefined) config.mqtt.broker.wsPort = cli.wsPort;
  const logger = createLogger({
    office: config.office.id,
    device: config.device.id,
    ...(cli.logLevel ? { level: cli.logLevel } : {}),
  });
  logger.info({ config: source, dataDir: cli.dataDir }, 'beonho starting');
  if (fallback) logger.warn({ code: 'config-worker', err: fallback }, 'the config was validated in the main thread');
  for (const warning of warnings)
    logger.warn({ code: 'config-yaml-warning', warning }, 'the config file has a YAML warning');
  for (const advice of configAdvice(config))
    logger.warn({ code: 'config-advice', advice }, 'the config is valid but may be wrong for the office');

  let stopping = false;
  let started = false;
  // Everything else (which inputs, printer, features, in what order) is the composition root's.
  const options = {
    dataDir: cli.dataDir,
    logger,
    terminal: cli.stdin ? { input: process.stdin, write: (line: string) => process.stdout.write(`${line}\n`) } : null,
    systemd: { alive: () => !stopping },
    // the controller logs it (journal-write-failed)
    onFatal: () => void shutdown(1),
  };
  // A satellite (role: satellite) is built from the same root with other parts: no store or queue.
  const daemon = isSatellite(config) ? buildDaemon(config, options) : buildDaemon(config, options);

  // The lowest code asked for wins: a `systemctl stop` that comes during a stop for a failure must
  // still end with 0, or systemd counts the stop as failed and OnFailure's timer starts us again.
  let exitCode: number | null = null;
  async function shutdown(code: number): Promise<void> {
    exitCode = Math.min(exitCode ?? code, code);
    if (stopping) return;
    stopping = true;
    logger.info('beonho stopping');
    try {
      await daemon.stop();
    } catch (err) {
      logger.error({ err }, 'stop failed');
    } finally {
      logger.flush?.();
      process.exit(exitCode);
    }
  }

  // Handlers before anything can announce readiness: a supervisor that reads "ready" and stops us
  // at once must find them in place. A signal during start stops us right after it.
  let afterStart: number | null = null;
  const onSignal = (code: number): void => {
    if (started) void shutdown(code);
    else {
      afterStart = Math.min(afterStart ?? code, code);
      // a start still waiting (for NTP after a boot) gives up at once rather than hold the stop
      if ('cancelStart' in daemon) daemon.cancelStart();
    }
  };
  process.on('SIGINT', () => onSignal(0));
  process.on('SIGTERM', () => onSignal(0));
  // Left to Node, SIGHUP ends the process at once, and systemd counts death by SIGHUP as a clean
  // exit: Restart=on-failure does not restart it and the office stays dark. There is no live
  // reload, so a SIGHUP (`kill -HUP`, a closed terminal) stops cleanly and exits 1, which systemd
  // restarts: the config file is read again.
  process.on('SIGHUP', () => {
    logger.warn({ code: 'sighup-restart' }, 'SIGHUP: no live reload; stopping so that systemd starts beonho again');
    onSignal(1);
  });
  // Ctrl-D at the terminal the simulator was started from: the person typing is done, as with
  // Ctrl-C. The end of a stdin that is no terminal (a pipe, /dev/null, a service) changes nothing.
  if (cli.stdin && process.stdin.isTTY) process.stdin.once('end', () => onSignal(0));
  // Left to Node, an error no part caught prints a stack trace and exits without a log line a
  // `code` filter sees, leaving the board's console, the broker's clients and the store unclosed.
  const onCrash = (err: unknown): void => {
    logger.fatal({ code: 'uncaught-error', err }, 'a part failed unexpectedly; stopping so a restart starts clean');
    if (stopping) return;
    // half-started parts cannot be stopped in order: the journal on disk is what the restart reads
    if (!started) {
      logger.flush?.();
      // a failed start, as any other: one line for the person starting it by hand
      process.stderr.write(`beonho: ${oneLine(err)}\n`);
      process.exit(1);
    }
    void shutdown(1);
  };
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);

  try {
    await daemon.start();
    started = true;
  } catch (err) {
    const code = (err as { code?: string }).code;
    // Problems a person must fix (another daemon, a data dir it cannot write, a newer state,
    // missing hardware): exit 2, so systemd does not restart-loop on them.
    if (
      err instanceof LockedError ||
      err instanceof DataDirError ||
      err instanceof HardwareError ||
      (code !== undefined && FOR_A_PERSON.has(code))
    ) {
      logger.fatal({ code }, (err as Error).message);
      process.stderr.write(`beonho: ${(err as Error).message}\n`);
      process.exit(2);
    }
    // the error's code at the top of the line too, where alerts and `code` filters look
    logger.fatal({ ...(code !== undefined ? { code } : {}), err }, 'start failed');
    // A restart may cure it (exit 1), but a person starting it by hand should not have to read the
    // JSON line for the reason.
    process.stderr.write(`beonho: ${oneLine(err)}\n`);
    process.exit(1);
  }

  if (afterStart !== null) return shutdown(afterStart);
  if (daemon.parts.terminal) {
    process.stdout.write(
      isSatellite(config)
        ? `beonho satellite ${config.device.id} ready. Type "help" for commands (key ${config.satellite.counters[0] ?? '1'} next, state).\n`
        : simulatorReadyLine(config),
    );
  }
}

function oneLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/\s*\n\s*/g, ' ').trim() || 'start failed (no message; see the log line above)';
}

void main();
