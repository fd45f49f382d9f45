// Entry point: options, config, logger, then the controller. Exit codes: 0 clean stop, 1 runtime
// failure, 2 bad command line or config (systemd should not restart-loop on those).
import { parseCli } from './cli.ts';
import { ConfigError, loadConfig } from './config/load.ts';
import { Controller } from './controller.ts';
import { buildFeatures } from './features.ts';
import { LockedError } from './lock.ts';
import { HardwareError } from './hw/errors.ts';
import { createButtonSource, createKeypadSource } from './hw/factory.ts';
import { createLogger } from './log.ts';
import type { ComponentHealth } from './ports/health.ts';
import { createSystemdExtension } from './systemd.ts';
import { startTerminal } from '../sim/terminal.ts';
import { printerFeature } from '../display/printer-extension.ts';

async function main(): Promise<void> {
  const cli = parseCli(process.argv);
  let loaded: Awaited<ReturnType<typeof loadConfig>>;
  try {
    loaded = await loadConfig(cli.config);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`beonho: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const { config, source } = loaded;
  // Command-line ports win over the file (two daemons on one machine, tests).
  if (cli.brokerPort !== undefined) config.mqtt.broker.port = cli.brokerPort;
  if (cli.wsPort !== undefined) config.mqtt.broker.wsPort = cli.wsPort;
  const logger = createLogger({
    office: config.office.id,
    device: config.device.id,
    ...(cli.logLevel ? { level: cli.logLevel } : {}),
  });
  logger.info({ config: source, dataDir: cli.dataDir }, 'beonho starting');

  let stopping = false;
  const controller: Controller = new Controller({
    config,
    dataDir: cli.dataDir,
    logger,
    ticketOutput: (ctx) => printerFeature(ctx).ticketOutput(ctx.queue),
    extensions: (ctx, store) => buildFeatures(ctx, store, cli, controller.sim),
    createInputs: async (bus) => {
      const onHealth = (component: string, health: ComponentHealth) => bus.emit('healthChanged', { component, health });
      return {
        buttons: await createButtonSource(config, logger, { onHealth }),
        keypads: await createKeypadSource(config, logger, { onHealth }),
      };
    },
    lastExtensions: (ctx) => [createSystemdExtension(ctx, { alive: () => !stopping })],
    onFatal: (err) => {
      logger.fatal({ err }, 'the journal cannot be written; stopping so a restart recovers from disk');
      void shutdown(1);
    },
  });

  async function shutdown(code: number): Promise<void> {
    if (stopping) return;
    stopping = true;
    logger.info('beonho stopping');
    stopTerminal?.();
    await controller.stop();
    logger.flush?.();
    process.exit(code);
  }

  // Handlers before anything can announce readiness: a supervisor that reads "ready" and stops us
  // at once must find them in place. A signal during start stops us right after it.
  let started = false;
  let stopAsked = false;
  const onSignal = (): void => {
    if (started) void shutdown(0);
    else stopAsked = true;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    await controller.start();
    started = true;
  } catch (err) {
    const code = (err as { code?: string }).code;
    // Problems a person must fix (another daemon, a newer state, missing hardware): exit 2, so
    // systemd does not restart-loop on them.
    if (
      err instanceof LockedError ||
      err instanceof HardwareError ||
      code === 'state-too-new' ||
      code === 'state-unrecoverable'
    ) {
      logger.fatal({ code }, (err as Error).message);
      process.stderr.write(`beonho: ${(err as Error).message}\n`);
      process.exit(2);
    }
    logger.fatal({ err }, 'start failed');
    process.exit(1);
  }

  let stopTerminal: (() => void) | undefined;
  if (cli.stdin && controller.sim.buttons && controller.sim.keypads) {
    stopTerminal = startTerminal({
      bus: controller.bus,
      queue: controller.queue,
      buttons: controller.sim.buttons,
      keypads: controller.sim.keypads,
      buttonIds: config.dispenser?.buttons.map((b) => b.id) ?? [],
      write: (line) => process.stdout.write(`${line}\n`),
    });
    process.stdout.write('beonho simulator ready. Type "help" for commands (press resident, key 1 next, state).\n');
  }
  if (stopAsked) await shutdown(0);
}

void main();
