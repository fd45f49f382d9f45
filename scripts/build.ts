// `npm run build`: the production JavaScript in dist/, run with plain `node` (systemd's unit, the
// installer, `npm run status`); tsx stays a development tool.
//
// Two steps. tsc (TypeScript 7, already a devDependency) emits one .js per .ts with the relative
// `.ts` imports rewritten (`rewriteRelativeImportExtensions`), so dist/ mirrors the source tree: the
// tools (`status`, `install-service`, `hw`, `hash-password`) and the speech process run from it.
// Then esbuild bundles the daemon's entry, dist/device/main.js, and its config worker
// (dist/device/config/config-worker.js, device/config/load-isolated.ts), with the pure-JavaScript
// packages they load, into those two files and a few chunks (`bundleDaemon`). Measured
// (bench/lean.ts, a day of 1,000 tickets and 100 spoken calls): some 630 modules loaded one by one
// cost a few MiB of the daemon's peak and a fifth of its start (448-531 -> 396-405 ms to ready
// here; a Pi reads each file from its SD card).
// The bundle keeps its identifiers, so a stack trace names the functions. Two things a bundle
// changes are handled in the code: every module's import.meta.url is the bundle's, so the files
// the code reads at run time (the contract's schemas, the speech child, package.json) are found
// from the build's root (device/util/build-root.ts), and packages with native or WASM parts, or
// worker files of their own (canvas, node-hid, onoff, johnny-five, koffi, espeak-ng, pino), stay
// in node_modules and load from there as in development (`NOT_BUNDLED`).
// Only the production entry points are listed in tsconfig.build.json: tsc follows their imports, so
// the simulator page, central, the tests and the benches stay out of dist/.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildSync } from 'esbuild';
import { isMainModule } from '../device/util/main-module.ts';
import { buildVersion, gitCommit } from './git-commit.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Files the code reads at run time, copied to the same place under dist/ as in the sources (the
 * code finds them from the build's root: device/util/build-root.ts). */
const ASSETS = ['bridge/contract/schemas'];

export interface BuildOptions {
  /** default: <repo>/dist */
  outDir?: string;
  log?: (line: string) => void;
}

export function build(o: BuildOptions = {}): string {
  const outDir = path.resolve(o.outDir ?? path.join(ROOT, 'dist'));
  const log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  rmSync(outDir, { recursive: true, force: true });
  const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.build.json'), '--outDir', outDir], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  for (const a of ASSETS) cpSync(path.join(ROOT, a), path.join(outDir, a), { recursive: true });
  // dist/package.json: what marks the build's root (device/util/build-root.ts), with the version
  // the daemon reports, and "type": "module" for the emitted .js wherever dist/ is copied. Before
  // the bundle: esbuild reads it to treat dist/ as ES modules, and so imports CommonJS packages by
  // Node's rules (a default import is module.exports), in a release's stage as in the repository.
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
  writeFileSync(
    path.join(outDir, 'package.json'),
    `${JSON.stringify({ name: pkg.name, version: buildVersion(pkg.version, gitCommit()), type: 'module', private: true }, null, 2)}\n`,
  );
  bundleDaemon(outDir);
  const missing = checkRuntimeFiles(outDir);
  if (missing.length > 0) {
    throw new Error(`the build misses files the code reads at run time:\n  ${missing.join('\n  ')}`);
  }
  log(`built ${countJs(outDir)} modules into ${path.relative(process.cwd(), outDir) || '.'}`);
  return outDir;
}

/** Packages the daemon's bundle leaves in node_modules: native addons and WASM (their binaries sit
 * beside their JavaScript), the optional hardware drivers (loaded only when configured), and pino
 * (its transports run in worker threads from their own files). */
export const NOT_BUNDLED = [
  '@napi-rs/canvas',
  'node-hid',
  'onoff',
  'johnny-five',
  'serialport',
  'koffi',
  'espeak-ng',
  'pino',
  'pino-pretty',
  'thread-stream',
];

/** The daemon's entry points: main.js, and the worker it validates its config in. */
export const DAEMON_ENTRIES = ['device/main.js', 'device/config/config-worker.js'];

/** dist/device/main.js and the config worker become bundles of the modules they load (see the
 * header): each with what it imports statically, and chunks in dist/device/bundle/ for what they
 * share or import lazily. */
export function bundleDaemon(outDir: string): void {
  const entry = path.join(outDir, DAEMON_ENTRIES[0]!);
  const r = buildSync({
    entryPoints: DAEMON_ENTRIES.map((e) => path.join(outDir, e)),
    // the entries keep their places under dist/device/
    outbase: path.dirname(entry),
    outdir: path.dirname(entry),
    // what main.js imports dynamically stays a chunk of its own, loaded when main.js asks for it:
    // main.js checks the Node it runs on before the daemon's modules (and their imports of newer
    // APIs) are linked, and `--help` loads the command line's parser alone
    splitting: true,
    chunkNames: 'bundle/[name]-[hash]',
    allowOverwrite: true,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minifyWhitespace: true,
    minifySyntax: true,
    keepNames: true,
    // CommonJS packages inside an ES module bundle call require(): give them node's
    banner: {
      js: "import { createRequire as __beonhoRequire } from 'node:module'; const require = __beonhoRequire(import.meta.url);",
    },
    external: NOT_BUNDLED,
    // a build outside the repository (a release's stage, a test's folder) bundles the packages of
    // the repository's own install: the same lockfile as the release's production one
    nodePaths: [path.join(ROOT, 'node_modules')],
    logLevel: 'silent',
  });
  if (r.errors.length > 0) throw new Error(`bundling the daemon failed: ${r.errors.map((e) => e.text).join('; ')}`);
}

/** Every `new URL('<relative>', import.meta.url)` in the emitted code must name something in dist/
 * (a file or folder outside node_modules: those resolve through the package tree). */
export function checkRuntimeFiles(outDir: string): string[] {
  const missing: string[] = [];
  const re = /new URL\(\s*['"](\.{1,2}\/[^'"]*)['"]\s*,\s*import\.meta\.url\s*\)/g;
  for (const file of walk(outDir)) {
    if (!file.endsWith('.js')) continue;
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(re)) {
      const rel = m[1]!;
      if (rel.includes('node_modules/')) continue;
      const target = fileURLToPath(new URL(rel, pathToFileURL(file)));
      if (!existsSync(target)) missing.push(`${path.relative(outDir, file)}: ${rel} (${target})`);
    }
  }
  return missing;
}

function* walk(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else yield p;
  }
}

function countJs(dir: string): number {
  let n = 0;
  for (const f of walk(dir)) if (f.endsWith('.js')) n++;
  return n;
}

if (isMainModule(import.meta.url)) {
  const i = process.argv.indexOf('--out-dir');
  const outDir = i > 0 ? process.argv[i + 1] : undefined;
  build(outDir ? { outDir } : {});
}
