// Ctrl-D at the terminal the simulator runs in stops it cleanly, as Ctrl-C does: it used to stop
// only the typing, and the simulator ran on with nothing read. The end of a stdin that is no
// terminal (a pipe, /dev/null, a service) stops nothing.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Simulator } from './browser-helpers.ts';

const ROOT = path.join(import.meta.dirname, '..');
const PTY = path.join(ROOT, 'tests/support/pty-run.py');

/** `command` on a pseudo-terminal: its output, what is typed at it, its exit code. */
class OnTerminal {
  readonly child: ChildProcessWithoutNullStreams;
  output = '';
  readonly exited: Promise<number | null>;
  constructor(command: string[]) {
    this.child = spawn('python3', [PTY, ...command], {
      cwd: ROOT,
      env: { ...process.env, BEONHO_LOG_LEVEL: 'warn', BEONHO_LOG_FORMAT: 'json' },
    });
    this.child.stdout.on('data', (d: Buffer) => {
      this.output += d.toString('utf8');
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }
  async until(re: RegExp, ms = 30_000): Promise<void> {
    const t0 = Date.now();
    while (!re.test(this.output)) {
      if (Date.now() - t0 > ms) throw new Error(`no ${re} on the terminal; it shows: ${this.output.slice(-2000)}`);
      if (this.child.exitCode !== null) throw new Error(`ended (${this.child.exitCode}): ${this.output.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  type(text: string): void {
    this.child.stdin.write(text);
  }
}

const dirs: string[] = [];
const running: Array<{ child: ChildProcessWithoutNullStreams; exited: Promise<unknown> }> = [];
afterEach(async () => {
  for (const r of running.splice(0)) {
    if (r.child.exitCode === null) r.child.kill('SIGKILL');
    await r.exited;
  }
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function dataDir(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'beonho-eof-'));
  dirs.push(d);
  return d;
}

/** `script` (under tsx) on a terminal, on free broker ports and a data dir of its own. */
async function started(script: string, ...args: string[]): Promise<OnTerminal> {
  const t = new OnTerminal([
    process.execPath,
    '--import',
    'tsx',
    script,
    ...args,
    ...['--broker-port', '0', '--ws-port', '0', '--data-dir', await dataDir()],
  ]);
  running.push(t);
  return t;
}

describe('Ctrl-D at the terminal', () => {
  it('stops `npm start` (the supervisor and its core) cleanly', async () => {
    const t = await started('sim/supervisor.ts', '--sim-port', '0');
    await t.until(/simulator ready/);
    t.type('press resident\n');
    await t.until(/ticket 1\d{3}/);
    t.type('\x04');
    expect(await t.exited).toBe(0);
  });

  it('stops the daemon run by hand with the simulated inputs cleanly', async () => {
    const t = await started('device/main.ts');
    await t.until(/simulator ready/);
    t.type('\x04');
    expect(await t.exited).toBe(0);
  });

  it('the end of a piped stdin stops nothing: the simulator page still answers', async () => {
    const sim = new Simulator(['--broker-port', '0', '--ws-port', '0', '--data-dir', await dataDir()]);
    running.push(sim);
    const url = await sim.url;
    sim.child.stdin.end('press resident\n');
    // the line before the end was carried out: the end was read too
    const t0 = Date.now();
    while (!/ticket 1\d{3}/.test(sim.output)) {
      if (Date.now() - t0 > 30_000) throw new Error(`no ticket; output: ${sim.output.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(sim.child.exitCode).toBeNull();
    await sim.stop();
    expect(await sim.exited).toBe(0);
  });
});
