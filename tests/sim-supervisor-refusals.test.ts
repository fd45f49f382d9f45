// `npm start` refusing what the core would refuse, before it writes anything into the data dir:
// another daemon on it (a second supervisor rewrote the running one's sim/core-config.yaml first),
// a bad config (named as the person's file, not the copy the core runs with), a bad page port.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { processIdentity } from '../device/lock.ts';
import { ROOT } from './helpers/daemon.ts';
import { idleProcess, stopIdleProcesses } from './helpers/idle-process.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'beonho-sim-refusals-'));
});
afterEach(async () => {
  await stopIdleProcesses();
  await rm(dir, { recursive: true, force: true });
});

/** `npm start` with these arguments; its exit code and stderr. */
function supervisor(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'sim/supervisor.ts'), '--no-stdin', ...args],
    { cwd: ROOT, env: { ...process.env, BEONHO_LOG_LEVEL: 'warn', ...env } },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString('utf8');
  });
  child.stdout.resume();
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
}

describe('npm start refuses before it writes into the data dir', () => {
  it('while another beonho holds the data dir', async () => {
    const holder = await idleProcess();
    const data = path.join(dir, 'data');
    await mkdir(data);
    await writeFile(path.join(data, 'beonho.pid'), `${holder}\n${processIdentity(holder)}\n`);
    const r = await supervisor(['-d', data, '--sim-port', '0', '--broker-port', '0', '--ws-port', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`beonho: another beonho (pid ${holder}) is already running on ${data}`);
    expect(existsSync(path.join(data, 'sim'))).toBe(false);
  });

  it('for a bad config, naming the file the person gave', async () => {
    const file = path.join(dir, 'typo.yaml');
    await writeFile(file, 'office: { id: singok2, name: 신곡2동 }\nservices: []\ncounters: []\nofice: x\n');
    const data = path.join(dir, 'data');
    const r = await supervisor(['--config', file, '-d', data, '--sim-port', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^beonho: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `, 'm'));
    expect(r.stderr).not.toContain('core-config.yaml');
    expect(existsSync(path.join(data, 'sim'))).toBe(false);
  });

  it.each([
    [['--sim-port', 'abc'], {}, /^beonho: the simulator page's port 'abc' from --sim-port is not a port number/],
    [[], { BEONHO_SIM_PORT: '99999' }, /^beonho: the simulator page's port '99999' from env 'BEONHO_SIM_PORT'/],
  ])('for a bad page port (%j %j), naming the value and where it came from', async (args, env, re) => {
    const r = await supervisor([...args, '-d', path.join(dir, 'data')], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(re);
  });
});

describe('npm start stops instead of restarting for ever', () => {
  // A mosquitto already on 1883 (likely on an evaluator's machine): the core exits 1, which
  // systemd may retry, but the supervisor restarted it every 10 s for ever and never stopped.
  it('when the core fails its first start (the broker port taken)', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const taken = (holder.address() as AddressInfo).port;
    const refusal = `beonho: cannot listen on 127.0.0.1:${taken} (EADDRINUSE)`;
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(ROOT, 'sim/supervisor.ts'),
        '--no-stdin',
        ...['-d', path.join(dir, 'data'), '--sim-port', '0', '--broker-port', String(taken), '--ws-port', '0'],
      ],
      { cwd: ROOT, env: { ...process.env, BEONHO_LOG_LEVEL: 'warn' } },
    );
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.stdout.resume();
    try {
      // Its exit, or a second start failing the same way (the restart it should not make).
      const code = await new Promise<number | null | 'restarted'>((resolve) => {
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => {
          stderr += d.toString('utf8');
          if (stderr.split(refusal).length > 2) resolve('restarted');
        });
        void exited.then(resolve);
      });
      expect(code).toBe(2);
    } finally {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      await new Promise((resolve) => holder.close(resolve));
    }
  });
});
