// One power-on of the real daemon: `node --import tsx device/main.ts` as a child in its own process
// group (tsx's esbuild service is a grandchild), so a power cut is SIGKILL of the whole group.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import type { WriteStream } from 'node:fs';
import * as path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');

export interface DaemonOptions {
  config: string;
  dataDir: string;
  logLevel: string;
  /** extra environment (the fake clock) */
  env: Record<string, string>;
  /** where its stderr (the JSON log) goes */
  log: WriteStream;
  /** each complete stdout line (the terminal's answers) */
  onLine: (line: string) => void;
}

const live = new Set<PoweredDaemon>();

/** Cuts every daemon still running (the soak itself was interrupted: a detached daemon would
 * outlive it). Synchronous, for a signal handler. */
export function cutAll(): void {
  for (const d of live) {
    try {
      process.kill(-d.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** The daemon's sources under tsx, or BEONHO_TEST_ENTRY when set (the build's bundle: `npm run
 * test:bundle` runs the soak's suite against it too). */
function daemonEntry(): string[] {
  const entry = process.env.BEONHO_TEST_ENTRY;
  return entry ? [path.resolve(ROOT, entry)] : ['--import', 'tsx', path.join(ROOT, 'device/main.ts')];
}

export class PoweredDaemon {
  readonly child: ChildProcessWithoutNullStreams;
  readonly spawnedAt = Date.now();
  /** when the terminal said it was ready, if it did */
  readyAt: number | null = null;
  /** set when the soak cut the power; an exit without it is a crash */
  cut = false;
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  readonly exited: Promise<void>;
  readonly ready: Promise<void>;
  private stderrTail = '';

  constructor(o: DaemonOptions) {
    this.child = spawn(process.execPath, [...daemonEntry(), '--config', o.config, '--data-dir', o.dataDir], {
      cwd: ROOT,
      detached: true,
      env: { ...process.env, BEONHO_LOG_LEVEL: o.logLevel, BEONHO_LOG_FORMAT: 'json', ...o.env },
    });
    let markReady: () => void = () => undefined;
    this.ready = new Promise((resolve) => {
      markReady = resolve;
    });
    let buf = '';
    this.child.stdout.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (this.readyAt === null && line.startsWith('beonho simulator ready')) {
          this.readyAt = Date.now();
          markReady();
        }
        o.onLine(line);
      }
    });
    this.child.stderr.on('data', (d: Buffer) => {
      o.log.write(d);
      this.stderrTail = (this.stderrTail + d.toString('utf8')).slice(-4000);
    });
    live.add(this);
    // a write to the stdin of a process that was just killed must not take the soak down
    this.child.stdin.on('error', () => undefined);
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => {
        live.delete(this);
        this.exitCode = code;
        this.exitSignal = signal;
        resolve();
      }),
    );
  }

  get pid(): number {
    return this.child.pid!;
  }

  alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  tail(): string {
    return this.stderrTail;
  }

  send(line: string): void {
    if (this.alive() && this.child.stdin.writable) this.child.stdin.write(`${line}\n`);
  }

  /** The power cut: SIGKILL to the process group, then wait for the daemon to be gone. */
  async powerCut(): Promise<void> {
    this.cut = true;
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      // the group is already gone
    }
    await this.exited;
  }

  /** A clean stop (SIGTERM), then a cut if it does not stop within timeoutMs. */
  async stop(timeoutMs: number): Promise<void> {
    if (!this.alive()) return;
    this.cut = true;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => void this.powerCut(), timeoutMs);
    await this.exited;
    clearTimeout(t);
    try {
      process.kill(-this.pid, 'SIGKILL'); // what is left of the group (the esbuild service)
    } catch {
      // nothing left
    }
  }
}
