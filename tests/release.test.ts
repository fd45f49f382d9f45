// `npm run release -- --arch x64`: the tarball, its manifest and sums, production-only
// node_modules, the installer's checks of an unpacked release, and an office day run from it.
// (arm64 and armhf are proven under qemu by `npm run test:arm`, scripts/test-arm.ts.)
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { checkRelease } from '../deploy/release-check.ts';
import { listFiles, type Manifest, type ReleaseResult, release, releaseEngines } from '../scripts/release.ts';
import { runScenario } from './arm/scenario.ts';
import { killAll } from './helpers/daemon.ts';
import { STATE_SCHEMA } from '../device/queue/reduce.ts';

const run = promisify(execFile);
let work: string;
let built: ReleaseResult;
let app: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'beonho-release-'));
  built = release({ arch: 'x64', outDir: path.join(work, 'out'), log: () => {} });
  await mkdir(path.join(work, 'opt'));
  await run('tar', ['-xzf', built.tarball, '-C', path.join(work, 'opt')]);
  app = path.join(work, 'opt', built.manifest.name);
}, 240_000);
afterEach(killAll);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('npm run release -- --arch x64', () => {
  it('writes beonho-<version>-linux-x64.tar.gz with its sha256 beside it', async () => {
    const pkg = JSON.parse(await readFile('package.json', 'utf8'));
    expect(path.basename(built.tarball)).toBe(`beonho-${pkg.version}-linux-x64.tar.gz`);
    const side = await readFile(`${built.tarball}.sha256`, 'utf8');
    const sum = createHash('sha256')
      .update(await readFile(built.tarball))
      .digest('hex');
    expect(side).toBe(`${sum}  ${path.basename(built.tarball)}\n`);
  });

  it('carries a manifest that lists every file, and sums that `sha256sum -c` accepts', async () => {
    const m = JSON.parse(await readFile(path.join(app, 'manifest.json'), 'utf8')) as Manifest;
    expect(m).toMatchObject({ arch: 'x64', cpu: 'x64', platform: 'linux', libc: 'glibc' });
    expect(m.node.abi).toBe(Number(process.versions.modules));
    expect(m.stateSchema).toBe(STATE_SCHEMA);
    expect(m.native.epoll).toMatch(/^compiled for x64/);
    expect(m.native['@napi-rs/canvas']).toMatch(/canvas-linux-x64-gnu/);
    const files = listFiles(app).filter((f) => f !== 'manifest.json' && f !== 'SHA256SUMS');
    expect(m.files.map((f) => f.path)).toEqual(files);
    for (const need of ['dist/device/main.js', 'config/example.yaml', 'docs/deploy.md', 'README.md', 'package.json']) {
      expect(files).toContain(need);
    }
    const r = await run('sha256sum', ['--check', '--quiet', 'SHA256SUMS'], { cwd: app });
    expect(r.stdout).toBe('');
  });

  it('holds production dependencies only, for this CPU', async () => {
    const nm = await readdir(path.join(app, 'node_modules'));
    for (const dev of ['tsx', 'esbuild', 'typescript', 'vitest', '@biomejs', 'fast-check', '.bin', '@types']) {
      expect(nm, dev).not.toContain(dev);
    }
    const napi = await readdir(path.join(app, 'node_modules/@napi-rs'));
    expect(napi.sort()).toEqual(['canvas', 'canvas-linux-x64-gnu']);
    expect(listFiles(path.join(app, 'node_modules')).filter((f) => f.endsWith('.d.ts'))).toEqual([]);
    const pkg = JSON.parse(await readFile(path.join(app, 'package.json'), 'utf8'));
    expect(Object.values(pkg.scripts).join(' ')).not.toMatch(/tsx/);
    expect(pkg.scripts.status).toBe('node dist/deploy/status.js');
  });

  it('runs what docs/deploy.md gives for a release: the log reader by its path, status as JSON alone', async () => {
    // a release has no node_modules/.bin, so no npx: each tool is given by its path under /opt/beonho
    const doc = await readFile('docs/deploy.md', 'utf8');
    const tools = [...doc.matchAll(/node \/opt\/beonho\/(\S+)/g)].map((m) => m[1]!);
    expect(tools).toContain('node_modules/pino-pretty/bin.js');
    for (const t of tools) expect(existsSync(path.join(app, t)), t).toBe(true);
    const log = `${JSON.stringify({ level: 30, time: 0, office: 'singok2', msg: 'beonho ready' })}\n`;
    const pretty = await new Promise<string>((resolve, reject) => {
      const child = execFile(process.execPath, [path.join(app, 'node_modules/pino-pretty/bin.js')], (err, stdout) =>
        err ? reject(err) : resolve(stdout),
      );
      child.stdin?.end(log);
    });
    expect(pretty).toMatch(/INFO.*beonho ready/);
    // exit 2: no daemon wrote a status here; stdout must still be the JSON and nothing else
    const dir = await mkdtemp(path.join(work, 'status-'));
    const r = await run('npm', ['run', '-s', 'status', '--', '--json', '--run-dir', dir, '--data-dir', dir], {
      cwd: app,
    }).catch((e: { code: number; stdout: string }) => e);
    expect(JSON.parse(r.stdout)).toMatchObject({ stale: true });
  });

  it("passes the installer's release checks with this node", async () => {
    expect(await checkRelease({ dir: app, nodePath: process.execPath, live: true })).toEqual([]);
  });

  it('runs an office day from the unpacked release', async () => {
    const day = await mkdtemp(path.join(work, 'day-'));
    const r = await runScenario({ appDir: app, work: day });
    expect(r.wavSeconds).toBeGreaterThan(3);
  }, 120_000);
});

