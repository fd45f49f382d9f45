// The installer sets what the board's screen needs at boot: kernel command line hints and no
// getty on the board's VT (deploy/console-boot.ts). Into a temporary root; commands are collected.
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CONSOLE_CMDLINE, withConsoleHints } from '../deploy/console-boot.ts';
import { type InstallOptions, install, uninstall } from '../deploy/installer.ts';
import { formatCommand, recordingRunner } from '../deploy/runner.ts';

const OFFICE = `office: { id: singok2, name: 신곡2동 행정복지센터 }
services:
  - { id: resident, name: 주민등록, numbers: { from: 1001, to: 1999 } }
counters:
  - { id: "1", name: 1번 창구, services: [resident] }
`;
const BOARD = `${OFFICE}outputs:\n  board: { driver: framebuffer }\n`;
// Raspberry Pi OS Lite (bookworm) as Imager writes it
const PI_CMDLINE =
  'console=serial0,115200 console=tty1 root=PARTUUID=4e639091-02 rootfstype=ext4 fsck.repair=yes rootwait cfg80211.ieee80211_regdom=KR\n';

let root: string;
let work: string;
const lines: string[] = [];
const out = (l: string): void => {
  lines.push(l);
};

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'beonho-boot-'));
  work = await mkdtemp(join(tmpdir(), 'beonho-boot-work-'));
  lines.length = 0;
  await mkdir(join(root, 'etc'), { recursive: true });
  await writeFile(join(root, 'etc/group'), 'root:x:0:\ntty:x:5:\nvideo:x:44:\ninput:x:105:\n');
  await writeFile(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\n');
  await mkdir(join(root, 'opt/beonho/node_modules/commander'), { recursive: true });
  await writeFile(join(root, 'opt/beonho/node_modules/commander/package.json'), '{}');
  await mkdir(join(root, 'opt/beonho/dist/device'), { recursive: true });
  await writeFile(join(root, 'opt/beonho/dist/device/main.js'), '');
  await mkdir(join(root, 'boot/firmware'), { recursive: true });
  await writeFile(join(root, 'boot/firmware/cmdline.txt'), PI_CMDLINE);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

async function opts(config: string, over: Partial<InstallOptions> = {}): Promise<InstallOptions> {
  await writeFile(join(work, 'office.yaml'), config);
  return {
    root,
    appDir: '/opt/beonho',
    nodePath: '/usr/bin/node',
    configSource: join(work, 'office.yaml'),
    systemdVersion: 252,
    keypads: [],
    printers: [],
    start: true,
    ...over,
  };
}

describe('kernel command line hints', () => {
  it('are added at the end of the one line, everything else kept; a second pass changes nothing', () => {
    const once = withConsoleHints(PI_CMDLINE);
    expect(once).toBe(`${PI_CMDLINE.trim()} consoleblank=0 vt.global_cursor_default=0 logo.nologo\n`);
    expect(withConsoleHints(once)).toBe(once);
    expect(once.split('\n')).toHaveLength(2); // one line and its newline
  });

  it('replace a different value of the same setting', () => {
    expect(withConsoleHints('root=/dev/mmcblk0p2 consoleblank=600 rootwait')).toBe(
      'root=/dev/mmcblk0p2 consoleblank=0 rootwait vt.global_cursor_default=0 logo.nologo\n',
    );
  });
});

describe('install for a board on the framebuffer', () => {
  it('writes the hints (keeping the original), masks the getty of tty1, says to reboot', async () => {
    const runner = recordingRunner();
    const r = await install(await opts(BOARD), runner, out);
    const cmdline = await readFile(join(root, 'boot/firmware/cmdline.txt'), 'utf8');
    for (const hint of CONSOLE_CMDLINE) expect(cmdline).toContain(` ${hint}`);
    expect(await readFile(join(root, 'boot/firmware/cmdline.txt.beonho-previous'), 'utf8')).toBe(PI_CMDLINE);
    expect(r.files).toContain('/boot/firmware/cmdline.txt');
    expect(r.warnings.some((w) => /reboot once/.test(w))).toBe(true);
    // last, after the restart: run from a login on tty1 it ends that session (docs/deploy.md, step 6)
    expect(runner.commands.map(formatCommand).slice(-2)).toEqual([
      'systemctl restart beonho.service',
      'systemctl mask --now getty@tty1.service autovt@tty1.service',
    ]);
    expect(r.groups).toEqual(expect.arrayContaining(['video']));
    expect(r.groups).not.toContain('tty');
    expect(r.groups).not.toContain('input');

    // again: nothing more to add, and the original stays the one kept
    const again = await install(await opts(BOARD), recordingRunner(), out);
    expect(again.files).not.toContain('/boot/firmware/cmdline.txt');
    expect(await readFile(join(root, 'boot/firmware/cmdline.txt.beonho-previous'), 'utf8')).toBe(PI_CMDLINE);

    const un = recordingRunner();
    await uninstall({ root, purge: false }, un, out);
    expect(un.commands.map(formatCommand)).toContain('systemctl unmask getty@tty1.service autovt@tty1.service');
  });

  it('uninstall unmasks a VT an earlier install masked, after the board moved off it', async () => {
    // as `systemctl mask` left it, then the config changed to a board without a framebuffer
    await mkdir(join(root, 'etc/systemd/system'), { recursive: true });
    await symlink('/dev/null', join(root, 'etc/systemd/system/getty@tty1.service'));
    await symlink('/dev/null', join(root, 'etc/systemd/system/autovt@tty1.service'));
    await install(await opts(OFFICE), recordingRunner(), out);
    const un = recordingRunner();
    await uninstall({ root, purge: false }, un, out);
    expect(un.commands.map(formatCommand).filter((c) => c.includes('unmask'))).toEqual([
      'systemctl unmask getty@tty1.service autovt@tty1.service',
    ]);
  });

  it('a dry run only says what it would write', async () => {
    await install(await opts(BOARD, { dryRun: true }), recordingRunner(), out);
    expect(await readFile(join(root, 'boot/firmware/cmdline.txt'), 'utf8')).toBe(PI_CMDLINE);
    expect(
      lines.some((l) => l.startsWith('would write') && l.includes('cmdline.txt') && l.includes('logo.nologo')),
    ).toBe(true);
  });

  it('the board on another VT masks that one; a machine without cmdline.txt gets the hints to add by hand', async () => {
    await rm(join(root, 'boot'), { recursive: true });
    const runner = recordingRunner();
    const r = await install(
      await opts(`${OFFICE}outputs:\n  board: { driver: framebuffer, vt: /dev/tty7 }\n`),
      runner,
      out,
    );
    expect(runner.commands.map(formatCommand)).toContain('systemctl mask --now getty@tty7.service autovt@tty7.service');
    expect(r.warnings.some((w) => w.includes('consoleblank=0 vt.global_cursor_default=0 logo.nologo'))).toBe(true);
  });
});

describe('install for the simulator board', () => {
  it('leaves the kernel command line and the gettys alone', async () => {
    const runner = recordingRunner();
    await install(await opts(OFFICE), runner, out);
    expect(await readFile(join(root, 'boot/firmware/cmdline.txt'), 'utf8')).toBe(PI_CMDLINE);
    expect(runner.commands.map(formatCommand).some((c) => c.includes('getty'))).toBe(false);
  });
});
