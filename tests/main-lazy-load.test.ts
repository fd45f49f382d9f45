// The entry point loads the daemon only once it has options and a config: `--help`, a bad option or
// a bad config file answer without loading the canvas, the broker and the validators (issue 13: a
// `--help` took 1 s and 118 MiB).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.join(import.meta.dirname, '..');
const dir = mkdtempSync(path.join(tmpdir(), 'beonho-lazy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function loaded(args: string[]): { status: number | null; modules: string[] } {
  const record = path.join(dir, `imports-${Math.random().toString(36).slice(2)}.txt`);
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--import', './tests/support/record-imports.mjs', 'device/main.ts', ...args],
    { cwd: ROOT, env: { ...process.env, RECORD_IMPORTS: record }, encoding: 'utf8', timeout: 60_000 },
  );
  const modules = readFileSync(record, 'utf8')
    .split('\n')
    .filter((u) => u.startsWith('file:') && !u.includes('/node_modules/'))
    .map((u) => path.relative(ROOT, new URL(u).pathname));
  return { status: r.status, modules };
}

describe('the entry point', () => {
  it('answers --help with the command line parser alone', () => {
    const { status, modules } = loaded(['--help']);
    expect(status).toBe(0);
    expect(modules).toContain('device/cli.ts');
    expect(modules).not.toContain('device/app.ts');
    expect(modules).not.toContain('device/config/load.ts');
  });

  it('refuses a bad config file without loading the daemon', () => {
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(bad, 'office: { id: "Not A Slug" }\n');
    const { status, modules } = loaded(['--config', bad, '--data-dir', path.join(dir, 'data')]);
    expect(status).toBe(2);
    expect(modules).toContain('device/config/load.ts');
    expect(modules).not.toContain('device/app.ts');
  });

  it('loads the daemon for a real start (the check above can fail)', () => {
    // `--data-dir` on a file: the start fails after the daemon was loaded
    const file = path.join(dir, 'not-a-dir');
    writeFileSync(file, '');
    const { modules } = loaded(['--data-dir', file, '--no-stdin']);
    expect(modules).toContain('device/app.ts');
  });
});