describe("the installer's release checks", () => {
  /** A tiny release: a main.js, a manifest and matching sums. */
  async function fakeRelease(over: Partial<Manifest> = {}, main = 'console.log("Usage: beonho")'): Promise<string> {
    const dir = await mkdtemp(path.join(work, 'fake-'));
    await mkdir(path.join(dir, 'dist/device'), { recursive: true });
    await writeFile(path.join(dir, 'dist/device/main.js'), main);
    const manifest = {
      name: 'beonho-0.0.0-linux-x64',
      arch: 'x64',
      cpu: process.arch,
      node: { version: process.versions.node, major: 0, abi: Number(process.versions.modules) },
      ...over,
    };
    await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
    const sums = [];
    for (const f of ['dist/device/main.js', 'manifest.json']) {
      sums.push(
        `${createHash('sha256')
          .update(await readFile(path.join(dir, f)))
          .digest('hex')}  ${f}`,
      );
    }
    await writeFile(path.join(dir, 'SHA256SUMS'), `${sums.join('\n')}\n`);
    return dir;
  }
  const code = (p: Promise<unknown>) =>
    p.then(
      () => 'ok',
      (e: { code?: string }) => e.code,
    );
  const live = (dir: string) => checkRelease({ dir, nodePath: process.execPath, live: true });

  it('accepts a release whose files, CPU, Node ABI and start are right', async () => {
    expect(await code(live(await fakeRelease()))).toBe('ok');
  });

  it('refuses a damaged or incomplete copy', async () => {
    const dir = await fakeRelease();
    await writeFile(path.join(dir, 'dist/device/main.js'), 'changed');
    expect(await code(live(dir))).toBe('deploy-release-damaged');
    await rm(path.join(dir, 'dist/device/main.js'));
    await expect(live(dir)).rejects.toThrow(/main\.js \(missing\)/);
  });

  it('refuses a release for another CPU, or for another Node major', async () => {
    expect(await code(live(await fakeRelease({ arch: 'armhf', cpu: 'arm' })))).toBe('deploy-release-arch');
    const abi = await fakeRelease({ node: { version: '99.0.0', major: 99, abi: 999 } });
    expect(await code(live(abi))).toBe('deploy-node-abi');
    await expect(live(abi)).rejects.toThrow(/built for Node 99 \(module ABI 999\)/);
  });

  it('refuses a release that does not start with this node, naming the error', async () => {
    const dir = await fakeRelease({}, 'import { nope } from "node:zlib";');
    expect(await code(live(dir))).toBe('deploy-release-broken');
    await expect(live(dir)).rejects.toThrow(/SyntaxError.*nope/);
  });

  it('refuses a Node too old for an API the daemon uses, before it can restart-loop under systemd', async () => {
    // this Node made to look older than 20.15 (no zlib.crc32), as the installer's --node would run it
    const oldNode = path.join(work, 'old-node');
    const hook = path.resolve('tests/fixtures/old-node/register.mjs');
    await writeFile(oldNode, `#!/bin/sh\nexec '${process.execPath}' --import '${hook}' "$@"\n`, { mode: 0o755 });
    const r = checkRelease({ dir: app, nodePath: oldNode, live: true });
    expect(await code(r)).toBe('deploy-release-broken');
    await expect(checkRelease({ dir: app, nodePath: oldNode, live: true })).rejects.toThrow(
      /beonho: Node v[\d.]+ is too old for beonho: it lacks zlib\.crc32\. Install Node 20\.15\.0 or newer/,
    );
    expect(await code(checkRelease({ dir: app, nodePath: process.execPath, live: true }))).toBe('ok');
  });

  it('asks for Node 20.15 or newer in a Node 20 release, any patch of the major otherwise', async () => {
    expect(releaseEngines('20')).toBe('>=20.15.0 <21');
    expect(releaseEngines('22')).toBe('^22');
    const pkg = JSON.parse(await readFile(path.join(app, 'package.json'), 'utf8'));
    expect(pkg.engines.node).toBe(releaseEngines(process.versions.node.split('.')[0]!));
  });

  it('checks only the files when installing into another root', async () => {
    const dir = await fakeRelease({ cpu: 'arm' }, 'throw new Error("not run")');
    expect(await checkRelease({ dir, nodePath: '/nonexistent/node', live: false })).toEqual([]);
    await rm(path.join(dir, 'manifest.json'));
    expect(existsSync(path.join(dir, 'manifest.json'))).toBe(false);
    expect((await checkRelease({ dir, nodePath: '/nonexistent/node', live: false }))[0]).toMatch(/no manifest\.json/);
  });
});
