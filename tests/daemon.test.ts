// The daemon as a person runs it: the terminal control, a restart, the lock, clean shutdown.
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { simulatorDefault } from '../device/config/default.ts';
import { DataDirError, dataDirProblem } from '../device/lock.ts';
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

/** The daemon as a service user would run it: as root a mode stops no write, so then as nobody. */
function asServiceUser(config: string, data: string): Daemon {
  return new Daemon(
    ['--config', config, '--data-dir', data, '--no-stdin'],
    {},
    process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {},
  );
}

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
    // every key answers, also those that only change the counter
    d.send('key 3 pause');
    await d.waitFor(/^counter 3 paused$/);
    d.send('key 3 resume');
    await d.waitFor(/^counter 3 idle$/);
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

  it.each([
    [['--log-level', 'warning'], {}, /--log-level.*warning.*Allowed choices are trace, debug, info, warn, error/],
    [[], { BEONHO_LOG_LEVEL: 'verbose' }, /'verbose' from env 'BEONHO_LOG_LEVEL' is invalid\. Allowed choices/],
    [['--broker-port', 'x'], {}, /--broker-port.*'x' is invalid\. not a port number/],
    // Number() would take it as port 80
    [['--broker-port', '0x50'], {}, /--broker-port.*'0x50' is invalid\. not a port number/],
    [[], { BEONHO_WS_PORT: '70000' }, /'70000' from env 'BEONHO_WS_PORT' is invalid\. not a port number/],
  ])('a bad option or its variable (%j %j): exit 2 and one line, never a restart loop', async (args, env, re) => {
    const d = new Daemon([...args, '--no-stdin'], { ...env });
    expect(await d.exited).toBe(2);
    expect(plainLines(d.stderr)).toEqual([expect.stringMatching(re)]);
    expect(d.stderr).not.toMatch(/\n\s+at /);
  });

  it('--help prints the options', async () => {
    const d = new Daemon(['--help']);
    expect(await d.exited).toBe(0);
    expect(d.lines.join('\n')).toMatch(/--data-dir <dir>.*\n?.*BEONHO_DATA_DIR/s);
  });
});

/** The lines a person reads on stderr (the JSON log lines left out). */
const plainLines = (stderr: string): string[] => stderr.split('\n').filter((l) => l !== '' && !l.startsWith('{'));

