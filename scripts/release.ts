// `npm run release -- --arch arm64|armhf|x64 [--node VERSION] [--out DIR]`: one tarball an office
// installs with no compiler and no network (docs/deploy.md):
//
//   beonho-<version>-linux-<arch>/
//     dist/                 the compiled daemon and tools (npm run build)
//     node_modules/         production dependencies for that CPU (npm ci --omit=dev --cpu ...)
//     config/example.yaml   the documented example office
//     docs/, README.md      the documentation
//     package.json          the production scripts (npm run status, install-service, hw ...)
//     manifest.json         version, arch, the Node it needs (version, ABI), native parts, files
//     SHA256SUMS            every file's SHA-256 (`sha256sum -c SHA256SUMS`; the installer checks it)
//
// Native parts: @napi-rs/canvas comes as the CPU's prebuilt package, node-hid with its bundled
// prebuilds (both Node-API: any Node works); koffi likewise. epoll (under onoff, the GPIO buttons)
// and @serialport/bindings (under johnny-five, Firmata) use nan, so they are compiled here, with
// Debian's cross g++ for the CPU, against the headers of the Node the release is for: that Node's
// major is written in the manifest and the installer refuses any other.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { MIN_NODE_20 } from '../device/node-support.ts';
import { build, ROOT } from './build.ts';
import { commitTime, gitCommit } from './git-commit.ts';
import { STATE_SCHEMA } from '../device/queue/reduce.ts';
import { type Arch, nodeFor, type Target, targetOf } from './targets.ts';
import { isMainModule } from '../device/util/main-module.ts';

export interface ReleaseOptions {
  arch: Arch;
  /** Node version the nan addons are compiled for; default: the target's (scripts/targets.ts) */
  node?: string;
  /** where the tarball goes; default <repo>/release */
  outDir?: string;
  log?: (line: string) => void;
}

export interface ReleaseResult {
  tarball: string;
  /** the unpacked tree the tarball was made from (kept under outDir/.stage) */
  stageDir: string;
  manifest: Manifest;
}

export interface Manifest {
  name: string;
  version: string;
  platform: 'linux';
  arch: Arch;
  /** node's process.arch on the target */
  cpu: string;
  libc: 'glibc';
  node: { version: string; major: number; abi: number };
  commit: string | null;
  /** the schema of the queue state it writes (device/queue/reduce.ts STATE_SCHEMA): an older
   * release refuses a state of a higher one (`state-too-new`) and starts on one of its own without
   * a word, so going back needs the state copy when they differ (docs/deploy.md, "Upgrades") */
  stateSchema: number;
  native: Record<string, string>;
  files: Array<{ path: string; size: number }>;
  size: number;
}

/** Packages that use nan: compiled here for the target's Node; the value says what needs them. */
const NAN_ADDONS: Record<string, string> = {
  epoll: 'GPIO buttons (onoff)',
  '@serialport/bindings': 'Firmata buttons (johnny-five, serialport)',
};

/** The package.json scripts that make sense in an installed release (no tsx, no tests). */
const RELEASE_SCRIPTS = ['install-service', 'uninstall-service', 'status', 'hw', 'hash-password'];

