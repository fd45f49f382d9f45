// The daemon as a person runs it: the terminal control, a restart, the lock, clean shutdown.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Daemon, killAll, writeTestConfig } from './helpers/daemon.ts';

let dir: string;
let config: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'beonho-daemon-'));
  config = await writeTestConfig(path.join(dir, 'config.yaml'));
});
afterEach(killAll);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the daemon from the terminal', () => {
  it('press and key commands work, state shows them, and a restart resumes', async () => {
    const data = path.join(dir, 'd1');
    const d = new Daemon(['--config', config, '--data-dir', data]);
    await d.waitFor(/simulator ready/);
    d.send('press resident');
    await d.waitFor(/^ticket 1001 \(resident\): 0 ahead/);
    d.send('press priority');
    await d.waitFor(/^ticket 1002 \(resident, priority\)/);
    d.send('key 1 next');
    await d.waitFor(/^call 1002 -> counter 1$/);
    d.send('key 2 call 1001');
    await d.waitFor(/^call 1001 -> counter 2$/);
    d.send('key 9 next');
    await d.waitFor(/no keypad at counter "9"/);
    d.send('key 3 next');
    await d.waitFor(/^refused \(no-waiting\)/);
    d.send('state');
    await d.waitFor(/1번 창구: serving 1002/);
    d.send('help');
    await d.waitFor(/press <button>/);
    d.kill('SIGTERM');
    expect(await d.exited).toBe(0);

    const again = new Daemon(['--config', config, '--data-dir', data]);
    await again.waitFor(/simulator ready/);
    again.send('press resident');
    await again.waitFor(/^ticket 1003 /);
    again.send('state');
    await again.waitFor(/2번 창구: serving 1001/);
    again.kill('SIGINT');
    expect(await again.exited).toBe(0);
  });

  it('a second daemon on the same data dir is refused with a clear message', async () => {
    const data = path.join(dir, 'd2');
    const first = new Daemon(['--config', config, '--data-dir', data]);
    await first.waitFor(/simulator ready/);
    const second = new Daemon(['--config', config, '--data-dir', data]);
    expect(await second.exited).toBe(2);
    expect(second.stderr).toMatch(/another beonho \(pid \d+\) is already running/);
    first.kill('SIGTERM');
    await first.exited;
    // a stale lock (the holder was killed) does not block the next start
    const killed = new Daemon(['--config', config, '--data-dir', data]);
    await killed.waitFor(/simulator ready/);
    await killed.kill('SIGKILL');
    const next = new Daemon(['--config', config, '--data-dir', data]);
    await next.waitFor(/simulator ready/);
    next.kill('SIGTERM');
    expect({ code: await next.exited, signal: next.signal, stderr: next.stderr.slice(-500) }).toMatchObject({
      code: 0,
    });
  });

  it('--help prints the options', async () => {
    const d = new Daemon(['--help']);
    expect(await d.exited).toBe(0);
    expect(d.lines.join('\n')).toMatch(/--data-dir <dir>.*\n?.*BEONHO_DATA_DIR/s);
  });
});

describe('the simulator needs no native module', () => {
  it('npm start in simulator mode never loads onoff, node-hid or serialport', async () => {
    const file = await writeTestConfig(path.join(dir, 'sim-native.yaml'), {
      outputs: { audio: { driver: 'sim' }, board: { driver: 'sim' }, printer: { driver: 'sim' } },
    });
    const d = new Daemon(
      ['--config', file, '--data-dir', path.join(dir, 'd4')],
      {},
      {
        nodeArgs: ['--import', path.join(import.meta.dirname, 'fixtures/native-spy.ts')],
      },
    );
    await d.waitFor(/simulator ready/);
    d.send('press resident');
    await d.waitFor(/^ticket 1001 /);
    d.send('key 1 next');
    await d.waitFor(/^call 1001 -> counter 1$/);
    d.child.kill('SIGUSR2');
    const line = await d.waitFor(/^NATIVE-MODULES /);
    expect(JSON.parse(line.slice('NATIVE-MODULES '.length))).toEqual([]);
    d.kill('SIGTERM');
    await d.exited;
  });
});

describe('hardware this machine does not have', () => {
  it('a config naming GPIO buttons stops the start with a message an admin can act on', async () => {
    const file = await writeTestConfig(path.join(dir, 'gpio.yaml'), {
      hardware: { buttons: { driver: 'gpio', pins: [{ pin: 17, button: 'resident' }] } },
    });
    const d = new Daemon(['--config', file, '--data-dir', path.join(dir, 'd5'), '--no-stdin']);
    expect(await d.exited).toBe(2);
    // off a Pi: no sysfs GPIO (or no permission): the code and what to do
    expect(d.stderr).toMatch(/beonho: gpio-[a-z-]+: .*(Raspberry Pi|gpio)/);
  });
});
