// `npm run bench` runs every benchmark, minutes of load on the machine: a name it does not know (a
// typo, `--help`) must not start them all, as it did.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const run = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, '../bench/run.ts'), ...args], {
    encoding: 'utf8',
  });

describe('the benchmark runner', () => {
  it('refuses a name it does not know, and runs nothing', () => {
    const r = run('qeue');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^no benchmark named qeue\n/);
    expect(r.stdout).not.toMatch(/==/);
  });

  it('says what it runs for --help, and runs nothing', () => {
    const r = run('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: npm run bench/);
    expect(r.stdout).toMatch(/names: queue, .*fleet/);
    expect(r.stdout).not.toMatch(/==/);
  });
});