export function release(o: ReleaseOptions): ReleaseResult {
  const log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const target = targetOf(o.arch);
  const outDir = path.resolve(o.outDir ?? path.join(ROOT, 'release'));
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as PackageJson;
  const name = `beonho-${pkg.version}-linux-${target.arch}`;
  const stageDir = path.join(outDir, '.stage', name);
  rmSync(stageDir, { recursive: true, force: true });
  mkdirSync(stageDir, { recursive: true });

  const node = nodeFor(target, o.node ?? target.defaultNode, path.join(outDir, '.cache'));
  log(`${name}: Node ${node.version} (ABI ${node.abi}) from ${node.dir}`);

  build({ outDir: path.join(stageDir, 'dist'), log });

  // Production dependencies for the target CPU, exactly as locked. No install scripts: they would
  // build for this machine; the nan addons are compiled below for the target instead.
  copyFileSync(path.join(ROOT, 'package.json'), path.join(stageDir, 'package.json'));
  copyFileSync(path.join(ROOT, 'package-lock.json'), path.join(stageDir, 'package-lock.json'));
  execFileSync(
    'npm',
    [
      'ci',
      '--omit=dev',
      `--cpu=${target.cpu}`,
      '--os=linux',
      '--libc=glibc',
      '--ignore-scripts',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
    ],
    { cwd: stageDir, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const nm = path.join(stageDir, 'node_modules');
  const native: Record<string, string> = {};
  for (const [addon, usedBy] of Object.entries(NAN_ADDONS)) {
    if (!existsSync(path.join(nm, addon, 'binding.gyp'))) continue;
    try {
      compileAddon(path.join(nm, addon), target, node.dir);
      native[addon] = `compiled for ${target.arch}, Node ABI ${node.abi}`;
    } catch (err) {
      // The release still works without it, minus that hardware; say so in the manifest and here.
      native[addon] = `MISSING (${usedBy} unavailable): ${(err as Error).message.split('\n')[0]}`;
      log(`warning: ${addon} did not compile for ${target.arch}: ${usedBy} will not work with this release`);
    }
  }
  native['@napi-rs/canvas'] = checkPresent(nm, canvasPackage(target), 'prebuilt (Node-API)');
  if (existsSync(path.join(nm, 'node-hid'))) {
    native['node-hid'] = checkPresent(
      nm,
      `node-hid/prebuilds/HID_hidraw-linux-${target.gypArch}`,
      'prebuilt (Node-API)',
    );
  }
  if (existsSync(path.join(nm, 'koffi'))) {
    native.koffi = checkPresent(nm, `@koromix/koffi-linux-${target.gypArch}`, 'prebuilt');
  }
  prune(nm, target);

  // What ships beside the code.
  mkdirSync(path.join(stageDir, 'config'));
  copyFileSync(path.join(ROOT, 'config/example.yaml'), path.join(stageDir, 'config/example.yaml'));
  cpSync(path.join(ROOT, 'docs'), path.join(stageDir, 'docs'), { recursive: true });
  copyFileSync(path.join(ROOT, 'README.md'), path.join(stageDir, 'README.md'));
  rmSync(path.join(stageDir, 'package-lock.json'));
  writeFileSync(path.join(stageDir, 'package.json'), `${JSON.stringify(releasePackageJson(pkg, node), null, 2)}\n`);

  const files = listFiles(stageDir);
  const manifest: Manifest = {
    name,
    version: pkg.version,
    platform: 'linux',
    arch: target.arch,
    cpu: target.cpu,
    libc: 'glibc',
    node: { version: node.version, major: Number(node.version.split('.')[0]), abi: node.abi },
    commit: gitCommit(),
    stateSchema: STATE_SCHEMA,
    native,
    files: files.map((f) => ({ path: f, size: statSync(path.join(stageDir, f)).size })),
    size: 0,
  };
  manifest.size = manifest.files.reduce((a, f) => a + f.size, 0);
  writeFileSync(path.join(stageDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const sums = [...files, 'manifest.json']
    .sort()
    .map((f) => `${sha256File(path.join(stageDir, f))}  ${f}`)
    .join('\n');
  writeFileSync(path.join(stageDir, 'SHA256SUMS'), `${sums}\n`);

  const tarball = path.join(outDir, `${name}.tar.gz`);
  execFileSync(
    'tar',
    [
      '--sort=name',
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      `--mtime=@${commitTime() ?? 0}`,
      '-czf',
      tarball,
      '-C',
      path.dirname(stageDir),
      name,
    ],
    { stdio: 'inherit' },
  );
  writeFileSync(`${tarball}.sha256`, `${sha256File(tarball)}  ${path.basename(tarball)}\n`);
  log(
    `${path.relative(process.cwd(), tarball)}: ${mib(statSync(tarball).size)} MiB packed, ` +
      `${mib(manifest.size)} MiB installed (node_modules ${mib(dirSize(nm))} MiB), ${files.length + 2} files`,
  );
  return { tarball, stageDir, manifest };
}

/** node-gyp (npm's own copy) with the target's cross compiler and Node headers. */
function compileAddon(dir: string, target: Target, nodeDir: string): void {
  const gyp = path.join(npmRoot(), 'npm/node_modules/node-gyp/bin/node-gyp.js');
  const tool = (t: string): string => (target.triple ? `${target.triple}-${t}` : t);
  const env = {
    ...process.env,
    CC: tool('gcc'),
    CXX: tool('g++'),
    AR: tool('ar'),
    LINK: tool('g++'),
    // make's own V=1 would change epoll's flags (its binding.gyp tests $V)
    V: '',
  };
  execFileSync(process.execPath, [gyp, 'rebuild', `--arch=${target.gypArch}`, `--nodedir=${nodeDir}`], {
    cwd: dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const release = path.join(dir, 'build/Release');
  const built = readdirSync(release).filter((f) => f.endsWith('.node'));
  if (built.length === 0) throw new Error(`no .node file in ${release}`);
  // Keep only the addon itself: object files and the makefiles are build litter.
  for (const e of readdirSync(path.join(dir, 'build'))) {
    if (e !== 'Release') rmSync(path.join(dir, 'build', e), { recursive: true, force: true });
  }
  for (const e of readdirSync(release)) {
    if (!e.endsWith('.node')) rmSync(path.join(release, e), { recursive: true, force: true });
  }
  for (const f of built) execFileSync(tool('strip'), ['--strip-unneeded', path.join(release, f)]);
}

function canvasPackage(target: Target): string {
  return {
    arm64: '@napi-rs/canvas-linux-arm64-gnu',
    armhf: '@napi-rs/canvas-linux-arm-gnueabihf',
    x64: '@napi-rs/canvas-linux-x64-gnu',
  }[target.arch];
}

function checkPresent(nm: string, rel: string, what: string): string {
  if (!existsSync(path.join(nm, rel))) throw new Error(`the release lacks ${rel} for this CPU`);
  return `${what}: ${rel}`;
}

/** What production never reads: type declarations, source maps, other platforms' prebuilds. */
function prune(nm: string, target: Target): void {
  rmSync(path.join(nm, '.bin'), { recursive: true, force: true });
  rmSync(path.join(nm, '@types'), { recursive: true, force: true });
  const hid = path.join(nm, 'node-hid/prebuilds');
  if (existsSync(hid)) {
    for (const d of readdirSync(hid)) {
      if (d !== `HID-linux-${target.gypArch}` && d !== `HID_hidraw-linux-${target.gypArch}`) {
        rmSync(path.join(hid, d), { recursive: true });
      }
    }
  }
  // node-hid's C sources (hidapi) and the nan headers only served a build from source
  for (const d of ['node-hid/hidapi', 'node-hid/src', 'nan'])
    rmSync(path.join(nm, d), { recursive: true, force: true });
  for (const pkg of packageDirs(nm)) pruneExtras(pkg);
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      // no links in a release: the tarball and the sums stay plain
      else if (e.isSymbolicLink()) rmSync(p);
      else if (/\.(d\.[cm]?ts|map|tsbuildinfo)$/.test(e.name) || /(?<!\.d)\.[cm]?ts$/.test(e.name)) rmSync(p);
    }
  };
  walk(nm);
}

/** Every package folder in node_modules (scoped ones too, and those nested under a package). */
function packageDirs(nm: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(nm, { withFileTypes: true })) {
    if (!e.isDirectory() || e.name.startsWith('.')) continue;
    const p = path.join(nm, e.name);
    if (e.name.startsWith('@')) {
      for (const s of readdirSync(p, { withFileTypes: true })) if (s.isDirectory()) out.push(path.join(p, s.name));
    } else out.push(p);
  }
  for (const p of [...out])
    if (existsSync(path.join(p, 'node_modules'))) out.push(...packageDirs(path.join(p, 'node_modules')));
  return out;
}

/** A package's own tests, examples and benchmarks (~4 MiB in all: pino's, aedes's, firmata's…),
 * unless its package.json points into one of them. */
const EXTRA_DIRS = ['test', 'tests', '__tests__', 'example', 'examples', 'benchmark', 'benchmarks'];
function pruneExtras(pkg: string): void {
  let manifest = '';
  try {
    const j = JSON.parse(readFileSync(path.join(pkg, 'package.json'), 'utf8')) as Record<string, unknown>;
    manifest = JSON.stringify([j.main, j.module, j.exports, j.bin, j.browser, j.files]);
  } catch {
    return;
  }
  for (const d of EXTRA_DIRS) {
    if (manifest.includes(`${d}/`) || manifest.includes(`"./${d}"`)) continue;
    rmSync(path.join(pkg, d), { recursive: true, force: true });
  }
}

interface PackageJson {
  name: string;
  version: string;
  description?: string;
  license?: string;
  scripts: Record<string, string>;
}

/** The Node a release runs on: its major, and within it no older than the daemon needs. */
export function releaseEngines(major: string): string {
  const [minMajor] = MIN_NODE_20.split('.');
  return major === minMajor ? `>=${MIN_NODE_20} <${Number(major) + 1}` : `^${major}`;
}

function releasePackageJson(pkg: PackageJson, node: { version: string }): Record<string, unknown> {
  const major = node.version.split('.')[0];
  return {
    name: pkg.name,
    version: pkg.version,
    description: pkg.description,
    type: 'module',
    private: true,
    license: pkg.license,
    engines: { node: releaseEngines(major!) },
    scripts: Object.fromEntries(RELEASE_SCRIPTS.filter((s) => pkg.scripts[s]).map((s) => [s, pkg.scripts[s]])),
  };
}

export function listFiles(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p, base));
    else if (e.isFile()) out.push(path.relative(base, p));
  }
  return out.sort();
}

