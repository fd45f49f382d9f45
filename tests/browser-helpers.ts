// Helpers of the browser suite: real headless Chromium (Debian's /usr/bin/chromium) driven by
// playwright-core, the simulator supervisor as a child process, screenshots into
// test-artifacts/screenshots (kept by CI).
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { stringify } from 'yaml';
import { simulatorDefault } from '../device/config/default.ts';

export const ROOT = path.resolve(import.meta.dirname, '..');
export const CHROMIUM = process.env.BEONHO_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOTS = path.join(ROOT, 'test-artifacts', 'screenshots');

/** Locally a missing Chromium skips the suite; in CI it must fail. */
export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI) throw new Error(`${CHROMIUM} is missing: CI must install Debian's chromium (see .ci/run)`);
  return false;
}

export async function launchBrowser(): Promise<BrowserContext> {
  const profile = await mkdtemp(path.join(tmpdir(), 'beonho-chromium-'));
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 1000 },
    locale: 'ko-KR',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Polls `fn` until it returns a truthy value (real time: processes and a browser are involved). */
export async function until<T>(what: string, fn: () => Promise<T> | T, timeoutMs = 15_000): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what} (last: ${String(last)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The simulator office config with free ports and its uplink to the given central broker;
 * ticketUrl: the link the printed ticket's QR code carries. */
export async function writeOfficeConfig(
  file: string,
  centralMqttPort: number,
  opts: { ticketUrl?: string } = {},
): Promise<string> {
  await writeFile(
    file,
    stringify({
      ...simulatorDefault,
      outputs: {
        board: { driver: 'sim' },
        printer: { driver: 'sim', ...(opts.ticketUrl ? { ticketUrl: opts.ticketUrl } : {}) },
        audio: { driver: 'sim' },
      },
      mqtt: {
        broker: { port: 0, wsPort: 0, demo: true },
        uplink: {
          url: `mqtt://127.0.0.1:${centralMqttPort}`,
          username: 'singok2',
          password: 'singok2-uplink',
          protocolVersion: 4,
          keepaliveSec: 5,
          reconnectMinMs: 100,
          reconnectMaxMs: 500,
        },
      },
    }),
  );
  return file;
}

/** `npm start` as a child: the supervisor, which forks the core. */
export class Simulator {
  readonly child: ChildProcessWithoutNullStreams;
  readonly url: Promise<string>;
  output = '';
  readonly exited: Promise<number | null>;

  constructor(args: string[]) {
    this.child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'sim/supervisor.ts'), '--sim-port', '0', ...args],
      {
        cwd: ROOT,
        env: { ...process.env, BEONHO_LOG_LEVEL: 'warn', BEONHO_LOG_FORMAT: 'json' },
      },
    );
    this.child.stderr.on('data', (d: Buffer) => {
      this.output += d.toString('utf8');
    });
    this.url = new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the simulator printed no URL; output: ${this.output.slice(-3000)}`)),
        30_000,
      );
      this.child.stdout.on('data', (d: Buffer) => {
        this.output += d.toString('utf8');
        const m = /beonho simulator page: (\S+)/.exec(this.output);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.child.kill('SIGTERM');
    await this.exited;
  }
}
