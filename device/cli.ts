// Command-line options of the daemon. Every option has an environment variable too, for systemd
// units and containers.
import { Command, Option } from 'commander';

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
    .addOption(new Option('--log-level <level>', 'trace | debug | info | warn | error').env('BEONHO_LOG_LEVEL'))
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  program.parse(argv);
  return program.opts<CliOptions>();
}

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`not a port number: ${v}`);
  return n;
}
