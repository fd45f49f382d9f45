// Runs the real daemon as a child process (node + tsx, or the compiled one), fed through its terminal control.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { simulatorDefault } from '../../device/config/default.ts';

export const ROOT = path.resolve(import.meta.dirname, '../..');

/** A config file for a test daemon: the simulator office without network listeners, sound or board. */
export async function writeTestConfig(file: string, patch: Record<string, unknown> = {}): Promise<string> {
  const outputs = { audio: { driver: 'none' }, board: { driver: 'none' }, printer: { driver: 'none' } };
  await writeFile(file, stringify({ ...simulatorDefault, mqtt: { enabled: false }, outputs, ...patch }));
  return file;
}

export interface DaemonOptions {
  nodeArgs?: string[];
  /** the script; default device/main.ts through tsx, or BEONHO_TEST_ENTRY when set (e.g.
   * dist/device/main.js after `npm run build`: every suite that starts daemons, run against the
   * bundle); a .js one runs on plain node */
  entry?: string;
  /** the command that is node: default this node; e.g. an emulator and a node built for another CPU */
  node?: string[];
  cwd?: string;
  /** run as this user and group (the test runs as root): what a service user sees */
  uid?: number;
  gid?: number;
}

const running = new Set<Daemon>();

/** Kills every daemon a test started and has not seen exit: a failed assertion must not leave a
 * daemon behind (call it in afterEach). */
export async function killAll(): Promise<void> {
  await Promise.all([...running].map((d) => d.kill('SIGKILL')));
}

export class Daemon {
  readonly child: ChildProcessWithoutNullStreams;
  readonly lines: string[] = [];
  stderr = '';
  /** the signal that ended the process, when one did */
  signal: NodeJS.Signals | null = null;
  private waiters: Array<{ re: RegExp; resolve: (l: string) => void }> = [];
  readonly exited: Promise<number | null>;

  /** args go to the daemon; opts.nodeArgs to node itself, before the script */
  constructor(args: string[], env: Record<string, string> = {}, opts: DaemonOptions = {}) {
    const nodeArgs = opts.nodeArgs ?? [];
    const entry = opts.entry ?? path.resolve(ROOT, process.env.BEONHO_TEST_ENTRY ?? 'device/main.ts');
    // tsx for a TypeScript entry, or for a TypeScript module the test preloads (--import x.ts)
    const loader = [entry, ...nodeArgs].some((a) => a.endsWith('.ts')) ? ['--import', 'tsx'] : [];
    const [cmd, ...pre] = opts.node ?? [process.execPath];
    this.child = spawn(cmd!, [...pre, ...loader, ...nodeArgs, entry, ...args], {
      cwd: opts.cwd ?? ROOT,
      ...(opts.uid !== undefined ? { uid: opts.uid } : {}),
      ...(opts.gid !== undefined ? { gid: opts.gid } : {}),
      env: { ...process.env, BEONHO_LOG_LEVEL: 'warn', BEONHO_LOG_FORMAT: 'json', ...env },
    });
    let buf = '';
    this.child.stdout.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        this.lines.push(line);
        this.waiters = this.waiters.filter((w) => {
          if (!w.re.test(line)) return true;
          w.resolve(line);
          return false;
        });
        nl = buf.indexOf('\n');
      }
    });
    this.child.stderr.on('data', (d: Buffer) => {
      this.stderr += d.toString('utf8');
    });
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => {
        this.signal = signal;
        running.delete(this);
        resolve(code);
      }),
    );
    running.add(this);
  }

  send(line: string): void {
    if (this.child.stdin.writable) this.child.stdin.write(`${line}\n`);
  }

  waitFor(re: RegExp, timeoutMs = 20_000): Promise<string> {
    const hit = this.lines.find((l) => re.test(l));
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out waiting for ${re}; stderr: ${this.stderr.slice(-2000)}`)),
        timeoutMs,
      );
      this.waiters.push({
        re,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
    });
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}
