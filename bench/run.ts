// `npm run bench`: every benchmark, one after another (the machine has 2 cores: never in
// parallel), each in its own process so memory figures do not mix. Each prints its figures as
// ratios against a baseline measured in the same run. `npm run bench -- queue wear` runs some.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const ALL = ['queue', 'commands', 'wear', 'sd-wear', 'display', 'lean', 'mqtt', 'broker-auth'];
// Long (minutes) and needs mosquitto and rabbitmq-server: run only when named (`npm run bench -- fleet`).
const ON_DEMAND = ['fleet'];
const USAGE = `usage: npm run bench [-- NAME...]  (every benchmark but fleet when none is named)
names: ${[...ALL, ...ON_DEMAND].join(', ')}\n`;
const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(USAGE);
  process.exit(0);
}
// A name it does not know (a typo, an option) is refused: it ran every benchmark, minutes of load.
const unknown = args.filter((a) => !ALL.includes(a) && !ON_DEMAND.includes(a));
if (unknown.length > 0) {
  process.stderr.write(`no benchmark named ${unknown.join(', ')}\n${USAGE}`);
  process.exit(2);
}
const chosen = args;
let failed = 0;
for (const name of chosen.length > 0 ? chosen : ALL) {
  process.stdout.write(`\n== ${name} ==\n`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, `${name}.ts`)], {
    stdio: 'inherit',
  });
  if (r.status !== 0) {
    failed++;
    process.stdout.write(`(${name} benchmark failed with exit code ${r.status})\n`);
  }
}
process.exit(failed > 0 ? 1 : 0);
