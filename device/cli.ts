// Command-line options of the daemon. Every option has an environment variable too, for systemd
// units and containers.
import { Command, InvalidArgumentError, Option } from 'commander';

/** pino's levels: another word ("warning", "verbose") in the unit's environment file would stop
 * the start with a stack trace and exit 1, which systemd restarts for ever. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

export interface CliOptions {
  config?: string;
  dataDir: string;
  brokerPort?: number;
  wsPort?: number;
  stdin: boolean;
  logLevel?: string;
}

export function parseCli(argv: string[]): CliOptions {
  const program = new Command()
    .name('beonho')
    .description('Queue-number daemon for a public office: dispenser, counter keypads, number board, MQTT to central.')
    .addOption(
      new Option('-c, --config <file>', 'YAML config file (default: the built-in simulator office)').env(
        'BEONHO_CONFIG',
      ),
    )
    .addOption(
      new Option('-d, --data-dir <dir>', 'where the queue state and journal live')
        .env('BEONHO_DATA_DIR')
        .default('./data'),
    )
    .addOption(
      new Option('--broker-port <port>', 'embedded MQTT broker TCP port').env('BEONHO_BROKER_PORT').argParser(port),
    )
    .addOption(
      new Option('--ws-port <port>', 'embedded MQTT broker WebSocket port').env('BEONHO_WS_PORT').argParser(port),
    )
    .addOption(new Option('--no-stdin', 'do not read simulator commands from the terminal'))
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).env('BEONHO_LOG_LEVEL'))
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  program.parse(argv);
  return program.opts<CliOptions>();
}

/** A TCP port written as digits, or null: Number() alone also takes "0x50" (port 80), "1e3" and
 * "8080.0". */
export function portNumber(v: string): number | null {
  return /^\d{1,5}$/.test(v) && Number(v) <= 65535 ? Number(v) : null;
}

/** A bad port is the command line's problem: exit 2 with commander's one line, not a stack trace
 * and exit 1 (which systemd would restart). */
function port(v: string): number {
  const n = portNumber(v);
  if (n === null) throw new InvalidArgumentError('not a port number (0-65535).');
  return n;
}
