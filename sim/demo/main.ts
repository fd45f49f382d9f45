// `npm run demo`: the simulated central and three offices (a city hall passport office and two
// dong centres), each a simulator with its own page, broker ports and data dir under
// ./data/demo/<office>. Prints the URLs; Ctrl-C stops everything.
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import * as readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startCentral } from '../central/main.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const SUPERVISOR = fileURLToPath(new URL('../supervisor.ts', import.meta.url));

/** The office configs pin their embedded broker ports (1891-1893, 9011-9013) and uplink to 1884.
 * singok2 has a satellite upstairs (its passport desk), shown on the same page. */
const OFFICES: Array<{ id: string; name: string; simPort: number; satellites?: string[] }> = [
  { id: 'cityhall', name: '시청 여권민원실', simPort: 8081 },
  { id: 'singok2', name: '신곡2동 행정복지센터', simPort: 8082, satellites: ['singok2-passport'] },
  { id: 'hoewon1', name: '호원1동 행정복지센터', simPort: 8083 },
];

async function main(): Promise<void> {
  const dataRoot = process.env.BEONHO_DEMO_DATA ?? path.resolve('data', 'demo');
  const central = await startCentral({
    mqttPort: 1884,
    wsPort: 9002,
    port: 8090,
    accounts: path.join(HERE, '..', 'central', 'accounts.yaml'),
  }).catch((err: Error) => {
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

void main();
