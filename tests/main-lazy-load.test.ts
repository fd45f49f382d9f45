// The entry point loads the daemon only once it has its options: `--help` or a bad option answer
// without loading the canvas, the broker and the validators (issue 13: a `--help` took 1 s and
// 118 MiB), and a bad config file is refused before anything starts.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.join(import.meta.dirname, '..');
const dir = mkdtempSync(path.join(tmpdir(), 'beonho-lazy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function loaded(args: string[]): { status: number | null; modules: string[]; packages: string[] } {
  const record = path.join(dir, `imports-${Math.random().toString(36).slice(2)}.txt`);
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--import', './tests/support/record-imports.mjs', 'device/main.ts', ...args],
    { cwd: ROOT, env: { ...process.env, RECORD_IMPORTS: record }, encoding: 'utf8', timeout: 60_000 },
  );
  const urls = readFileSync(record, 'utf8')
    .split('\n')
    .filter((u) => u.startsWith('file:'));
  const modules = urls
    .filter((u) => !u.includes('/node_modules/'))
    .map((u) => path.relative(ROOT, new URL(u).pathname));
  const packages = [
    ...new Set(urls.map((u) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.[1]).filter((p) => p !== undefined)),
  ];
  return { status: r.status, modules, packages };
}

/** A config file with problems (exit 2), named `name` in the test's folder. */
function badConfig(name: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, 'office: { id: "Not A Slug" }\n');
  return file;
}

describe('the entry point', () => {
  it('answers --help with the command line parser alone', () => {
    const { status, modules } = loaded(['--help']);
    expect(status).toBe(0);
    expect(modules).toContain('device/cli.ts');
    expect(modules).not.toContain('device/app.ts');
    expect(modules).not.toContain('device/config/load.ts');
  });

  it('refuses a bad config file before the daemon starts anything, with the validator in its worker', () => {
    const bad = badConfig('bad.yaml');
    const data = path.join(dir, 'data');
    const { status, modules, packages } = loaded(['--config', bad, '--data-dir', data]);
    expect(status).toBe(2);
    // the daemon's modules load while the worker validates (device/main.ts), but nothing starts:
    // no canvas, no broker, no client, no data dir
    for (const p of ['@napi-rs/canvas', 'aedes', 'mqtt', 'espeak-ng']) expect(packages).not.toContain(p);
    expect(existsSync(data)).toBe(false);
    // the validator ran in its worker thread, not in the daemon's
    expect(modules).toContain('device/config/load-isolated.ts');
    expect(modules).not.toContain('device/config/load.ts');
    expect(packages).not.toContain('zod');
  });

  it("reports a bad config first when the daemon's modules cannot load either, and the load failure otherwise", () => {
    const bad = badConfig('bad-and-broken.yaml');
    const args = (config: string[]) => [
      '--import',
      'tsx',
      '--import',
      './tests/support/fail-app-import.mjs',
      'device/main.ts',
      ...config,
      '--data-dir',
      path.join(dir, 'broken'),
      '--no-stdin',
    ];
    const refused = spawnSync(process.execPath, args(['--config', bad]), {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/^beonho: .*bad-and-broken\.yaml: \d+ problem\(s\)/m);
    const broken = spawnSync(process.execPath, args([]), { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(broken.status).toBe(1);
    expect(broken.stderr).toContain('app.ts cannot be loaded');
  });

  it('loads the daemon for a real start (the check above can fail)', () => {
    // `--data-dir` on a file: the start fails after the daemon was loaded
    const file = path.join(dir, 'not-a-dir');
    writeFileSync(file, '');
    const { modules } = loaded(['--data-dir', file, '--no-stdin']);
    expect(modules).toContain('device/app.ts');
  });
});
