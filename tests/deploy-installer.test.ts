// The installer generates into a temporary root; commands are collected, never run.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, open, readdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { checkSystemd, DeployError, type InstallOptions, install, uninstall } from '../deploy/installer.ts';
import { targetPath } from '../deploy/paths.ts';
import { formatCommand, recordingRunner } from '../deploy/runner.ts';
import { parseUsbId, udevRules } from '../deploy/udev.ts';
import { parseUnitFile, unitValue } from './support/unit-parse.ts';
import { serviceUnit } from '../deploy/unit.ts';
import { ConfigError, loadConfig } from '../device/config/load.ts';

const CONFIG = `office: { id: singok2, name: 신곡2동 행정복지센터 }
services:
  - { id: resident, name: 주민등록, numbers: { from: 1001, to: 1999 } }
counters:
  - { id: "1", name: 1번 창구, services: [resident] }
`;
const PI_GROUPS = [
  'root:x:0:',
  'tty:x:5:',
  'lp:x:7:',
  'dialout:x:20:',
  'audio:x:29:',
  'video:x:44:',
  'plugdev:x:46:',
  'input:x:105:',
  'gpio:x:986:',
];
const APP = '/opt/beonho';

let root: string;
let work: string;
const lines: string[] = [];
const out = (l: string): void => {
  lines.push(l);
};

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'beonho-root-'));
  work = await mkdtemp(join(tmpdir(), 'beonho-work-'));
  lines.length = 0;
  await mkdir(join(root, 'etc'), { recursive: true });
  await writeFile(join(root, 'etc/group'), `${PI_GROUPS.join('\n')}\n`);
  await writeFile(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\npi:x:1000:1000:,,,:/home/pi:/bin/bash\n');
  // an unpacked release: the compiled daemon and its production node_modules
  await mkdir(join(root, APP, 'node_modules/commander'), { recursive: true });
  await writeFile(join(root, APP, 'node_modules/commander/package.json'), '{}');
  await mkdir(join(root, APP, 'dist/device'), { recursive: true });
  await writeFile(join(root, APP, 'dist/device/main.js'), '');
  await writeFile(join(work, 'office.yaml'), CONFIG);
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

function opts(over: Partial<InstallOptions> = {}): InstallOptions {
  return {
    root,
    appDir: APP,
    nodePath: '/usr/bin/node',
    configSource: join(work, 'office.yaml'),
    systemdVersion: 252,
    keypads: [],
    printers: [],
    start: true,
    ...over,
  };
}

const mode = async (p: string): Promise<string> => ((await stat(join(root, p))).mode & 0o777).toString(8);

// Every key the generator may write; a typo or a key this systemd does not know fails here even
// where systemd-analyze is missing.
const KNOWN: Record<string, string[]> = {
  Unit: [
    'Description',
    'Documentation',
    'After',
    'Wants',
    'RequiresMountsFor',
    'StartLimitIntervalSec',
    'StartLimitBurst',
    'OnFailure',
  ],
  Service: [
    'Type',
    'NotifyAccess',
    'ExecStart',
    'WorkingDirectory',
    'User',
    'Group',
    'Environment',
    'EnvironmentFile',
    'TimeoutStartSec',
    'TimeoutStopSec',
    'KillMode',
    'WatchdogSec',
    'OOMScoreAdjust',
    'Restart',
    'RestartSec',
    'RestartPreventExitStatus',
    'StateDirectory',
    'StateDirectoryMode',
    'RuntimeDirectory',
    'RuntimeDirectoryMode',
    'UMask',
    'StandardOutput',
    'StandardError',
    'SyslogIdentifier',
    'NoNewPrivileges',
    'ProtectSystem',
    'ReadWritePaths',
    'ProtectHome',
    'PrivateTmp',
    'ProtectControlGroups',
    'ProtectKernelModules',
    'ProtectKernelLogs',
    'ProtectProc',
    'ProtectHostname',
    'RestrictRealtime',
    'RestrictSUIDSGID',
    'RestrictNamespaces',
    'LockPersonality',
    'SystemCallArchitectures',
    'CapabilityBoundingSet',
    'AmbientCapabilities',
    'RestrictAddressFamilies',
  ],
  Install: ['WantedBy'],
  Timer: ['OnActiveSec', 'AccuracySec', 'RemainAfterElapse', 'Unit'],
};

describe('install into a temporary root', () => {
  it('writes the units, the udev rules, the config and the data dir with their modes', async () => {
    const runner = recordingRunner();
    const r = await install(opts(), runner, out);
    expect(r.files).toEqual([
      '/etc/systemd/system/beonho.service',
      '/etc/systemd/system/beonho-recover.timer',
      '/etc/systemd/system/beonho-recover.service',
      '/etc/udev/rules.d/99-beonho.rules',
      '/etc/beonho/config.yaml',
    ]);
    expect(await mode('etc/systemd/system/beonho.service')).toBe('644');
    expect(await mode('etc/udev/rules.d/99-beonho.rules')).toBe('644');
    expect(await mode('etc/beonho')).toBe('750');
    expect(await mode('etc/beonho/config.yaml')).toBe('640');
    expect(await mode('var/lib/beonho')).toBe('750');
    expect(await readFile(join(root, 'etc/beonho/config.yaml'), 'utf8')).toBe(CONFIG);
    expect(r.groups).toEqual(['gpio', 'plugdev', 'lp', 'audio', 'video', 'dialout']);
  });

  it('replaces each file whole, by a rename: a power cut mid-install leaves the old file or the new one', async () => {
    await install(opts(), recordingRunner(), out);
    const unit = join(root, 'etc/systemd/system/beonho.service');
    const before = await readFile(unit, 'utf8');
    await writeFile(unit, `${before}# changed by hand\n`);
    // a reader of the old file (systemd, the daemon reading its config) keeps a whole old file:
    // the new one is another file, renamed over it, not the old one rewritten in place
    const held = await open(unit, 'r');
    try {
      await install(opts(), recordingRunner(), out);
      expect((await held.readFile('utf8')).endsWith('# changed by hand\n')).toBe(true);
    } finally {
      await held.close();
    }
    expect(await readFile(unit, 'utf8')).toBe(before);
    expect(await mode('etc/systemd/system/beonho.service')).toBe('644');
    expect((await readdir(join(root, 'etc/systemd/system'))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('creates the user in the hardware groups and hands over the directories through the runner', async () => {
    const runner = recordingRunner();
    await install(opts({ admin: 'pi' }), runner, out);
    const cmds = runner.commands.map(formatCommand);
    expect(cmds).toEqual([
      'useradd --system --user-group --home-dir /var/lib/beonho --no-create-home --shell /usr/sbin/nologin beonho',
      'usermod --append --groups gpio,plugdev,lp,audio,video,dialout beonho',
      'usermod --append --groups beonho pi',
      // as the target names them: under --root they are run on the system that boots from it
      'chown root:beonho /etc/beonho /etc/beonho/config.yaml',
      'chown --recursive beonho:beonho /var/lib/beonho/',
      'udevadm control --reload-rules',
      'udevadm trigger --subsystem-match=hidraw --subsystem-match=input --subsystem-match=usbmisc --subsystem-match=usb --subsystem-match=graphics --subsystem-match=gpio',
      'systemctl daemon-reload',
      'systemctl enable beonho.service',
      'systemctl restart beonho.service',
    ]);
  });

  it('on a re-install keeps the user, skips groups the system lacks, and keeps the old config aside', async () => {
    await writeFile(
      join(root, 'etc/passwd'),
      'root:x:0:0::/root:/bin/bash\nbeonho:x:998:998::/var/lib/beonho:/usr/sbin/nologin\n',
    );
    await writeFile(join(root, 'etc/group'), 'root:x:0:\nlp:x:7:\nvideo:x:44:\n');
    await mkdir(join(root, 'etc/beonho'), { recursive: true });
    await writeFile(join(root, 'etc/beonho/config.yaml'), `${CONFIG}# old\n`);
    const runner = recordingRunner();
    const r = await install(opts({ start: false }), runner, out);
    const cmds = runner.commands.map(formatCommand);
    expect(cmds.some((c) => c.startsWith('useradd'))).toBe(false);
    expect(cmds).toContain('usermod --append --groups lp,video beonho');
    expect(cmds.some((c) => c.startsWith('systemctl enable') || c.startsWith('systemctl restart'))).toBe(false);
    expect(r.warnings.join('\n')).toMatch(/gpio, plugdev, audio, dialout/);
    expect(await readFile(join(root, 'etc/beonho/config.yaml.previous'), 'utf8')).toBe(`${CONFIG}# old\n`);
    // without a gpio group (generic Debian) the installer gives gpiochip to the service's group
    expect(await readFile(join(root, 'etc/udev/rules.d/99-beonho.rules'), 'utf8')).toContain(
      'SUBSYSTEM=="gpio", KERNEL=="gpiochip*", GROUP="beonho", MODE="0660"',
    );
  });

  it('gives the data dir to the service with everything in it, not its top directory alone', async () => {
    // a start by hand as root, or a state copy put back, leaves root's files in it; systemd's own
    // StateDirectory= chown stops at a top directory that is already the service's, so a chown of
    // the top alone left the daemon unable to write its journal (data-dir-unusable, exit 2)
    const runner = recordingRunner();
    await install(opts({ start: false }), runner, out);
    const chowns = runner.commands
      .map(formatCommand)
      .filter((c) => c.startsWith('chown') && c.includes('/var/lib/beonho'));
    expect(chowns).toEqual(['chown --recursive beonho:beonho /var/lib/beonho/']);
    // The command itself, on a data dir that is a link to its directory (a partition's folder) with
    // root's files and a link out of it inside: the directory and its files change hands, what a
    // link inside points to does not (chown -R alone, without the slash, changed the link only).
    if (process.getuid?.() !== 0) return;
    const { args } = runner.commands.find((c) => c.cmd === 'chown' && c.args.at(-1)?.startsWith('/var/lib'))!;
    const disk = join(root, 'disk');
    await mkdir(join(disk, 'state'), { recursive: true });
    await writeFile(join(disk, 'state/journal.log'), 'x');
    await writeFile(join(root, 'outside'), 'x');
    await symlink(join(root, 'outside'), join(disk, 'out'));
    await symlink(disk, join(root, 'data'));
    const [owner, path] = [args[1]!.replace('beonho:beonho', 'nobody:nogroup'), args[2]!];
    execFileSync('chown', [args[0]!, owner, path.replace('/var/lib/beonho', join(root, 'data'))]);
    const nobody = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim());
    expect((await stat(disk)).uid).toBe(nobody);
    expect((await stat(join(disk, 'state/journal.log'))).uid).toBe(nobody);
    expect((await stat(join(root, 'outside'))).uid).toBe(0);
  });

  it('gives the environment file (the secrets) to root alone, mode 600, without a word of what it holds', async () => {
    await mkdir(join(root, 'etc/beonho'), { recursive: true });
    // written as step 5 shows, the chmod forgotten: the default umask's 0644
    const env = join(root, 'etc/beonho/environment');
    await writeFile(env, 'BEONHO_UPLINK_PASSWORD=hunter2-uplink\n', { mode: 0o644 });
    await chmod(env, 0o644);

    // a dry run only says so
    const dry = await install(opts({ dryRun: true }), recordingRunner(), out);
    expect(await mode('etc/beonho/environment')).toBe('644');
    expect(dry.warnings).toContainEqual(
      expect.stringMatching(/environment \(the secrets\) was mode 644.*would be made 600/),
    );

    const runner = recordingRunner();
    const r = await install(opts(), runner, out);
    expect(await mode('etc/beonho/environment')).toBe('600');
    expect(r.warnings).toContainEqual(
      expect.stringMatching(/^\/etc\/beonho\/environment \(the secrets\) was mode 644/),
    );
    expect(runner.commands.map(formatCommand)).toContain('chown root:root /etc/beonho/environment');
    expect([...lines, ...r.warnings, ...runner.commands.map(formatCommand)].join('\n')).not.toContain('hunter2');
    expect(await readFile(env, 'utf8')).toBe('BEONHO_UPLINK_PASSWORD=hunter2-uplink\n');

    // already right: given to root again, nothing to say
    const again = await install(opts(), recordingRunner(), out);
    expect(again.warnings.join('\n')).not.toMatch(/environment/);
  });

  it('refuses an invalid config and writes nothing', async () => {
    await writeFile(join(work, 'office.yaml'), 'office: { id: "Not A Slug", name: x }\nservices: []\ncounters: []\n');
    const runner = recordingRunner();
    const err = await install(opts(), runner, out).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeployError);
    expect((err as DeployError).code).toBe('deploy-config-invalid');
    expect((err as DeployError).message).toMatch(/office\.id/);
    expect(runner.commands).toEqual([]);
    expect(existsSync(join(root, 'etc/systemd'))).toBe(false);
  });

  it('refuses a data dir that is not a directory before it writes anything', async () => {
    // a file in its place (a copy gone wrong): mkdir failed with EEXIST after the units and the
    // config were written, and the installer printed "error EEXIST"
    await mkdir(join(root, 'var/lib'), { recursive: true });
    await writeFile(join(root, 'var/lib/beonho'), 'not a directory');
    const runner = recordingRunner();
    const err = await install(opts(), runner, out).catch((e: unknown) => e);
    expect((err as DeployError).code).toBe('deploy-data-dir');
    expect((err as DeployError).message).toMatch(/^\/var\/lib\/beonho is not a directory: move it away/);
    expect(runner.commands).toEqual([]);
    expect(existsSync(join(root, 'etc/systemd'))).toBe(false);
    expect(existsSync(join(root, 'etc/beonho'))).toBe(false);
  });

  it('refuses a missing config, a release under /home, and a release without node_modules', async () => {
    const code = (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (e: DeployError) => e.code,
      );
    expect(await code(install(opts({ configSource: join(work, 'nope.yaml') }), recordingRunner(), out))).toBe(
      'deploy-config-missing',
    );
    expect(await code(install(opts({ appDir: '/home/pi/beonho' }), recordingRunner(), out))).toBe('deploy-app-in-home');
    // an admin login that is not on the system: refused before anything is written
    const runner = recordingRunner();
    expect(await code(install(opts({ admin: 'nosuchuser' }), runner, out))).toBe('deploy-admin-unknown');
    expect(runner.commands).toEqual([]);
    expect(existsSync(join(root, 'etc/systemd'))).toBe(false);
    // the user who ran sudo, not named, without a login in the target (an image made elsewhere)
    const imaging = recordingRunner();
    const made = await install(opts({ admin: 'kim', adminFromSudo: true }), imaging, out);
    expect(made.warnings).toContainEqual(expect.stringMatching(/^kim \(who ran sudo\) has no login on the target/));
    expect(imaging.commands.map((c) => c.args.join(' '))).not.toContainEqual(expect.stringContaining('kim'));
    expect(await code(install(opts({ appDir: '/srv/beonho' }), recordingRunner(), out))).toBe('deploy-app-incomplete');
    // a path of the target is absolute; the message names where it was looked for here
    expect(await code(install(opts({ appDir: 'opt/beonho' }), recordingRunner(), out))).toBe('deploy-app-dir');
    const missing = await install(opts({ appDir: '/srv/beonho' }), recordingRunner(), out).catch((e: Error) => e);
    expect((missing as Error).message).toContain(`/srv/beonho (${root}/srv/beonho on this machine) has no dist/`);
    // a checkout with node_modules but never built: the unit would run a dist/ that is not there
    await rm(join(root, APP, 'dist'), { recursive: true });
    expect(await code(install(opts(), recordingRunner(), out))).toBe('deploy-app-incomplete');
  });

  it('lists config problems in the words of the daemon, one line each', async () => {
    await writeFile(
      join(work, 'office.yaml'),
      `${CONFIG.replace('numbers: { from: 1001, to: 1999 }', 'numbers: { from: 1001, to: 1999 }, cutoff: "25:00"')}counter: 1\n`,
    );
    const err = (await install(opts(), recordingRunner(), out).catch((e: unknown) => e)) as DeployError;
    expect(err.code).toBe('deploy-config-invalid');
    // what the daemon prints at start (device/main.ts: "beonho: " and the ConfigError's message)
    const daemon = (await loadConfig(join(work, 'office.yaml')).catch((e: unknown) => e)) as ConfigError;
    expect(daemon).toBeInstanceOf(ConfigError);
    expect(err.message.startsWith(daemon.message)).toBe(true);
    expect(err.message).toContain('  services[0].cutoff: expected HH:MM (00:00 to 23:59), got "25:00"\n');
    expect(err.message).toContain('  (top level): unknown key "counter"\n');
  });

  it('refuses a host without a running systemd before it changes anything, unless it only prints', async () => {
    const code = (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (e: DeployError) => e.code,
      );
    const bin = join(work, 'bin');
    await mkdir(bin);
    const noSystemd = { runDir: join(work, 'run/systemd/system'), path: bin };
    await expect(checkSystemd(noSystemd)).rejects.toThrow(/no systemctl on the PATH.*nothing was changed/);
    await writeFile(join(bin, 'systemctl'), '#!/bin/sh\n', { mode: 0o755 });
    await expect(checkSystemd(noSystemd)).rejects.toThrow(/systemd is not running \(no .*run\/systemd\/system\)/);
    await mkdir(noSystemd.runDir, { recursive: true });
    await expect(checkSystemd(noSystemd)).resolves.toBeUndefined();

    // the real root: refused first. An app dir that does not exist makes sure nothing on this
    // machine is touched should the check ever be skipped (deploy-app-incomplete then).
    const host = { runDir: join(work, 'nope'), path: bin };
    const onHost = { root: '/', appDir: '/nonexistent/beonho', host };
    const runner = recordingRunner();
    expect(await code(install(opts(onHost), runner, out))).toBe('deploy-no-systemd');
    expect(runner.commands).toEqual([]);
    // a dry run and another root change nothing on the host: no systemd needed
    expect(await code(install(opts({ ...onHost, dryRun: true }), runner, out))).toBe('deploy-app-incomplete');
    expect(await code(install(opts({ host }), runner, out))).toBe('ok');
  });

  it('takes a release unpacked inside --root for the path it has in the target', () => {
    expect(targetPath('/tmp/x', '/tmp/x/opt/beonho')).toBe('/opt/beonho');
    expect(targetPath('/tmp/x/', '/tmp/x/opt/beonho')).toBe('/opt/beonho');
    expect(targetPath('/tmp/x', '/tmp/xy/opt/beonho')).toBe('/tmp/xy/opt/beonho');
    expect(targetPath('/tmp/x', '/srv/beonho')).toBe('/srv/beonho');
    expect(targetPath('/', '/opt/beonho')).toBe('/opt/beonho');
  });

  it("refuses under --root a release for another CPU than the image's, before it writes anything", async () => {
    const app = join(root, APP);
    await writeFile(
      join(app, 'manifest.json'),
      JSON.stringify({ name: 'beonho-0.1.0-linux-armhf', arch: 'armhf', cpu: 'arm' }),
    );
    const sums = [];
    for (const f of ['manifest.json', 'dist/device/main.js', 'node_modules/commander/package.json']) {
      const { createHash } = await import('node:crypto');
      sums.push(
        `${createHash('sha256')
          .update(await readFile(join(app, f)))
          .digest('hex')}  ${f}`,
      );
    }
    await writeFile(join(app, 'SHA256SUMS'), `${sums.join('\n')}\n`);
    // the image's Node: a 64-bit ARM ELF header (EM_AARCH64)
    const head = Buffer.alloc(64);
    head.write('\x7fELF', 0, 'latin1');
    head[4] = 2;
    head[5] = 1;
    head.writeUInt16LE(183, 18);
    await mkdir(join(root, 'usr/bin'), { recursive: true });
    await writeFile(join(root, 'usr/bin/node'), head);
    const err = await install(opts(), recordingRunner(), out).catch((e: { code?: string; message: string }) => e);
    expect((err as { code?: string }).code).toBe('deploy-release-arch');
    expect((err as Error).message).toMatch(/is for armhf \(arm\) but \/usr\/bin\/node in .* is built for arm64/);
    expect(existsSync(join(root, 'etc/systemd/system/beonho.service'))).toBe(false);
  });

  it('a dry run writes no file and prints what it would write', async () => {
    await install(opts({ dryRun: true }), recordingRunner(), out);
    expect(existsSync(join(root, 'etc/systemd'))).toBe(false);
    expect(lines).toContain(
      'would write ' +
        join(root, '/etc/systemd/system/beonho.service').replace(/\/\//g, '/') +
        ` (${Buffer.byteLength(serviceUnit({ appDir: APP, nodePath: '/usr/bin/node', systemdVersion: 252 }).text)} bytes, mode 644)`,
    );
  });
});

describe('the generated units', () => {
  async function generated(systemdVersion = 252) {
    await install(opts({ systemdVersion }), recordingRunner(), out);
    const read = async (name: string) => parseUnitFile(await readFile(join(root, 'etc/systemd/system', name), 'utf8'));
    return {
      service: await read('beonho.service'),
      timer: await read('beonho-recover.timer'),
      recover: await read('beonho-recover.service'),
    };
  }

  it('only use keys systemd knows', async () => {
    const { service, timer, recover } = await generated();
    for (const unit of [service, timer, recover]) {
      for (const [section, entries] of unit) {
        for (const [key] of entries) expect(KNOWN[section] ?? [], `${section}.${key}`).toContain(key);
      }
    }
  });

  it('run as a notify service with a watchdog, restarts with a limit, and retry after the limit', async () => {
    const { service, timer, recover } = await generated();
    const v = (k: string) => unitValue(service, 'Service', k);
    expect(v('Type')).toBe('notify');
    expect(v('NotifyAccess')).toBe('all');
    expect(v('WatchdogSec')).toBe('30');
    expect(v('Restart')).toBe('on-failure');
    expect(v('RestartSec')).toBe('5');
    expect(v('RestartPreventExitStatus')).toBe('2');
    // a stop's SIGTERM to the daemon alone: it ends the voice's processes after the sentence
    expect(v('KillMode')).toBe('mixed');
    // the OOM killer takes the daemon, with the queue, last
    expect(Number(v('OOMScoreAdjust'))).toBeLessThan(0);
    expect(unitValue(service, 'Unit', 'RequiresMountsFor')).toBe('/var/lib/beonho');
    expect(unitValue(service, 'Unit', 'StartLimitBurst')).toBe('10');
    expect(unitValue(service, 'Unit', 'StartLimitIntervalSec')).toBe('600');
    expect(unitValue(service, 'Unit', 'OnFailure')).toBe('beonho-recover.timer');
    expect(unitValue(timer, 'Timer', 'Unit')).toBe('beonho-recover.service');
    expect(unitValue(timer, 'Timer', 'RemainAfterElapse')).toBe('no');
    expect(
      recover
        .get('Service')
        ?.filter(([k]) => k === 'ExecStart')
        .map(([, x]) => x),
    ).toEqual(['/usr/bin/systemctl reset-failed beonho.service', '/usr/bin/systemctl start --no-block beonho.service']);
    expect(v('ExecStart')).toBe(
      '/usr/bin/node --optimize-for-size dist/device/main.js --config /etc/beonho/config.yaml --data-dir /var/lib/beonho --no-stdin',
    );
    expect(v('WorkingDirectory')).toBe(APP);
    // node's memory settings (deploy/unit.ts RUNTIME_ENV: bench/lean.ts measures the daemon with them)
    const env = service
      .get('Service')
      ?.filter(([k]) => k === 'Environment')
      .map(([, x]) => x);
    expect(env).toEqual(
      expect.arrayContaining([
        '"NODE_OPTIONS=--max-semi-space-size=1 --expose-gc"',
        'MALLOC_ARENA_MAX=2',
        'NODE_COMPILE_CACHE=/var/lib/beonho/compile-cache',
      ]),
    );
    expect(v('User')).toBe('beonho');
    expect(v('EnvironmentFile')).toBe('-/etc/beonho/environment');
    expect(v('StateDirectory')).toBe('beonho');
    expect(v('RuntimeDirectory')).toBe('beonho');
    expect(v('StandardOutput')).toBe('journal');
    expect(unitValue(service, 'Install', 'WantedBy')).toBe('multi-user.target');
  });

  it('are sandboxed but keep the devices reachable', async () => {
    const { service } = await generated();
    const v = (k: string) => unitValue(service, 'Service', k);
    expect(v('ProtectSystem')).toBe('strict');
    expect(v('ReadWritePaths')).toBe('/var/lib/beonho');
    expect(v('NoNewPrivileges')).toBe('yes');
    expect(v('PrivateTmp')).toBe('yes');
    expect(v('ProtectHome')).toBe('yes');
    expect(v('ProtectKernelLogs')).toBe('yes');
    expect(v('ProtectProc')).toBe('invisible');
    // one capability: KDSETMODE on the board's VT (docs/display.md, "The console")
    expect(v('CapabilityBoundingSet')).toBe('CAP_SYS_TTY_CONFIG');
    expect(v('AmbientCapabilities')).toBe('CAP_SYS_TTY_CONFIG');
    for (const k of [
      'PrivateDevices',
      'DevicePolicy',
      'DeviceAllow',
      'ProtectClock',
      'ProtectKernelTunables',
      'MemoryDenyWriteExecute',
    ]) {
      expect(v(k), k).toBeUndefined();
    }
  });

  it('leave out the sandbox keys an older systemd does not know', () => {
    const on = (systemdVersion: number) =>
      parseUnitFile(serviceUnit({ appDir: APP, nodePath: '/usr/bin/node', systemdVersion }).text);
    expect(unitValue(on(243), 'Service', 'ProtectKernelLogs')).toBeUndefined();
    expect(unitValue(on(246), 'Service', 'ProtectKernelLogs')).toBe('yes');
    expect(unitValue(on(246), 'Service', 'ProtectProc')).toBeUndefined();
    expect(unitValue(on(247), 'Service', 'ProtectProc')).toBe('invisible');
  });

  it('grow the restart delay themselves on systemd >= 254 only', async () => {
    expect(unitValue((await generated(252)).service, 'Service', 'RestartSteps')).toBeUndefined();
    const newer = parseUnitFile(serviceUnit({ appDir: APP, nodePath: '/usr/bin/node', systemdVersion: 257 }).text);
    expect(unitValue(newer, 'Service', 'RestartSteps')).toBe('5');
    expect(unitValue(newer, 'Service', 'RestartMaxDelaySec')).toBe('120');
  });

  it('quote a release path with spaces in ExecStart', () => {
    const u = parseUnitFile(
      serviceUnit({ appDir: '/opt/beonho', nodePath: '/opt/node 20/bin/node', systemdVersion: 252 }).text,
    );
    expect(unitValue(u, 'Service', 'ExecStart')).toMatch(
      /^"\/opt\/node 20\/bin\/node" --optimize-for-size dist\/device\/main\.js /,
    );
  });

  const analyze = (() => {
    try {
      execFileSync('systemd-analyze', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  // CI installs systemd (.ci/run); the key check above covers machines without it.
  it.runIf(analyze)('pass systemd-analyze verify without a warning', async () => {
    await install(opts({ nodePath: process.execPath }), recordingRunner(), out);
    const dir = join(root, 'etc/systemd/system');
    const r = await promisify(execFile)('systemd-analyze', [
      'verify',
      ...['beonho.service', 'beonho-recover.timer', 'beonho-recover.service'].map((f) => join(dir, f)),
    ]).then(
      (x) => ({ code: 0, stderr: x.stderr }),
      (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
    );
    // verify exits 0 even for unknown keys; the warnings name our files
    expect(r.stderr.split('\n').filter((l) => l.includes(dir))).toEqual([]);
    expect(r.code).toBe(0);
  });
});

describe('udev rules', () => {
  const RULE = /^(\w+(\{\w+\})?(==|=|\+=)"[^"]*")(, \w+(\{\w+\})?(==|=|\+=)"[^"]*")*$/;

  it('give all hidraw nodes to the service group by default, or only the listed keypads', () => {
    const generic = udevRules({ keypads: [], printers: [], hasGpioGroup: true });
    expect(generic).toContain('SUBSYSTEM=="hidraw", KERNEL=="hidraw*", GROUP="beonho", MODE="0660"');
    expect(generic).toContain('SUBSYSTEM=="usbmisc", KERNEL=="lp[0-9]*", GROUP="lp", MODE="0660"');
    expect(generic).toContain('SUBSYSTEM=="graphics", KERNEL=="fb[0-9]*", GROUP="video", MODE="0660"');
    expect(generic).not.toContain('SUBSYSTEM=="gpio"');
    const listed = udevRules({
      keypads: [parseUsbId('1A2B:3c4d')],
      printers: [parseUsbId('0416:5011')],
      hasGpioGroup: true,
    });
    expect(listed).toContain(
      'SUBSYSTEM=="hidraw", ATTRS{idVendor}=="1a2b", ATTRS{idProduct}=="3c4d", GROUP="beonho", MODE="0660"',
    );
    expect(listed).not.toContain('KERNEL=="hidraw*"');
    expect(listed).toContain('ATTR{idVendor}=="0416", ATTR{idProduct}=="5011", GROUP="beonho"');
    for (const text of [generic, listed]) {
      for (const line of text.split('\n').filter((l) => l && !l.startsWith('#'))) expect(line).toMatch(RULE);
    }
  });

  it("give the service the board's VT alone, not the tty group (every VT, terminal and console screen)", async () => {
    const RULE_LINE = /^(\w+(\{\w+\})?(==|=|\+=)"[^"]*")(, \w+(\{\w+\})?(==|=|\+=)"[^"]*")*$/;
    await writeFile(join(work, 'office.yaml'), `${CONFIG}outputs:\n  board: { driver: framebuffer, vt: /dev/tty2 }\n`);
    // an earlier release's installer put the service user in tty
    await writeFile(
      join(root, 'etc/passwd'),
      'root:x:0:0::/root:/bin/bash\nbeonho:x:998:998::/var/lib/beonho:/usr/sbin/nologin\n',
    );
    await writeFile(join(root, 'etc/group'), `${PI_GROUPS.join('\n').replace('tty:x:5:', 'tty:x:5:beonho')}\n`);
    const runner = recordingRunner();
    const r = await install(opts(), runner, out);
    expect(r.groups).not.toContain('tty');
    const rules = await readFile(join(root, 'etc/udev/rules.d/99-beonho.rules'), 'utf8');
    const ttyRules = rules.split('\n').filter((l) => l.startsWith('SUBSYSTEM=="tty"'));
    expect(ttyRules).toEqual(['SUBSYSTEM=="tty", KERNEL=="tty2", GROUP="beonho", MODE="0620"']);
    expect(ttyRules[0]).toMatch(RULE_LINE);
    const cmds = runner.commands.map(formatCommand);
    expect(cmds.filter((c) => /\btty\b/.test(c) && c.startsWith('usermod'))).toEqual([]);
    expect(cmds).toContain('gpasswd --delete beonho tty');
    expect(cmds).toContain('udevadm trigger --subsystem-match=tty --sysname-match=tty2');
    // before the units are loaded and the service restarted with its new groups
    expect(cmds.indexOf('gpasswd --delete beonho tty')).toBeLessThan(cmds.indexOf('systemctl restart beonho.service'));

    // a board without a VT (the simulator's here): no tty at all, and nothing to take back
    await writeFile(join(work, 'office.yaml'), CONFIG);
    await writeFile(join(root, 'etc/group'), `${PI_GROUPS.join('\n')}\n`);
    const plain = recordingRunner();
    await install(opts(), plain, out);
    expect(await readFile(join(root, 'etc/udev/rules.d/99-beonho.rules'), 'utf8')).not.toContain('SUBSYSTEM=="tty"');
    expect(plain.commands.map(formatCommand).filter((c) => /\btty\b/.test(c))).toEqual([]);
  });

  it("give only the config's keypads, as it binds them, to the service group: not every hidraw node", async () => {
    const RULE_LINE = /^(\w+(\{\w+\})?(==|=|\+=)"[^"]*")(, \w+(\{\w+\})?(==|=|\+=)"[^"]*")*$/;
    const office = (devices: string[]) =>
      `${CONFIG.replace(
        '  - { id: "1", name: 1번 창구, services: [resident] }\n',
        ['1', '2', '3'].map((c) => `  - { id: "${c}", name: ${c}번 창구, services: [resident] }\n`).join(''),
      )}hardware:\n  keypads:\n    driver: hid\n    devices:\n${devices.map((d) => `      - ${d}\n`).join('')}`;
    const hidraw = async () =>
      (await readFile(join(root, 'etc/udev/rules.d/99-beonho.rules'), 'utf8'))
        .split('\n')
        .filter((l) => l.startsWith('SUBSYSTEM=="hidraw"'));

    await writeFile(
      join(work, 'office.yaml'),
      office([
        '{ counter: "1", usb: "1A2B:3c4d" }',
        '{ counter: "2", serial: \'KP-0042"*\' }',
        '{ counter: "3", port: "1-1.3" }',
      ]),
    );
    const r = await install(opts(), recordingRunner(), out);
    expect(await hidraw()).toEqual([
      'SUBSYSTEM=="hidraw", ATTRS{idVendor}=="1a2b", ATTRS{idProduct}=="3c4d", GROUP="beonho", MODE="0660"',
      // a quote or a pattern character in a serial number cannot end the value or widen the match
      'SUBSYSTEM=="hidraw", ATTRS{serial}=="KP-0042??", GROUP="beonho", MODE="0660"',
      'SUBSYSTEM=="hidraw", KERNELS=="1-1.3", GROUP="beonho", MODE="0660"',
    ]);
    for (const line of await hidraw()) expect(line).toMatch(RULE_LINE);
    expect(r.warnings.join('\n')).not.toMatch(/hidraw/);

    // --keypad ids replace the config's
    await install(opts({ keypads: [parseUsbId('0e24:1a2c')] }), recordingRunner(), out);
    expect(await hidraw()).toEqual([
      'SUBSYSTEM=="hidraw", ATTRS{idVendor}=="0e24", ATTRS{idProduct}=="1a2c", GROUP="beonho", MODE="0660"',
    ]);

    // no USB keypad in the config: no hidraw node at all
    await writeFile(join(work, 'office.yaml'), CONFIG);
    await install(opts(), recordingRunner(), out);
    expect(await hidraw()).toEqual([]);

    // a keypad bound by its path (hidrawN changes on a replug): every node, and a warning that says so
    await writeFile(join(work, 'office.yaml'), office(['{ counter: "1", path: /dev/hidraw3 }']));
    const byPath = await install(opts(), recordingRunner(), out);
    expect(await hidraw()).toEqual(['SUBSYSTEM=="hidraw", KERNEL=="hidraw*", GROUP="beonho", MODE="0660"']);
    expect(byPath.warnings).toContainEqual(expect.stringMatching(/by its path: every \/dev\/hidraw\* node/));
  });

  it("give the keypads' input nodes to the service group, not the input group's every keyboard", async () => {
    const RULE_LINE = /^(\w+(\{\w+\})?(==|=|\+=)"[^"]*")(, \w+(\{\w+\})?(==|=|\+=)"[^"]*")*$/;
    const office = (device: string) =>
      `${CONFIG}hardware:\n  keypads:\n    driver: hid\n    devices:\n      - ${device}\n`;
    const events = async () =>
      (await readFile(join(root, 'etc/udev/rules.d/99-beonho.rules'), 'utf8'))
        .split('\n')
        .filter((l) => l.startsWith('SUBSYSTEM=="input"'));
    // an earlier release's installer put the service user in input: every keyboard's and mouse's
    // /dev/input/event* (an admin's password typed on a USB keyboard at the console, too)
    await writeFile(
      join(root, 'etc/passwd'),
      'root:x:0:0::/root:/bin/bash\nbeonho:x:998:998::/var/lib/beonho:/usr/sbin/nologin\n',
    );
    await writeFile(join(root, 'etc/group'), `${PI_GROUPS.join('\n').replace('input:x:105:', 'input:x:105:beonho')}\n`);
    await writeFile(join(work, 'office.yaml'), office('{ counter: "1", port: "1-1.3" }'));
    const runner = recordingRunner();
    const r = await install(opts(), runner, out);
    expect(r.groups).not.toContain('input');
    const cmds = runner.commands.map(formatCommand);
    expect(cmds.filter((c) => c.startsWith('usermod') && /\binput\b/.test(c))).toEqual([]);
    expect(cmds).toContain('gpasswd --delete beonho input');
    expect(cmds.indexOf('gpasswd --delete beonho input')).toBeLessThan(
      cmds.indexOf('systemctl restart beonho.service'),
    );
    // the grab (EVIOCGRAB) needs the keypad's own event nodes only, matched as its hidraw node is
    expect(await events()).toEqual([
      'SUBSYSTEM=="input", KERNEL=="event*", KERNELS=="1-1.3", GROUP="beonho", MODE="0660"',
    ]);
    for (const line of await events()) expect(line).toMatch(RULE_LINE);
    expect(cmds.find((c) => c.startsWith('udevadm trigger'))).toContain('--subsystem-match=input');

    await install(opts({ keypads: [parseUsbId('0e24:1a2c')] }), recordingRunner(), out);
    expect(await events()).toEqual([
      'SUBSYSTEM=="input", KERNEL=="event*", ATTRS{idVendor}=="0e24", ATTRS{idProduct}=="1a2c", GROUP="beonho", MODE="0660"',
    ]);
    // no USB keypad: no input node at all, and a new install does not add the user to input
    await writeFile(join(work, 'office.yaml'), CONFIG);
    await writeFile(join(root, 'etc/group'), `${PI_GROUPS.join('\n')}\n`);
    const plain = recordingRunner();
    await install(opts(), plain, out);
    expect(await events()).toEqual([]);
    expect(plain.commands.map(formatCommand).filter((c) => /\binput\b/.test(c) && !c.startsWith('udevadm'))).toEqual(
      [],
    );
  });

  it('refuse a malformed USB id with an actionable message', () => {
    expect(() => parseUsbId('1a2b-3c4d')).toThrow(/VVVV:PPPP/);
  });
});

describe('the USB ids it was given (--keypad, --printer), for the next install', () => {
  const KEYPAD = parseUsbId('1a2b:3c4d');
  const PRINTER = parseUsbId('0416:5011');
  const rules = () => readFile(join(root, 'etc/udev/rules.d/99-beonho.rules'), 'utf8');
  const given = (o: Partial<InstallOptions>) => opts({ keypads: undefined, printers: undefined, ...o });

  it('an upgrade that does not repeat them keeps them, and says so; an option replaces, none clears', async () => {
    await install(given({ keypads: [KEYPAD], printers: [PRINTER] }), recordingRunner(), out);
    expect(await readFile(join(root, 'etc/beonho/usb-ids'), 'utf8')).toMatch(
      /^keypad 1a2b:3c4d\nprinter 0416:5011\n$/m,
    );

    // the upgrade (docs/deploy.md, Upgrades, step 4) run with --config alone
    lines.length = 0;
    const again = await install(given({}), recordingRunner(), out);
    expect(await rules()).toContain('ATTRS{idVendor}=="1a2b", ATTRS{idProduct}=="3c4d", GROUP="beonho"');
    expect(await rules()).toContain('ATTR{idVendor}=="0416", ATTR{idProduct}=="5011", GROUP="beonho"');
    expect(lines).toContainEqual(expect.stringMatching(/^--keypad 1a2b:3c4d: reused from \/etc\/beonho\/usb-ids/));
    expect(lines).toContainEqual(expect.stringMatching(/^--printer 0416:5011: reused from \/etc\/beonho\/usb-ids/));
    expect(again.files).toContain('/etc/beonho/usb-ids');

    // an explicit --keypad replaces the keypads only; the printer stays
    lines.length = 0;
    await install(given({ keypads: [parseUsbId('0e24:1a2c')] }), recordingRunner(), out);
    expect(await rules()).not.toContain('"3c4d"');
    expect(await rules()).toContain('ATTRS{idVendor}=="0e24"');
    expect(await rules()).toContain('ATTR{idVendor}=="0416"');
    expect(lines.join('\n')).not.toMatch(/--keypad .*reused/);

    // --keypad none: the config's keypads again (this one has none: no hidraw node at all)
    lines.length = 0;
    await install(given({ keypads: [] }), recordingRunner(), out);
    expect((await rules()).split('\n').filter((l) => l.startsWith('SUBSYSTEM=="hidraw"'))).toEqual([]);
    expect(lines).toContainEqual('--keypad 0e24:1a2c: cleared from /etc/beonho/usb-ids (--keypad none)');
    expect(await readFile(join(root, 'etc/beonho/usb-ids'), 'utf8')).not.toMatch(/^keypad/m);

    // nothing left to record: the file goes
    await install(given({ printers: [] }), recordingRunner(), out);
    expect(existsSync(join(root, 'etc/beonho/usb-ids'))).toBe(false);
    expect(await rules()).not.toContain('ATTR{idVendor}');
  });

  it('a dry run reads the record but writes and removes nothing', async () => {
    await install(given({ keypads: [KEYPAD] }), recordingRunner(), out);
    const before = await readFile(join(root, 'etc/beonho/usb-ids'), 'utf8');
    lines.length = 0;
    await install(given({ dryRun: true, keypads: [] }), recordingRunner(), out);
    expect(lines).toContainEqual(`would remove ${join(root, 'etc/beonho/usb-ids')}`);
    expect(await readFile(join(root, 'etc/beonho/usb-ids'), 'utf8')).toBe(before);
    lines.length = 0;
    await install(given({ dryRun: true, printers: [PRINTER] }), recordingRunner(), out);
    expect(lines).toContainEqual(expect.stringMatching(/^--keypad 1a2b:3c4d: reused/));
    expect(lines).toContainEqual(expect.stringMatching(/^would write .*etc\/beonho\/usb-ids \(\d+ bytes, mode 644\)$/));
    expect(await readFile(join(root, 'etc/beonho/usb-ids'), 'utf8')).toBe(before);
  });

  it('refuses a record it cannot read before it changes anything, unless both are given anew', async () => {
    await mkdir(join(root, 'etc/beonho'), { recursive: true });
    await writeFile(join(root, 'etc/beonho/usb-ids'), 'keypad 1a2b:3c4d\nkeypad 1a2b-3c4e\n');
    const err = await install(given({}), recordingRunner(), out).catch((e: DeployError) => e);
    expect((err as DeployError).code).toBe('deploy-usb-ids-damaged');
    expect((err as Error).message).toMatch(/^line 2 of \/etc\/beonho\/usb-ids .*nothing was changed$/);
    expect(existsSync(join(root, 'etc/systemd/system/beonho.service'))).toBe(false);
    // --printer alone still needs the keypads' line
    expect(
      await install(given({ printers: [] }), recordingRunner(), out).then(
        () => 'ok',
        (e) => e.code,
      ),
    ).toBe('deploy-usb-ids-damaged');
    await install(given({ keypads: [KEYPAD], printers: [] }), recordingRunner(), out);
    expect(await readFile(join(root, 'etc/beonho/usb-ids'), 'utf8')).toMatch(/^keypad 1a2b:3c4d$/m);
    expect(await readFile(join(root, 'etc/beonho/usb-ids'), 'utf8')).not.toContain('3c4e');
  });

  it('uninstall keeps it with the config and says so; --purge removes it', async () => {
    await install(given({ keypads: [KEYPAD] }), recordingRunner(), out);
    lines.length = 0;
    await uninstall({ root, purge: false }, recordingRunner(), out);
    expect(existsSync(join(root, 'etc/beonho/usb-ids'))).toBe(true);
    expect(lines).toContainEqual(expect.stringMatching(/^kept \/etc\/beonho\/usb-ids: a re-install/));
    await install(given({}), recordingRunner(), out);
    expect(await rules()).toContain('ATTRS{idVendor}=="1a2b"');
    await uninstall({ root, purge: true }, recordingRunner(), out);
    expect(existsSync(join(root, 'etc/beonho/usb-ids'))).toBe(false);
  });
});

describe('uninstall', () => {
  it('removes units and rules but keeps the config and the day unless --purge', async () => {
    await install(opts(), recordingRunner(), out);
    await writeFile(join(root, 'var/lib/beonho/journal.log'), 'the day');
    const runner = recordingRunner();
    await uninstall({ root, purge: false }, runner, out);
    expect(existsSync(join(root, 'etc/systemd/system/beonho.service'))).toBe(false);
    expect(existsSync(join(root, 'etc/systemd/system/beonho-recover.timer'))).toBe(false);
    expect(existsSync(join(root, 'etc/udev/rules.d/99-beonho.rules'))).toBe(false);
    expect(await readFile(join(root, 'var/lib/beonho/journal.log'), 'utf8')).toBe('the day');
    expect(existsSync(join(root, 'etc/beonho/config.yaml'))).toBe(true);
    expect(runner.commands.map(formatCommand)).toEqual([
      'systemctl disable --now beonho.service',
      'systemctl stop beonho-recover.timer',
      'systemctl daemon-reload',
      'udevadm control --reload-rules',
    ]);
    expect(lines.join('\n')).toMatch(/kept \/etc\/beonho and \/var\/lib\/beonho/);
  });

  it('refuses a host without a running systemd before removing anything', async () => {
    const bin = join(work, 'bin-none');
    await mkdir(bin);
    const host = { runDir: join(work, 'nope'), path: bin };
    const runner = recordingRunner();
    // on "/", with a recording runner: were the check skipped, only units this machine does not
    // have would be removed (no purge)
    const refused = await uninstall({ root: '/', purge: false, host }, runner, out).then(
      () => 'ok',
      (e: DeployError) => e.code,
    );
    expect(refused).toBe('deploy-no-systemd');
    expect(runner.commands).toEqual([]);
    expect(lines.join('\n')).not.toMatch(/remov/);
  });

  it('--purge removes the data, the config and the user', async () => {
    await install(opts(), recordingRunner(), out);
    await writeFile(join(root, 'etc/passwd'), 'beonho:x:998:998::/var/lib/beonho:/usr/sbin/nologin\n');
    const runner = recordingRunner();
    await uninstall({ root, purge: true }, runner, out);
    expect(existsSync(join(root, 'var/lib/beonho'))).toBe(false);
    expect(existsSync(join(root, 'etc/beonho'))).toBe(false);
    expect(runner.commands.map(formatCommand)).toContain('userdel beonho');
  });
});

describe('the config it installs', () => {
  it("passes on the YAML parser's warnings among its own, naming no value", async () => {
    await writeFile(join(work, 'office.yaml'), CONFIG.replace('name: 신곡2동', 'name: !foo 신곡2동'));
    const emitted = vi.spyOn(process, 'emitWarning');
    try {
      const r = await install(opts({ start: false }), recordingRunner(), out);
      expect(r.warnings).toContainEqual(
        expect.stringMatching(/^the config file: Unresolved tag: !foo at line 1, column \d+$/),
      );
      expect(r.warnings.join('\n')).not.toContain('신곡2동');
      // once, in the installer's list: not also as Node's multi-line warning on stderr
      expect(emitted.mock.calls.map(([w]) => String(w)).filter((w) => w.includes('!foo'))).toEqual([]);
    } finally {
      emitted.mockRestore();
    }
  });
});

describe('the config it installs, read for an office', () => {
  it('lists what a valid config likely gets wrong: another time zone, a service no counter serves', async () => {
    const config = CONFIG.replace('office: { id: singok2,', 'office: { id: singok2, timeZone: UTC,').replace(
      'counters:',
      '  - { id: passport, name: 여권, numbers: { from: 2001, to: 2999 } }\ncounters:',
    );
    await writeFile(join(work, 'office.yaml'), config);
    const r = await install(opts({ start: false }), recordingRunner(), out);
    expect(r.warnings).toContainEqual(expect.stringMatching(/^the config: office.timeZone "UTC" is UTC\+00:00/));
    expect(r.warnings).toContainEqual(
      expect.stringMatching(/^the config: service "passport" is in no counter's services/),
    );
    expect(r.warnings.join('\n')).not.toMatch(/"resident"/);
  });
});

describe('the command line', () => {
  /** `npm run install-service -- install --root <root> --app-dir APP --config office.yaml …` */
  const installCli = (...extra: string[]) =>
    promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        'deploy/install.ts',
        'install',
        ...extra,
        '--root',
        root,
        '--app-dir',
        APP,
        '--config',
        join(work, 'office.yaml'),
      ],
      { cwd: join(import.meta.dirname, '..') },
    );

  it('npm run install-service -- --root DIR prints the commands instead of running them', async () => {
    const r = await installCli('--keypad', '1a2b:3c4d');
    expect(r.stdout).toContain('would run: useradd --system');
    expect(r.stdout).toContain('would run: systemctl restart beonho.service');
    expect(r.stdout).toContain('the commands above were only printed');
    expect(r.stdout).not.toContain('npm run status');
    expect(await readFile(join(root, 'etc/udev/rules.d/99-beonho.rules'), 'utf8')).toContain('ATTRS{idVendor}=="1a2b"');
  });

  it('--dry-run says what it would write, and that nothing was written', async () => {
    const r = await installCli('--dry-run');
    expect(r.stdout).toMatch(/^would write \/etc\/systemd\/system\/beonho\.service, .* under /m);
    expect(r.stdout).toContain('nothing was written or run (--dry-run)');
    expect(r.stdout).not.toMatch(/^wrote /m);
    expect(r.stdout).not.toContain('npm run status');
    expect(existsSync(join(root, 'etc/systemd'))).toBe(false);
  });

  it('--app-dir through a symlink names the link in the unit: switching the link switches the release', async () => {
    // releases side by side, the service's path a link to one of them (docs/deploy.md, Upgrades)
    await rename(join(root, APP), join(root, `${APP}-0.1.0`));
    await symlink('beonho-0.1.0', join(root, APP));
    await installCli();
    const unit = await readFile(join(root, 'etc/systemd/system/beonho.service'), 'utf8');
    expect(unit).toMatch(/^WorkingDirectory=\/opt\/beonho$/m);
    expect(unit).not.toContain('beonho-0.1.0');
  });

  it('an install without --keypad reuses the recorded one and says so; none is given alone', async () => {
    await installCli('--keypad', '1a2b:3c4d');
    const r = await installCli();
    expect(r.stdout).toMatch(/^--keypad 1a2b:3c4d: reused from \/etc\/beonho\/usb-ids/m);
    expect(await readFile(join(root, 'etc/udev/rules.d/99-beonho.rules'), 'utf8')).toContain('ATTRS{idVendor}=="1a2b"');
    const mixed = await installCli('--keypad', 'none', '--keypad', '0e24:1a2c').then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(mixed.code).toBe(1);
    expect(mixed.stderr).toMatch(/^error deploy-bad-usb-id: --keypad none clears the recorded ids: give it alone/m);
    await installCli('--keypad', 'NONE');
    expect(existsSync(join(root, 'etc/beonho/usb-ids'))).toBe(false);
  });

  it("writes the unit for the image's systemd, read from it, and says so; a guess is a warning", async () => {
    // a trixie image: its libsystemd-shared under the CPU's triplet
    await mkdir(join(root, 'usr/lib/aarch64-linux-gnu/systemd'), { recursive: true });
    await writeFile(join(root, 'usr/lib/aarch64-linux-gnu/systemd/libsystemd-shared-257.so'), '');
    const trixie = await installCli();
    expect(trixie.stdout).toMatch(
      /^systemd 257 on the target \(\/usr\/lib\/aarch64-linux-gnu\/systemd\/libsystemd-shared-257\.so\)$/m,
    );
    expect(await readFile(join(root, 'etc/systemd/system/beonho.service'), 'utf8')).toMatch(/^RestartSteps=5$/m);
    // nothing to read: bookworm's 252 with a warning, and no setting 252 does not know
    await rm(join(root, 'usr/lib/aarch64-linux-gnu'), { recursive: true });
    const none = await installCli();
    expect(none.stdout).toMatch(
      /^warning: the target's systemd version is unknown \(.*\): the unit is written for 252/m,
    );
    expect(await readFile(join(root, 'etc/systemd/system/beonho.service'), 'utf8')).not.toMatch(/RestartSteps/);
    // told: taken as told, checked
    await installCli('--systemd-version', '257');
    expect(await readFile(join(root, 'etc/systemd/system/beonho.service'), 'utf8')).toMatch(/^RestartSteps=5$/m);
    const bad = await installCli('--systemd-version', 'trixie').then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--systemd-version.*a systemd version such as 252/);
  });

  it('exits 1 with the error code when the config is invalid', async () => {
    await writeFile(join(work, 'office.yaml'), 'nope: 1\n');
    const r = await installCli().then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error deploy-config-invalid/);
  });
});