describe('a start that fails says why in one line', () => {
  it.each([
    ['is a file', (base: string) => base, /^beonho: the data dir \S+ is a file, not a directory .*--data-dir/],
    [
      'is below a file',
      (base: string) => path.join(base, 'data'),
      /^beonho: the data dir \S+ cannot be created: \S+\/not-a-dir-\w+ is a file, not a directory .*--data-dir/,
    ],
  ])('a data dir that %s: exit 2, no stack', async (_, dataDir, re) => {
    const file = path.join(dir, `not-a-dir-${Math.random().toString(36).slice(2)}`);
    await writeFile(file, 'x');
    const d = new Daemon(['--config', config, '--data-dir', dataDir(file), '--no-stdin']);
    expect(await d.exited).toBe(2);
    expect(plainLines(d.stderr)).toEqual([expect.stringMatching(re)]);
    expect(d.stderr).toMatch(/"code":"data-dir-unusable"/);
    expect(d.stderr).not.toMatch(/\n\s+at /);
  });

  it('a broker TLS key it cannot read: exit 2, naming the field (systemd does not restart it for ever)', async () => {
    const file = await writeTestConfig(path.join(dir, 'tls-missing.yaml'), {
      mqtt: {
        broker: {
          port: 0,
          wsPort: null,
          demo: true,
          tls: { port: 0, cert: '/nonexistent/a.crt', key: '/nonexistent/a.key' },
        },
      },
    });
    const d = new Daemon(['--config', file, '--data-dir', path.join(dir, 'tls-data'), '--no-stdin']);
    expect(await d.exited).toBe(2);
    expect(plainLines(d.stderr)).toEqual([
      expect.stringMatching(/^beonho: mqtt\.broker\.tls\.cert: cannot read \/nonexistent\/a\.crt \(ENOENT\)/),
    ]);
    expect(d.stderr).toMatch(/"code":"broker-tls-file"/);
  });

  it('an uplink CA it cannot read: exit 2, naming the field', async () => {
    const file = await writeTestConfig(path.join(dir, 'uplink-ca.yaml'), {
      mqtt: {
        broker: { port: 0, wsPort: null, demo: true },
        uplink: { url: 'mqtts://127.0.0.1:9', ca: '/nonexistent/ca.pem' },
      },
    });
    const d = new Daemon(['--config', file, '--data-dir', path.join(dir, 'uplink-data'), '--no-stdin']);
    expect(await d.exited).toBe(2);
    expect(plainLines(d.stderr)).toEqual([
      expect.stringMatching(/^beonho: cannot read mqtt\.uplink\.ca \(\/nonexistent\/ca\.pem\)/),
    ]);
    expect(d.stderr).toMatch(/"code":"uplink-tls-file"/);
  });

  it('a data dir the service user cannot write: exit 2, naming the directory and what to do', async () => {
    // As root a mode does not stop a write: then the daemon runs as nobody, as a service user would.
    const asRoot = process.getuid?.() === 0;
    const shared = path.join(dir, 'shared');
    await mkdir(shared);
    await chmod(dir, 0o755);
    const file = await writeTestConfig(path.join(shared, 'config.yaml'));
    const data = path.join(shared, 'root-owned');
    await mkdir(data, { mode: 0o755 });
    if (!asRoot) await chmod(data, 0o555);
    const d = asServiceUser(file, data);
    expect(await d.exited).toBe(2);
    expect(plainLines(d.stderr)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^beonho: the data dir ${data} is not writable by .*\\(EACCES on ${data}/beonho\\.pid\\).*chown -R .*--data-dir`,
        ),
      ),
    ]);
    expect(d.stderr).not.toMatch(/\n\s+at /);
  });

  it("a data dir with files the service user cannot write (root's, from a start by hand): exit 2", async () => {
    const asRoot = process.getuid?.() === 0;
    const shared = path.join(dir, 'shared2');
    await mkdir(shared, { mode: 0o755 });
    await chmod(dir, 0o755);
    const file = await writeTestConfig(path.join(shared, 'config.yaml'));
    const data = path.join(shared, 'data');
    const first = new Daemon(['--config', file, '--data-dir', data]);
    await first.waitFor(/simulator ready/);
    first.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    // the directory is the service user's, the files in it are not
    const state = path.join(data, 'state');
    const modes = async (file: number, dirs: number): Promise<void> => {
      for (const e of await readdir(state, { withFileTypes: true, recursive: true }))
        await chmod(path.join(e.parentPath, e.name), e.isDirectory() ? dirs : file);
      await chmod(state, dirs);
    };
    if (asRoot) await chown(data, 65534, 65534);
    else await modes(0o444, 0o555);
    const d = asServiceUser(file, data);
    expect(await d.exited).toBe(2);
    expect(plainLines(d.stderr)).toEqual([
      expect.stringMatching(
        new RegExp(`^beonho: the data dir ${data} is not writable by .*\\(EACCES on ${data}/state/.*chown -R `),
      ),
    ]);
    if (!asRoot) await modes(0o644, 0o755);
  });

  it('names a read-only file system', () => {
    const err = Object.assign(new Error("EROFS: read-only file system, mkdir '/srv/q'"), {
      code: 'EROFS',
      syscall: 'mkdir',
      path: '/srv/q',
    });
    const problem = dataDirProblem(err, '/srv/q');
    expect(problem).toBeInstanceOf(DataDirError);
    expect((problem as Error).message).toMatch(/^the data dir \/srv\/q is on a read-only file system \(EROFS\): /);
    // a card the kernel remounted read-only after a write error is the likelier case on a Pi than
    // a read-only root: what to look at, and that the card may be failing
    expect((problem as Error).message).toMatch(
      /remounted it read-only after a write error.*dmesg.*fsck, or replace it/,
    );
    expect((problem as Error).message).toContain('"Read-only root"');
    // not the data dir's problem: passed through, exit 1
    const full = Object.assign(new Error('ENOSPC'), { code: 'ENOSPC', path: '/srv/q/beonho.pid' });
    expect(dataDirProblem(full, '/srv/q')).toBe(full);
  });

  it('a failure a restart may cure: exit 1, the JSON log line and one plain line', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const file = await writeTestConfig(path.join(dir, 'port-taken.yaml'), {
        mqtt: { broker: { port, wsPort: null } },
      });
      const d = new Daemon(['--config', file, '--data-dir', path.join(dir, 'd6'), '--no-stdin']);
      expect(await d.exited).toBe(1);
      expect(plainLines(d.stderr)).toEqual([
        expect.stringMatching(new RegExp(`^beonho: cannot listen on 127\\.0\\.0\\.1:${port} \\(EADDRINUSE\\)`)),
      ]);
      const fatal = d.stderr.split('\n').find((l) => l.includes('"msg":"start failed"'));
      // the code at the top of the line, where a `code` filter or an alert looks
      expect(JSON.parse(fatal!)).toMatchObject({ level: 60, code: 'broker-listen-failed' });
    } finally {
      taken.close();
    }
  });

  it('a ticket link without its secret is for a person: exit 2, not a restart loop', async () => {
    const file = await writeTestConfig(path.join(dir, 'no-secret.yaml'), {
      outputs: { audio: { driver: 'none' }, board: { driver: 'none' }, printer: { driver: 'escpos' } },
    });
    const d = new Daemon(['--config', file, '--data-dir', path.join(dir, 'd7'), '--no-stdin'], {
      BEONHO_TICKET_SECRET: '',
    });
    expect(await d.exited).toBe(2);
    expect(plainLines(d.stderr)).toEqual([expect.stringMatching(/^beonho: the ticket QR secret is missing/)]);
    expect(d.stderr).toMatch(/"code":"printer-ticket-secret-missing"/);
  });
});

describe('signals and errors at run time', () => {
  const pidFile = (data: string) => path.join(data, 'beonho.pid');
  const logLine = (d: Daemon, code: string) =>
    d.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.code === code);

  it('SIGHUP stops cleanly and exits 1, so systemd starts it again (death by SIGHUP is a clean exit to systemd)', async () => {
    const data = path.join(dir, 'hup');
    const d = new Daemon(['--config', config, '--data-dir', data]);
    await d.waitFor(/simulator ready/);
    d.kill('SIGHUP');
    expect({ code: await d.exited, signal: d.signal }).toEqual({ code: 1, signal: null });
    expect(logLine(d, 'sighup-restart')).toMatchObject({ level: 40 });
    // a clean stop: the lock is given back
    await expect(readFile(pidFile(data))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it.each(['throw', 'reject'])(
    'an error no part caught (%s): one fatal line with a code, a clean stop, exit 1',
    async (kind) => {
      const data = path.join(dir, `crash-${kind}`);
      const d = new Daemon(
        ['--config', config, '--data-dir', data],
        { BEONHO_TEST_CRASH: kind },
        { nodeArgs: ['--import', path.join(import.meta.dirname, 'fixtures/crash-on-signal.ts')] },
      );
      await d.waitFor(/simulator ready/);
      d.child.kill('SIGUSR2');
      expect({ code: await d.exited, signal: d.signal }).toEqual({ code: 1, signal: null });
      expect(logLine(d, 'uncaught-error')).toMatchObject({
        level: 60,
        err: { message: 'a part failed at run time' },
      });
      // no stack trace outside the JSON line
      expect(plainLines(d.stderr)).toEqual([]);
      await expect(readFile(pidFile(data))).rejects.toMatchObject({ code: 'ENOENT' });
    },
  );
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

describe('the config is validated in a worker thread', () => {
  const spy = (...preloads: string[]): string[] =>
    ['zod-spy.ts', ...preloads].flatMap((f) => ['--import', path.join(import.meta.dirname, 'fixtures', f)]);

  it("zod never loads in the daemon's main thread; a bad config still exits 2 with its lines", async () => {
    const d = new Daemon(['--data-dir', path.join(dir, 'zod-1')], {}, { nodeArgs: spy() });
    await d.waitFor(/simulator ready/);
    d.send('press resident');
    await d.waitFor(/^ticket 1001 /);
    d.child.kill('SIGUSR2');
    expect(await d.waitFor(/^ZOD-IN-MAIN /)).toBe('ZOD-IN-MAIN false');
    expect(d.stderr).not.toContain('"config-worker"');
    d.kill('SIGTERM');
    expect(await d.exited).toBe(0);

    const bad = await writeTestConfig(path.join(dir, 'zod-bad.yaml'), { counters: 'three' });
    const refused = new Daemon(['--config', bad, '--data-dir', path.join(dir, 'zod-2')], {}, { nodeArgs: spy() });
    expect(await refused.exited).toBe(2);
    expect(plainLines(refused.stderr)).toEqual([
      `beonho: ${bad}: 1 problem(s) in the configuration:`,
      expect.stringMatching(/^ {2}counters: /),
    ]);
  });

  it('starts with a NODE_OPTIONS preload that keeps a timer (a monitoring agent): it runs in the worker too', async () => {
    const agent = path.join(dir, 'agent.cjs');
    await writeFile(agent, 'setInterval(() => {}, 10_000);\n');
    const nodeOptions = [process.env.NODE_OPTIONS, `--require ${agent}`].filter(Boolean).join(' ');
    const d = new Daemon(
      ['--data-dir', path.join(dir, 'zod-agent')],
      { NODE_OPTIONS: nodeOptions },
      { nodeArgs: spy() },
    );
    await d.waitFor(/simulator ready/);
    d.child.kill('SIGUSR2');
    expect(await d.waitFor(/^ZOD-IN-MAIN /)).toBe('ZOD-IN-MAIN false');
    expect(d.stderr).not.toContain('"config-worker"');
    d.kill('SIGTERM');
    expect(await d.exited).toBe(0);
  });

  it("logs the YAML parser's warnings as its own lines, without the file's text", async () => {
    const file = await writeTestConfig(path.join(dir, 'tagged.yaml'), {});
    const text = await readFile(file, 'utf8');
    // an unknown tag: the value is read as a plain text, and the parser warns
    await writeFile(file, text.replace(/^( {2}name: )/m, '$1!foo '));
    const d = new Daemon(['--config', file, '--data-dir', path.join(dir, 'zod-tag')]);
    await d.waitFor(/simulator ready/);
    const lines = d.stderr.split('\n').filter((l) => l.includes('config-yaml-warning'));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: 40,
      code: 'config-yaml-warning',
      warning: expect.stringMatching(/^Unresolved tag: !foo at line \d+, column \d+$/),
    });
    expect(d.stderr).not.toContain('YAMLWarning');
    d.kill('SIGTERM');
    expect(await d.exited).toBe(0);
  });

  it('says at its start what the config likely gets wrong (config-advice), and runs', async () => {
    const file = await writeTestConfig(path.join(dir, 'utc.yaml'), {
      office: { ...simulatorDefault.office, timeZone: 'UTC' },
    });
    const d = new Daemon(['--config', file, '--data-dir', path.join(dir, 'zod-advice')]);
    await d.waitFor(/simulator ready/);
    const lines = d.stderr.split('\n').filter((l) => l.includes('"config-advice"'));
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({ level: 40, advice: expect.stringMatching(/^office.timeZone "UTC" is UTC\+00:00/) }),
    ]);
    d.kill('SIGTERM');
    expect(await d.exited).toBe(0);
  });

  it('without worker threads it validates in place, says so in the log, and runs', async () => {
    const d = new Daemon(['--data-dir', path.join(dir, 'zod-3')], {}, { nodeArgs: spy('no-worker-threads.ts') });
    await d.waitFor(/simulator ready/);
    // the log (stderr in this mode) says why
    const warned = d.stderr.split('\n').find((l) => l.includes('"config-worker"'));
    expect(JSON.parse(warned ?? '{}')).toMatchObject({
      level: 40,
      code: 'config-worker',
      err: expect.stringMatching(/no worker threads/),
    });
    d.send('press resident');
    await d.waitFor(/^ticket 1001 /);
    // the spy sees zod where it ran: it can tell
    d.child.kill('SIGUSR2');
    expect(await d.waitFor(/^ZOD-IN-MAIN /)).toBe('ZOD-IN-MAIN true');
    d.kill('SIGTERM');
    expect(await d.exited).toBe(0);
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
