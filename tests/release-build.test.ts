// `npm run build`: the compiled daemon runs on plain node, with node_modules that lack every
// development tool (tsx, esbuild, typescript, vitest), from start to ready through a whole day.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { build, ROOT } from '../scripts/build.ts';
import { runScenario } from './arm/scenario.ts';
import { killAll } from './helpers/daemon.ts';

const DEV_ONLY = new Set(['tsx', 'esbuild', '@esbuild', 'typescript', 'vitest', '@vitest', '@biomejs', '.bin']);

let app: string;
beforeAll(async () => {
  app = await mkdtemp(path.join(tmpdir(), 'beonho-build-'));
  build({ outDir: path.join(app, 'dist'), log: () => {} });
  // node_modules: the repository's packages, one symlink each, without the development tools
  await mkdir(path.join(app, 'node_modules'));
  for (const name of await readdir(path.join(ROOT, 'node_modules'))) {
    if (DEV_ONLY.has(name)) continue;
    await symlink(path.join(ROOT, 'node_modules', name), path.join(app, 'node_modules', name));
  }
});
afterEach(killAll);
afterAll(async () => {
  await rm(app, { recursive: true, force: true });
});

describe('the compiled daemon', () => {
  it('has no TypeScript left: every relative import names a .js file', async () => {
    const files = await readdir(path.join(app, 'dist'), { recursive: true });
    const js = files.filter((f) => f.endsWith('.js'));
    expect(js).toContain(path.join('device', 'main.js'));
    expect(files.filter((f) => f.endsWith('.ts'))).toEqual([]);
    for (const f of js) {
      const text = await readFile(path.join(app, 'dist', f), 'utf8');
      expect(text, f).not.toMatch(/from '\.{1,2}\/[^']*\.ts'|import\('\.{1,2}\/[^']*\.ts'\)/);
    }
    const pkg = JSON.parse(await readFile(path.join(app, 'dist/package.json'), 'utf8'));
    const root = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8'));
    expect(pkg).toMatchObject({ version: root.version, type: 'module' });
  });

  it('answers --help on plain node', async () => {
    const r = await promisify(execFile)(process.execPath, [path.join(app, 'dist/device/main.js'), '--help'], {
      cwd: app,
    });
    expect(r.stdout).toMatch(/Usage: beonho/);
    expect(r.stdout).toMatch(/--data-dir/);
  });

  it('runs an office day: ready, ticket, call with voice, MQTT, power cut, clean stop', async () => {
    const work = await mkdtemp(path.join(tmpdir(), 'beonho-build-day-'));
    try {
      const r = await runScenario({ appDir: app, configFile: path.join(ROOT, 'config/example.yaml'), work });
      expect(r.wavSeconds).toBeGreaterThan(3);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }, 120_000);

  it('finds its files from dist/: the contract schemas and the version', async () => {
    const r = await promisify(execFile)(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const s = await import(${JSON.stringify(path.join(app, 'dist/bridge/contract/schemas.js'))});
         const h = await import(${JSON.stringify(path.join(app, 'dist/device/health.js'))});
         console.log(JSON.stringify({ schemas: s.loadSchemaFiles().size, version: h.packageVersion() }));`,
      ],
      { cwd: app },
    );
    const root = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8'));
    const out = JSON.parse(r.stdout);
    expect(out.schemas).toBeGreaterThan(10);
    expect(out.version).toBe(root.version);
  });
});
