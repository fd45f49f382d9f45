// `npm run test:bundle`: every suite that starts the daemon as a process (tests/helpers/daemon.ts)
// run again against the production build, the bundle in dist/device/main.js, instead of the
// sources under tsx. A bundle changes how packages load (a CommonJS package imported lazily gives
// its exports under `default` only: mqtt.js broke the uplink and the satellites' link that way), so
// the suites that exercise the daemon end to end run on it too. `.ci/run` calls it.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isMainModule } from '../device/util/main-module.ts';
import { build, ROOT } from './build.ts';

/** The test files that start daemons through the helper (tests/helpers/daemon.ts), and the power-cut
 * soak's (tests/soak/daemon.ts): both start BEONHO_TEST_ENTRY when it is set. */
export function daemonSuites(): string[] {
  const dir = path.join(ROOT, 'tests');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.test.ts'))
    .filter((f) => {
      const text = readFileSync(path.join(dir, f), 'utf8');
      return (
        (/from '\.\/helpers\/daemon\.ts'/.test(text) && /new Daemon\(/.test(text)) || /from '\.\/soak\//.test(text)
      );
    })
    .map((f) => path.join('tests', f));
}

if (isMainModule(import.meta.url)) {
  const outDir = build({ outDir: path.join(ROOT, 'dist') });
  const suites = daemonSuites();
  process.stderr.write(`test:bundle: ${suites.length} suites against ${path.relative(ROOT, outDir)}/device/main.js\n`);
  const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', ...suites], {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...process.env, BEONHO_TEST_ENTRY: path.join(outDir, 'device/main.js') },
  });
  process.exit(r.status ?? 1);
}
