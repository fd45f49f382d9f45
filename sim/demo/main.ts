// `npm run demo`: the simulated central and three offices (a city hall passport office and two
// dong centres), each a simulator with its own page, broker ports and data dir under
// ./data/demo/<office>. Prints the URLs; Ctrl-C stops everything.
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import * as readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { type Central, type CentralOptions, startCentral } from '../central/main.ts';
import { isMainModule } from '../../device/util/main-module.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const SUPERVISOR = fileURLToPath(new URL('../supervisor.ts', import.meta.url));

/** The office configs pin their embedded broker ports (1891-1893, 9011-9013) and uplink to 1884.
 * singok2 has a satellite upstairs (its passport desk), shown on the same page. */
const OFFICES: Array<{ id: string; name: string; simPort: number; satellites?: string[] }> = [
  { id: 'cityhall', name: '시청 여권민원실', simPort: 8081 },
  { id: 'singok2', name: '신곡2동 행정복지센터', simPort: 8082, satellites: ['singok2-passport'] },
  { id: 'hoewon1', name: '호원1동 행정복지센터', simPort: 8083 },
];

const CENTRAL_PORTS = { mqttPort: 1884, wsPort: 9002, port: 8090 };

/** The demo's central on its fixed ports. A port taken is nearly always a demo or central still
 * running, and the listeners' own hints name options (--broker-port, --sim-port) the demo does not
 * take: the refusal says what the demo needs instead. */
export async function startDemoCentral(
  ports: Pick<CentralOptions, 'mqttPort' | 'wsPort' | 'port'> = CENTRAL_PORTS,
): Promise<Central> {
  try {
    return await startCentral({ ...ports, accounts: path.join(HERE, '..', 'central', 'accounts.yaml') });
  } catch (err) {
    const message = (err as Error).message;
    if (!/^cannot listen on /.test(message)) throw err;
    throw new Error(
      `${message.replace(/: another (broker|program).*$/, '')}: is another \`npm run demo\` or \`npm run central\` still running? ` +
        `The demo needs ports 8090, 1884 and 9002 (central), 8081-8083 (the office pages), 1891-1893 and 9011-9013 (their brokers)`,
    );
  }
}

/** The demo's command line: no option but --help; anything else is refused (exit 2, as the
 * daemon's bad command line) instead of being ignored while the demo starts. */
export function parseDemoArgs(argv: string[]): void {
  new Command()
    .name('npm run demo')
    .description(
      'The simulated central and three offices (one with a satellite), each with its page; Ctrl-C stops all.',
    )
    .addHelpText(
      'after',
      [
        '',
        'Ports: central 8090 (its page), 1884 and 9002 (its broker); the offices 8081-8083',
        '(their pages), 1891-1893 and 9011-9013 (their brokers).',
        'Environment: BEONHO_DEMO_DATA (the data root, default ./data/demo), BEONHO_LOG_LEVEL',
        "(the offices' log level, default warn).",
        'One office alone: npm start -- --help. Central alone: npm run central -- --help.',
        'docs/simulator.md explains the pages.',
      ].join('\n'),
    )
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
    .parse(argv);
}

async function main(): Promise<void> {
  parseDemoArgs(process.argv);
  const dataRoot = process.env.BEONHO_DEMO_DATA ?? path.resolve('data', 'demo');
  const central = await startDemoCentral().catch((err: Error) => {
    process.stderr.write(`beonho demo: ${err.message}\n`);
    process.exit(2);
  });
  const children: ChildProcess[] = [];
  const lines = [`중앙 민원대기현황 (central): ${central.url}`];
  for (const o of OFFICES) {
    const child = spawn(
      process.execPath,
      [
        ...process.execArgv,
        SUPERVISOR,
        '--config',
        path.join(HERE, `${o.id}.yaml`),
        '--data-dir',
        path.join(dataRoot, o.id),
        '--sim-port',
        String(o.simPort),
        '--no-stdin',
        ...(o.satellites ?? []).flatMap((s) => ['--satellite', path.join(HERE, `${s}.yaml`)]),
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, BEONHO_LOG_LEVEL: process.env.BEONHO_LOG_LEVEL ?? 'warn', BEONHO_LOG_FORMAT: 'json' },
      },
    );
    children.push(child);
    // Each office's own output, prefixed; the page URLs are printed once below.
    for (const stream of [child.stdout!, child.stderr!]) {
      readline.createInterface({ input: stream }).on('line', (line) => {
        if (!line.startsWith('beonho simulator page:')) process.stderr.write(`[${o.id}] ${line}\n`);
      });
    }
    child.on('exit', (code) => process.stderr.write(`[${o.id}] stopped (${code})\n`));
    const sats = o.satellites?.length ? ` (위성 장치 ${o.satellites.length}대)` : '';
    lines.push(`${o.name} (${o.id}): http://127.0.0.1:${o.simPort}/${sats}`);
  }
  process.stdout.write(`beonho demo\n  ${lines.join('\n  ')}\n`);

  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGTERM');
          }),
      ),
    );
    await central.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

if (isMainModule(import.meta.url)) void main();
