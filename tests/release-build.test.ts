// `npm run build`: the compiled daemon runs on plain node, with node_modules that lack every
// development tool (tsx, esbuild, typescript, vitest), from start to ready through a whole day.
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { build, ROOT } from '../scripts/build.ts';
import { runScenario } from './arm/scenario.ts';
import { Daemon, killAll, writeTestConfig } from './helpers/daemon.ts';
import { mainBroker, satelliteAccount } from './helpers/satellite-accounts.ts';
import { connectInbox, freePort } from './bridge-helpers.ts';
import { simulatorDefault } from '../device/config/default.ts';
import { buildVersion, gitCommit } from '../scripts/git-commit.ts';

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
    expect(pkg).toMatchObject({ version: buildVersion(root.version, gitCommit()), type: 'module' });
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

  it("links from the bundle: central's uplink, a satellite to its main unit (mqtt.js loaded lazily), a page over WebSocket", async () => {
    const work = await mkdtemp(path.join(tmpdir(), 'beonho-build-links-'));
    // central: a bare aedes broker; the daemon's uplink publishes the office's retained state there
    const { Aedes } = await import('aedes');
    const central = await Aedes.createBroker();
    const server = createServer(central.handle);
    const up = await freePort();
    await new Promise<void>((r) => server.listen(up, '127.0.0.1', () => r()));
    const { client, inbox } = await connectInbox(`mqtt://127.0.0.1:${up}`);
    try {
      await client.subscribeAsync('beonho/v1/+/state');
      const port = await freePort();
      const wsPort = await freePort();
      const services = simulatorDefault.services.map(({ cutoff: _c, ...x }) => x);
      await writeTestConfig(path.join(work, 'main.yaml'), {
        services,
        mqtt: {
          broker: { ...mainBroker(port, [await satelliteAccount('counter-12', 'pw-12', [1, 2])]), wsPort },
          uplink: { url: `mqtt://127.0.0.1:${up}`, reconnectMinMs: 50, reconnectMaxMs: 400 },
        },
      });
      await writeTestConfig(path.join(work, 'counter-12.yaml'), {
        services,
        role: 'satellite',
        device: { id: 'counter-12' },
        dispenser: undefined,
        satellite: {
          main: { url: `mqtt://127.0.0.1:${port}`, password: 'pw-12', reconnectMinMs: 100, reconnectMaxMs: 500 },
          counters: [1, 2],
        },
      });
      const run = (name: string) =>
        new Daemon(
          ['--config', path.join(work, `${name}.yaml`), '--data-dir', path.join(work, name)],
          { BEONHO_LOG_LEVEL: 'info' },
          { entry: path.join(app, 'dist/device/main.js'), cwd: app },
        );
      const main = run('main');
      await main.waitFor(/simulator ready/, 30_000);
      const sat = run('counter-12');
      await sat.waitFor(/^main unit: linked/, 30_000);
      await inbox.until(() => inbox.on('/singok2/state').length > 0, 30_000, "the uplink's state");
      // and a browser's way in: MQTT over the embedded broker's WebSocket port (ws, bundled)
      const page = await connectInbox(`ws://127.0.0.1:${wsPort}`, { username: 'central', password: 'central' });
      try {
        await page.client.subscribeAsync('beonho/v1/singok2/state');
        await page.inbox.until(() => page.inbox.on('/singok2/state').length > 0, 30_000, 'the state over WebSocket');
      } finally {
        await page.client.endAsync();
      }
      expect(await sat.kill('SIGTERM')).toBe(0);
      expect(await main.kill('SIGTERM')).toBe(0);
    } finally {
      await client.endAsync();
      await new Promise<void>((r) => central.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
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
         const b = await import(${JSON.stringify(path.join(app, 'dist/device/util/build-root.js'))});
         console.log(JSON.stringify({ schemas: s.loadSchemaFiles().size, version: b.packageVersion() }));`,
      ],
      { cwd: app },
    );
    const root = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8'));
    const out = JSON.parse(r.stdout);
    expect(out.schemas).toBeGreaterThan(10);
    // the package's version with the commit the build is made from (scripts/git-commit.ts)
    expect(out.version).toBe(buildVersion(root.version, gitCommit()));
  });

  it('runs the daemon from a bundle, with native and worker packages left in node_modules', async () => {
    const dir = path.join(app, 'dist/device');
    const files = ['main.js', ...(await readdir(path.join(dir, 'bundle'))).map((f) => `bundle/${f}`)];
    const text = (await Promise.all(files.map((f) => readFile(path.join(dir, f), 'utf8')))).join('\n');
    const relativeImports = (code: string): string[] =>
      [...code.matchAll(/(?:from\s*|import\()\s*["'](\.{1,2}\/[^"']*)["']/g)].map((m) => m[1]!);
    // no module of ours is loaded one by one beside the bundle: main.js imports only its chunks
    const relative = relativeImports(text);
    expect(relative.length).toBeGreaterThan(0);
    for (const r of relative) expect(r).toMatch(/^\.\/(?:bundle\/)?[\w-]+\.js$/);
    // and so does the worker the daemon validates its config in (zod is in its chunks, not main's)
    const worker = await readFile(path.join(dir, 'config/config-worker.js'), 'utf8');
    expect(relativeImports(worker).length).toBeGreaterThan(0);
    for (const r of relativeImports(worker)) expect(r).toMatch(/^\.\.\/bundle\/[\w-]+\.js$/);
    // the pure-JavaScript packages are inside it; the native ones, and pino, are imported by name
    for (const pkg of ['zod', 'ajv', 'aedes', 'mqtt', 'ws', 'yaml', 'commander', 'lowdb', 'qrcode']) {
      expect(text, pkg).not.toMatch(new RegExp(`(?:from\\s*|import\\()\\s*["']${pkg}["']`));
    }
    for (const pkg of ['@napi-rs/canvas', 'pino']) expect(text, pkg).toContain(`"${pkg}"`);
    // a bundle names nothing of the build by its own folder: the daemon reads its schemas and version
    // from the build's root (the office day above runs the commands and the voice that use them)
    expect(text).not.toMatch(/new URL\(\s*["']\.{1,2}\//);
    // CommonJS packages imported by Node's rules (a default import is module.exports), also when the
    // build is not inside the repository (a release's stage, this test's folder): esbuild marks each
    // such import with Node's flag only when it knows dist/ is ES modules (dist/package.json)
    const cjs = [...text.matchAll(/__toESM\((require_\w+\(\))(,\s*1)?\)/g)];
    expect(cjs.length).toBeGreaterThan(0);
    expect(cjs.filter((m) => !m[2]).map((m) => m[1])).toEqual([]);
    // main.js checks the Node it runs on before the daemon's chunks are linked (the release test
    // runs that check with an older Node): it imports no API newer than 20.0 statically
    const main = await readFile(path.join(dir, 'main.js'), 'utf8');
    expect(main).not.toMatch(/import\s*\{[^}]*\bcrc32\b[^}]*\}\s*from\s*["']node:zlib["']/);
  });
});
