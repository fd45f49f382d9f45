// `npm run demo` on its fixed ports: run twice (or beside `npm run central`), the second must say
// what the demo needs, not name options it does not take (--broker-port, --sim-port). Its command
// line behaves as a CLI does (--help prints and exits, anything else is refused), as do npm start's
// and npm run central's; and an office's "no central listening there" hint comes only when true.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { simulatorDefault } from '../device/config/default.ts';
import { startDemoCentral } from '../sim/demo/main.ts';
import { ROOT } from './helpers/daemon.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'beonho-sim-demo-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A script of sim/ run as npm runs it; its exit code and output. Stopped (SIGTERM) once `until`
 * shows in its stdout, or after 20 s. */
function run(
  script: string,
  args: string[],
  until?: RegExp,
): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, script), ...args], {
    cwd: ROOT,
    env: { ...process.env, BEONHO_LOG_LEVEL: 'warn', BEONHO_DEMO_DATA: path.join(dir, 'demo') },
  });
  let stdout = '';
  let stderr = '';
  const timer = setTimeout(() => child.kill('SIGTERM'), 20_000);
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString('utf8');
    if (until?.test(stdout)) child.kill('SIGTERM');
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString('utf8');
  });
  return new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    }),
  );
}

describe('npm run demo', () => {
  it('refuses a port already taken by naming what the demo needs', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const taken = (holder.address() as AddressInfo).port;
    try {
      const err = await startDemoCentral({ mqttPort: taken, wsPort: 0, port: 0 }).then(
        () => null,
        (e: Error) => e,
      );
      expect(err?.message).toMatch(new RegExp(`^cannot listen on 127\\.0\\.0\\.1:${taken} \\(EADDRINUSE\\)`));
      expect(err?.message).toContain('is another `npm run demo` or `npm run central` still running?');
      expect(err?.message).not.toMatch(/--broker-port|mqtt\.broker\.port|--sim-port/);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  it('--help prints its usage and exits without starting anything; an unknown argument is refused', async () => {
    const help = await run('sim/demo/main.ts', ['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: npm run demo/);
    expect(help.stdout).toContain('BEONHO_DEMO_DATA');
    expect(help.stdout).not.toContain('beonho demo');
    expect(help.stderr).not.toContain('central broker listening');

    for (const args of [['--bogus'], ['extra']]) {
      const r = await run('sim/demo/main.ts', args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^error: (unknown option '--bogus'|too many arguments)/);
      expect(r.stdout).toBe('');
    }
  });

  it('npm run central and npm start answer --help and refuse an unknown option the same way', async () => {
    const central = await run('sim/central/main.ts', ['--help']);
    expect([central.code, central.stdout]).toEqual([0, expect.stringMatching(/^Usage: beonho-central/)]);
    expect((await run('sim/central/main.ts', ['--bogus'])).code).toBe(2);
    const start = await run('sim/supervisor.ts', ['--help', '-d', path.join(dir, 'data')]);
    expect([start.code, start.stdout]).toEqual([0, expect.stringMatching(/^npm start: the simulator/)]);
    expect((await run('sim/supervisor.ts', ['--bogus', '-d', path.join(dir, 'data')])).code).toBe(2);
  });
});

describe("an office's hint that no central is listening", () => {
  let central: Server | null = null;
  afterEach(async () => {
    await new Promise((resolve) => (central ? central.close(resolve) : resolve(null)));
    central = null;
  });

  /** npm start on an office whose uplink goes to 127.0.0.1:port; its stdout up to ready. */
  async function office(port: number): Promise<string> {
    const config = path.join(dir, 'office.yaml');
    const mqtt = {
      ...simulatorDefault.mqtt,
      uplink: { ...simulatorDefault.mqtt?.uplink, url: `mqtt://127.0.0.1:${port}` },
    };
    await writeFile(config, stringify({ ...simulatorDefault, mqtt, outputs: { audio: { driver: 'none' } } }));
    const args = ['--config', config, '-d', path.join(dir, 'data'), '--no-stdin', '--sim-port', '0'];
    const r = await run('sim/supervisor.ts', [...args, '--broker-port', '0', '--ws-port', '0'], /simulator ready/);
    expect(r.stdout).toMatch(new RegExp(`^uplink to central 127\\.0\\.0\\.1:${port} through the simulator cable`, 'm'));
    return r.stdout;
  }

  it('is given when nothing listens at central’s address, and not when something does (the demo’s central)', async () => {
    const server = createServer((s) => s.destroy());
    central = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    expect(await office(port)).not.toMatch(/no central/);

    await new Promise((resolve) => server.close(resolve));
    central = null;
    expect(await office(port)).toMatch(/^ {2}\(no central listening there: `npm run central` in another terminal/m);
  });
});