export function sha256File(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function dirSize(dir: string): number {
  return listFiles(dir).reduce((a, f) => a + statSync(path.join(dir, f)).size, 0);
}

function mib(bytes: number): string {
  return (bytes / 1048576).toFixed(1);
}

function npmRoot(): string {
  return execFileSync('npm', ['root', '-g'], { encoding: 'utf8' }).trim();
}

if (isMainModule(import.meta.url)) {
  const usage = 'usage: npm run release -- --arch arm64|armhf|x64 [--node VERSION] [--out DIR]\n';
  // strict: an option mistyped (`--ndoe 20.19.6`) stops it, rather than a release built for the
  // default Node that the office's Node then refuses
  let args: { arch?: string; node?: string; out?: string; help?: boolean };
  try {
    args = parseArgs({
      options: {
        arch: { type: 'string' },
        node: { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean' },
      },
    }).values;
  } catch (err) {
    process.stderr.write(`release: ${(err as Error).message.split('\n')[0]}\n${usage}`);
    process.exit(2);
  }
  if (args.help) {
    process.stdout.write(usage);
    process.exit(0);
  }
  const { arch, node, out: outDir } = args;
  if (!arch) {
    process.stderr.write(usage);
    process.exit(2);
  }
  try {
    const r = release({ arch: targetOf(arch).arch, ...(node ? { node } : {}), ...(outDir ? { outDir } : {}) });
    process.stdout.write(`${r.tarball}\n`);
  } catch (err) {
    // one line an admin can act on (an unknown --arch, a Node version the registry does not have),
    // not a stack trace
    process.stderr.write(`release: ${(err as Error).message.split('\n')[0]}\n`);
    process.exit(1);
  }
}
