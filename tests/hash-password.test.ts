// `npm run hash-password`, run as a process: the password from a pipe, a terminal that does not
// echo it, or (for old scripts) the argument; `--help` prints the usage, never a hash of "--help".
import { execFile, execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { verifyPassword } from '../bridge/broker/passwords.ts';

const ROOT = join(import.meta.dirname, '..');
const ARGS = ['--import', 'tsx', 'bridge/broker/hash-password.ts'];

function run(args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [...ARGS, ...args], { cwd: ROOT }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(stdin ?? '');
  });
}

const HASH = /^scrypt\$16384\$8\$1\$[^$\s]+\$[^$\s]+\n$/;

describe('npm run hash-password', () => {
  it('--help prints the usage and no hash', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: hash-password \[options\] \[password\]/);
    expect(r.stdout).toContain('printf %s "$PW" | npm run -s hash-password');
    expect(r.stdout).not.toMatch(/scrypt\$16384\$8\$1\$[^<]/); // the format, not a hash
  });

  it('hashes the password piped on stdin, without its trailing newline', async () => {
    const r = await run([], 's3cret pass\n');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(HASH);
    expect(await verifyPassword('s3cret pass', r.stdout.trim())).toBe(true);
  });

  it('still takes the password as its argument', async () => {
    const r = await run(['s3cret']);
    expect(r.stdout).toMatch(HASH);
    expect(await verifyPassword('s3cret', r.stdout.trim())).toBe(true);
  });

  it('refuses an empty password, and an unknown option, with exit code 2', async () => {
    const empty = await run([], '');
    expect(empty.code).toBe(2);
    expect(empty.stdout).toBe('');
    expect(empty.stderr).toMatch(/no password given/);
    const unknown = await run(['--nope']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stdout).toBe('');
  });

  const hasScript = (() => {
    try {
      execFileSync('script', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  // util-linux's script gives the tool a terminal of its own; required under CI, like the other
  // real programs the suites use
  it.runIf(hasScript || process.env.CI !== undefined)(
    'asks twice on a terminal and never shows what is typed',
    async () => {
      const cmd = [process.execPath, ...ARGS].map((a) => `'${a}'`).join(' ');
      const child = spawn('script', ['-qefc', cmd, '/dev/null'], { cwd: ROOT });
      let seen = '';
      child.stdout.on('data', (b: Buffer) => {
        seen += b.toString();
      });
      const exited = new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
      const shown = (text: string) => vi.waitFor(() => expect(seen).toContain(text), { timeout: 10_000 });
      // typed only once the prompt is up: the terminal is in raw mode (no echo) from then on
      await shown('password: ');
      child.stdin.write('tty-s3cret\r');
      await shown('again: ');
      child.stdin.write('tty-s3cret\r');
      await shown('scrypt$');
      child.stdin.end();
      expect(await exited).toBe(0);
      expect(seen).not.toContain('tty-s3cret');
      const hash = /scrypt\$\S+/.exec(seen)?.[0] ?? '';
      expect(await verifyPassword('tty-s3cret', hash)).toBe(true);
    },
    20_000,
  );
});
