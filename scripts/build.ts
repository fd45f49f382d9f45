// `npm run build`: the production JavaScript in dist/, run with plain `node` (systemd's unit, the
// installer, `npm run status`); tsx stays a development tool.
//
// Why tsc and not a bundler: tsc (TypeScript 7, already a devDependency) emits one .js per .ts with
// the relative `.ts` imports rewritten (`rewriteRelativeImportExtensions`), so dist/ mirrors the
// source tree. Every `new URL('./x', import.meta.url)` and `join(here, '..', 'package.json')` then
// points at the same relative place as in the sources, stack traces name real files, and the native
// and WASM packages (canvas, node-hid, onoff, espeak-ng) load from node_modules exactly as in
// development. A bundle would start a little faster but would move every import.meta.url to the
// bundle's own folder and need per-package exceptions (pino's worker transports, native addons).
// Only the production entry points are listed in tsconfig.build.json: tsc follows their imports, so
// the simulator page, central, the tests and the benches stay out of dist/.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Files the code reads at run time relative to itself, copied beside the emitted JavaScript. */
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
  // dist/package.json: the version that device/health.ts and bridge/index.ts read from `../package.json`
  // of their own folder, and "type": "module" for the emitted .js wherever dist/ is copied.
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
  writeFileSync(
    path.join(outDir, 'package.json'),
    `${JSON.stringify({ name: pkg.name, version: pkg.version, type: 'module', private: true }, null, 2)}\n`,
  );
  const missing = checkRuntimeFiles(outDir);
  if (missing.length > 0) {
    throw new Error(`the build misses files the code reads at run time:\n  ${missing.join('\n  ')}`);
  }
  log(`built ${countJs(outDir)} modules into ${path.relative(process.cwd(), outDir) || '.'}`);
  return outDir;
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

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--out-dir');
  const outDir = i > 0 ? process.argv[i + 1] : undefined;
  build(outDir ? { outDir } : {});
}
