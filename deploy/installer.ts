// Install and uninstall an office's service into a root directory: / on a device, a temporary
// directory in the tests. Files are written directly; everything that changes the running system
// (users, groups, ownership, udev, systemd) goes through the Runner.
import { constants } from 'node:fs';
import { access, chmod, lstat, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { configAdvice } from '../device/config/advice.ts';
import { ConfigError, loadConfig } from '../device/config/load.ts';
import type { Config } from '../device/config/schema.ts';
import type { DeployErrorCode } from '../device/error-codes.ts';
import {
  CONFIG_DIR,
  CONFIG_FILE,
  DATA_DIR,
  DROPPED_GROUPS,
  ENV_FILE,
  HARDWARE_GROUPS,
  RECOVER_SERVICE,
  RECOVER_TIMER,
  SERVICE_USER,
  UDEV_RULES_FILE,
  UNIT_DIR,
  UNIT_NAME,
  USB_IDS_FILE,
  underRoot,
} from './paths.ts';
import { boardVt, consoleBootSetup, gettyUnits, maskedVts } from './console-boot.ts';
import { writeDurably } from './durable-write.ts';
import { checkRelease } from './release-check.ts';
import type { Command, Runner } from './runner.ts';
import { type HidrawMatch, isVtName, parseUsbId, udevRules, type UsbId } from './udev.ts';
import { allUnits, type UnitOptions } from './unit.ts';
import { readUsbIdsRecord, resolveUsbIds, type UsbIds } from './usb-ids.ts';
import { redactUrl } from '../bridge/uplink/client-common.ts';

export class DeployError extends Error {
  constructor(
    readonly code: DeployErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface InstallOptions {
  root: string;
  /** the release to run: an unpacked release tarball (dist/ and node_modules) */
  appDir: string;
  nodePath: string;
  /** the office's config to install; may already be /etc/beonho/config.yaml */
  configSource: string;
  systemdVersion: number;
  /** --keypad: only these keypads' hidraw nodes; [] (--keypad none): the config's keypads;
   * undefined (not given): what an earlier install recorded in /etc/beonho/usb-ids */
  keypads?: UsbId[] | undefined;
  /** --printer: libusb printers given to the service; [] clears, undefined reuses, as keypads */
  printers?: UsbId[] | undefined;
  /** a person's account added to the beonho group so `npm run status` can read the status file */
  admin?: string;
  /** `admin` is the user who ran sudo, not a name given: when the target has no such login (an
   * image made under --root on another machine) it is skipped with a warning, not refused */
  adminFromSudo?: boolean;
  /** enable and (re)start the service at the end */
  start: boolean;
  /** the unit this is, checked against the config's `role` (`--role`); default: the config's */
  role?: 'main' | 'satellite';
  /** write no file: print what would be written (commands go to the Runner as always) */
  dryRun?: boolean;
  /** where the preflight looks for a running systemd (tests point it elsewhere) */
  host?: HostProbe;
  unit?: Partial<
    Pick<UnitOptions, 'watchdogSec' | 'restartSec' | 'startLimitBurst' | 'startLimitIntervalSec' | 'recoverAfterSec'>
  >;
}

export interface InstallResult {
  /** files written, as paths of the target system */
  files: string[];
  groups: string[];
  warnings: string[];
}

export async function install(o: InstallOptions, runner: Runner, out: (line: string) => void): Promise<InstallResult> {
  const warnings: string[] = [];
  // Everything that can refuse comes before the first change: a refusal leaves the system as it was.
  if (o.root === '/' && !o.dryRun) await checkSystemd(o.host ?? defaultHost());
  await checkApp(o.appDir, o.root);
  await checkDataDir(o.root);
  warnings.push(
    ...(await checkRelease({
      dir: underRoot(o.root, o.appDir),
      nodePath: o.nodePath,
      live: o.root === '/',
      ...(o.root === '/' ? {} : { root: o.root }),
    })),
  );
  const { text: configText, config, yamlWarnings } = await readConfig(o.configSource);
  warnings.push(...yamlWarnings.map((w) => `the config file: ${w}`));
  warnings.push(...configAdvice(config).map((a) => `the config: ${a}`));
  const envSet = await envFileVariables(underRoot(o.root, ENV_FILE));
  warnings.push(...checkRole(o, config, out, envSet));
  warnings.push(...uplinkPasswordNote(config, envSet));
  // read (and refused when unreadable) before the first change, like everything above
  const usbFile = underRoot(o.root, USB_IDS_FILE);
  const given = { keypads: o.keypads, printers: o.printers };
  const usb = resolveUsbIds(
    given,
    o.keypads !== undefined && o.printers !== undefined ? null : await readUsbIdsRecord(usbFile),
  );
  for (const note of usb.notes) out(note);

  const accounts = await readAccounts(o.root);
  // `usermod` for the admin runs after the units and the config are written: a misspelt name
  // would fail half-way through
  let admin = o.admin;
  if (admin && admin !== 'root' && !accounts.users.has(admin)) {
    if (!o.adminFromSudo) {
      throw new DeployError(
        'deploy-admin-unknown',
        `--admin ${admin}: no such user in ${underRoot(o.root, '/etc/passwd')}; give the login of the person who runs \`npm run status\`, or leave --admin out`,
      );
    }
    warnings.push(`${admin} (who ran sudo) has no login on the target: not added to the beonho group (--admin USER)`);
    admin = undefined;
  }
  const groups = HARDWARE_GROUPS.filter((g) => accounts.groups.has(g));
  const missing = HARDWARE_GROUPS.filter((g) => !accounts.groups.has(g));
  if (missing.length > 0) {
    warnings.push(`groups not on this system, skipped: ${missing.join(', ')} (normal off Raspberry Pi OS for gpio)`);
  }

  // the board's VT is the one tty the service may open: given to its group by a udev rule
  const vt = boardVt(configText);
  if (vt && !isVtName(vt)) {
    warnings.push(
      `outputs.board.vt ${vt} is not a virtual terminal (tty1 to tty63): no udev rule for it, the board keeps the text console (display-vt-permission)`,
    );
  }
  const keypads = configKeypads(config);
  if (usb.ids.keypads.length === 0 && keypads === 'all') {
    warnings.push(
      'hardware.keypads names a keypad by its path: every /dev/hidraw* node and every /dev/input/event* node (keyboards and mice too) go to group beonho; bind the keypads by usb, serial or port, or give --keypad VID:PID',
    );
  }
  const fsw = o.dryRun ? dryFs(out) : realFs;
  const files = await writeUnitsAndRules(o, fsw, {
    hasGpioGroup: accounts.groups.has('gpio'),
    vt: vt && isVtName(vt) ? vt : null,
    keypads,
    usb: usb.ids,
  });
  files.push(...(await writeConfig(o, fsw, configText, warnings)));
  // the ids for the next install (the upgrade's), in /etc/beonho beside the config
  if (usb.record !== null) {
    await fsw.write(usbFile, usb.record, 0o644);
    files.push(USB_IDS_FILE);
  } else if (await lstat(usbFile).catch(() => null)) {
    await fsw.remove(usbFile);
  }
  const envFile = await secureEnvFile(o, fsw, warnings);
  await fsw.mkdir(underRoot(o.root, DATA_DIR), 0o750);
  // the board's screen: kernel command line hints, no getty on its VT (console-boot.ts)
  const boot = await consoleBootSetup({ root: o.root, configText, dryRun: o.dryRun, out });
  files.push(...boot.files);
  warnings.push(...boot.warnings);

  // The getty mask comes last: run from a login on the board's VT, it ends that session, so by then
  // the service must be installed and running (docs/deploy.md, step 6).
  const dropGroups = (Object.keys(DROPPED_GROUPS) as Array<keyof typeof DROPPED_GROUPS>).filter((g) =>
    accounts.members.get(g)?.has(SERVICE_USER),
  );
  const sys = systemCommands({ ...o, admin }, { userExists: accounts.userExists, groups, dropGroups, vt, envFile });
  for (const c of [...sys, ...boot.commands]) await runner.run(c);
  for (const w of warnings) out(`warning: ${w}`);
  return { files, groups, warnings };
}

/** The target's groups (with their listed members) and whether the service user exists, from its
 * /etc/group and /etc/passwd. */
async function readAccounts(root: string): Promise<{
  groups: Set<string>;
  members: Map<string, Set<string>>;
  users: Set<string>;
  userExists: boolean;
}> {
  const passwd = await readLines(underRoot(root, '/etc/passwd'));
  const groupFile = await readLines(underRoot(root, '/etc/group'));
  const users = new Set(passwd.map((l) => l.split(':')[0] ?? ''));
  const members = new Map(
    groupFile.map((l) => {
      const f = l.split(':');
      return [f[0] ?? '', new Set((f[3] ?? '').split(',').filter(Boolean))] as const;
    }),
  );
  return { groups: new Set(members.keys()), members, users, userExists: users.has(SERVICE_USER) };
}

/** The systemd units and the udev rules; returns the files written, as paths of the target. */
async function writeUnitsAndRules(
  o: InstallOptions,
  fsw: FileWriter,
  target: { hasGpioGroup: boolean; vt: string | null; keypads: HidrawMatch[] | 'all'; usb: UsbIds },
): Promise<string[]> {
  const files: string[] = [];
  const put = async (path: string, text: string, mode: number): Promise<void> => {
    const real = underRoot(o.root, path);
    await fsw.mkdir(join(real, '..'));
    await fsw.write(real, text, mode);
    files.push(path);
  };
  const unitOpts: UnitOptions = { ...o.unit, appDir: o.appDir, nodePath: o.nodePath, systemdVersion: o.systemdVersion };
  for (const u of allUnits(unitOpts)) await put(`${UNIT_DIR}/${u.name}`, u.text, 0o644);
  const { hasGpioGroup, vt, keypads, usb } = target;
  const rules = udevRules({ keypads: usb.keypads, configKeypads: keypads, printers: usb.printers, hasGpioGroup, vt });
  await put(UDEV_RULES_FILE, rules, 0o644);
  return files;
}

/** The config's USB keypads as the udev rules can name them; 'all' when one is bound by its path
 * (/dev/hidrawN changes on a replug: no rule can follow it). */
function configKeypads(c: Config): HidrawMatch[] | 'all' {
  const k = c.hardware.keypads;
  if (k.driver !== 'hid') return [];
  const matches: HidrawMatch[] = [];
  for (const d of k.devices) {
    if (d.usb !== undefined) matches.push({ usb: parseUsbId(d.usb) });
    else if (d.serial !== undefined) matches.push({ serial: d.serial });
    else if (d.port !== undefined) matches.push({ port: d.port });
    else return 'all';
  }
  return matches;
}

/** /etc/beonho/config.yaml, keeping a different previous one as config.yaml.previous. */
async function writeConfig(
  o: InstallOptions,
  fsw: FileWriter,
  configText: string,
  warnings: string[],
): Promise<string[]> {
  // /etc/beonho: root owns it (the daemon must not rewrite its own config), the group reads it.
  await fsw.mkdir(underRoot(o.root, CONFIG_DIR), 0o750);
  const configTarget = underRoot(o.root, CONFIG_FILE);
  if (resolve(o.configSource) !== resolve(configTarget)) {
    const previous = await readFile(configTarget, 'utf8').catch(() => null);
    if (previous !== null && previous !== configText) {
      await fsw.write(`${configTarget}.previous`, previous, 0o640);
      warnings.push(`replaced ${CONFIG_FILE}; the old one is ${CONFIG_FILE}.previous`);
    }
  }
  await fsw.write(configTarget, configText, 0o640);
  return [CONFIG_FILE];
}

/** /etc/beonho/environment holds the secrets (the uplink's and a satellite's password, the ticket
 * secret). systemd reads it as root: nobody else needs it. One written by hand (`sudo tee`, the
 * default umask) is 0644, which the group beonho (every admin added for `npm run status`) could
 * read. Made root's, mode 0600; returns whether there is one to give to root. */
async function secureEnvFile(o: InstallOptions, fsw: FileWriter, warnings: string[]): Promise<boolean> {
  const real = underRoot(o.root, ENV_FILE);
  const st = await lstat(real).catch(() => null);
  if (st === null) return false;
  if (!st.isFile()) {
    warnings.push(`${ENV_FILE} is not a plain file (a link?): left as it is; make it a file of root's, mode 600`);
    return false;
  }
  if ((st.mode & 0o077) !== 0) {
    await fsw.chmod(real, 0o600);
    warnings.push(
      `${ENV_FILE} (the secrets) was mode ${(st.mode & 0o777).toString(8)}, readable beyond root: ${o.dryRun ? 'would be made' : 'now'} 600`,
    );
  }
  return true;
}

/** What changes the running system, in order: the user and its groups, ownership, udev, systemd. */
function systemCommands(
  o: InstallOptions,
  accounts: {
    userExists: boolean;
    groups: string[];
    dropGroups: Array<keyof typeof DROPPED_GROUPS>;
    vt: string | null;
    envFile: boolean;
  },
): Command[] {
  const { groups, vt } = accounts;
  const cmds: Command[] = [];
  if (!accounts.userExists) {
    cmds.push({
      cmd: 'useradd',
      args: [
        '--system',
        '--user-group',
        '--home-dir',
        DATA_DIR,
        '--no-create-home',
        '--shell',
        '/usr/sbin/nologin',
        SERVICE_USER,
      ],
      why: 'the service runs as its own system user, not root',
    });
  }
  if (groups.length > 0) {
    cmds.push({
      cmd: 'usermod',
      args: ['--append', '--groups', groups.join(','), SERVICE_USER],
      why: `device access: ${groups.join(', ')}`,
    });
  }
  for (const g of accounts.dropGroups) {
    cmds.push({
      cmd: 'gpasswd',
      args: ['--delete', SERVICE_USER, g],
      why: `an earlier install's ${g} group ${DROPPED_GROUPS[g]}`,
    });
  }
  if (o.admin && o.admin !== 'root') {
    cmds.push({
      cmd: 'usermod',
      args: ['--append', '--groups', SERVICE_USER, o.admin],
      why: `lets ${o.admin} run \`npm run status\``,
    });
  }
  cmds.push(
    {
      cmd: 'chown',
      // paths of the target: under --root these are printed to run on the system that boots from it
      args: [`root:${SERVICE_USER}`, CONFIG_DIR, CONFIG_FILE],
      why: 'config: root writes, the service reads',
    },
    ...(accounts.envFile
      ? [{ cmd: 'chown', args: ['root:root', ENV_FILE], why: 'the secrets: read by systemd as root, by nobody else' }]
      : []),
    // everything in it too: a start by hand as root (or a state copy put back) leaves root's files,
    // and systemd's StateDirectory= chown skips a tree whose top is already the service's
    // (--recursive does not follow links inside it: chown's default -P; the trailing slash follows
    // a data dir that is itself a link to its directory, which -P alone left root's)
    {
      cmd: 'chown',
      args: ['--recursive', `${SERVICE_USER}:${SERVICE_USER}`, `${DATA_DIR}/`],
      why: 'data dir: owned by the service, with everything in it',
    },
    { cmd: 'udevadm', args: ['control', '--reload-rules'], why: 'load the new udev rules', optional: true },
    {
      cmd: 'udevadm',
      args: [
        'trigger',
        '--subsystem-match=hidraw',
        '--subsystem-match=input',
        '--subsystem-match=usbmisc',
        '--subsystem-match=usb',
        '--subsystem-match=graphics',
        '--subsystem-match=gpio',
      ],
      why: 'apply them to devices already plugged in',
      optional: true,
    },
    ...(vt && isVtName(vt)
      ? [
          {
            cmd: 'udevadm',
            args: ['trigger', '--subsystem-match=tty', `--sysname-match=${vt}`],
            why: "apply them to the board's VT",
            optional: true,
          },
        ]
      : []),
    { cmd: 'systemctl', args: ['daemon-reload'], why: 'load the new units' },
  );
  if (o.start) {
    cmds.push(
      { cmd: 'systemctl', args: ['enable', UNIT_NAME], why: 'start at boot' },
      // restart, not start: a re-install after an upgrade must run the new release
      { cmd: 'systemctl', args: ['restart', UNIT_NAME], why: 'run it now' },
    );
  }
  return cmds;
}

export interface UninstallOptions {
  root: string;
  dryRun?: boolean;
  /** also remove /etc/beonho, /var/lib/beonho (the day's state and the outbox) and the user */
  purge: boolean;
  /** where to look for a running systemd (tests) */
  host?: HostProbe;
}

export async function uninstall(
  o: UninstallOptions,
  runner: Runner,
  out: (line: string) => void,
): Promise<{ removed: string[] }> {
  // it ends with systemctl too: without systemd it would remove the units and then fail
  if (o.root === '/' && !o.dryRun) await checkSystemd(o.host ?? defaultHost());
  const fsw = o.dryRun ? dryFs(out) : realFs;
  const removed: string[] = [];
  await runner.run({
    cmd: 'systemctl',
    args: ['disable', '--now', UNIT_NAME],
    why: 'stop it and do not start at boot',
    optional: true,
  });
  await runner.run({ cmd: 'systemctl', args: ['stop', RECOVER_TIMER], why: 'disarm the retry timer', optional: true });
  const generated = [
    `${UNIT_DIR}/${UNIT_NAME}`,
    `${UNIT_DIR}/${RECOVER_TIMER}`,
    `${UNIT_DIR}/${RECOVER_SERVICE}`,
    UDEV_RULES_FILE,
  ];
  for (const f of generated) {
    await fsw.remove(underRoot(o.root, f));
    removed.push(f);
  }
  await runner.run({ cmd: 'systemctl', args: ['daemon-reload'], why: 'forget the units' });
  await runner.run({
    cmd: 'udevadm',
    args: ['control', '--reload-rules'],
    why: 'forget the udev rules',
    optional: true,
  });
  // the login prompt comes back on the board's VT (the kernel command line hints stay: harmless),
  // and on one an earlier install masked for a board the config has since moved off
  const vt = await readFile(underRoot(o.root, CONFIG_FILE), 'utf8')
    .then(boardVt, () => null)
    .catch(() => null);
  for (const t of [...new Set([...(vt ? [vt] : []), ...(await maskedVts(o.root))])]) {
    await runner.run({
      cmd: 'systemctl',
      args: ['unmask', ...gettyUnits(t)],
      why: `login prompt on ${t} again`,
      optional: true,
    });
  }
  if (o.purge) {
    for (const d of [CONFIG_DIR, DATA_DIR]) {
      await fsw.remove(underRoot(o.root, d));
      removed.push(d);
    }
    const passwd = await readLines(underRoot(o.root, '/etc/passwd'));
    if (passwd.some((l) => l.split(':')[0] === SERVICE_USER)) {
      await runner.run({ cmd: 'userdel', args: [SERVICE_USER], why: 'remove the service user' });
    }
  } else {
    out(`kept ${CONFIG_DIR} and ${DATA_DIR} (the config and the day's state); --purge removes them and the user`);
    if (await lstat(underRoot(o.root, USB_IDS_FILE)).catch(() => null))
      out(
        `kept ${USB_IDS_FILE}: a re-install gives the service the same --keypad and --printer ids unless given others (or none)`,
      );
  }
  return { removed };
}

/** Where a running systemd shows: its runtime directory, and systemctl on the PATH. */
export interface HostProbe {
  /** sd_booted()'s test: the directory exists only when systemd is PID 1 */
  runDir: string;
  /** the PATH searched for systemctl */
  path: string;
}

function defaultHost(): HostProbe {
  return { runDir: '/run/systemd/system', path: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' };
}

/** The install ends with systemctl; a host without a running systemd (a container, a chroot, a
 * non-systemd distribution) would be left with the user and the files but no service. */
export async function checkSystemd(host: HostProbe): Promise<void> {
  const onPath = async (cmd: string): Promise<boolean> => {
    for (const dir of host.path.split(delimiter).filter(Boolean)) {
      if (
        await access(join(dir, cmd), constants.X_OK).then(
          () => true,
          () => false,
        )
      )
        return true;
    }
    return false;
  };
  const why = !(await onPath('systemctl'))
    ? 'no systemctl on the PATH'
    : !(await isDirectory(host.runDir))
      ? `systemd is not running (no ${host.runDir})`
      : null;
  if (why) {
    throw new DeployError(
      'deploy-no-systemd',
      `${why}: the service needs a system booted with systemd (Raspberry Pi OS is); nothing was changed. --dry-run shows what would be done, --root DIR works on a mounted image`,
    );
  }
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

async function checkApp(appDir: string, root: string): Promise<void> {
  if (!isAbsolute(appDir))
    throw new DeployError('deploy-app-dir', `the release path must be absolute, got "${appDir}"`);
  // ProtectHome=yes hides /home and /root from the service (and bookworm's home dirs are 0700).
  if (/^\/(home|root)(\/|$)/.test(appDir)) {
    throw new DeployError(
      'deploy-app-in-home',
      `the release is in ${appDir}, which the sandboxed service cannot read: copy it to /opt/beonho and run the installer there (docs/deploy.md, step 4)`,
    );
  }
  // The unit runs the compiled daemon with plain node: a release has dist/ and node_modules.
  const here = underRoot(root, appDir);
  for (const part of ['dist/device/main.js', 'node_modules/commander/package.json']) {
    try {
      await stat(join(here, part));
    } catch {
      throw new DeployError(
        'deploy-app-incomplete',
        `${appDir}${here === appDir ? '' : ` (${here} on this machine)`} has no ${part.split('/')[0]}/: unpack a release tarball there (npm run release), or in a checkout run \`npm ci && npm run build\``,
      );
    }
  }
}

/** A data dir already there must be a directory (a mount point, or a link to one): a file in its
 * place stopped the install half-way (its mkdir, after the units and the config were written). */
async function checkDataDir(root: string): Promise<void> {
  const path = underRoot(root, DATA_DIR);
  const st = await stat(path).catch(() => null);
  const there = st !== null || (await lstat(path).catch(() => null)) !== null;
  if (there && !st?.isDirectory()) {
    throw new DeployError(
      'deploy-data-dir',
      `${DATA_DIR} is not a directory: move it away (sudo mv ${DATA_DIR} ${DATA_DIR}.moved) and run the installer again; nothing was changed`,
    );
  }
}

/** The config's text (copied as it is), its validated form and the YAML parser's warnings.
 * Validated by the daemon's own loader, so the installer lists the same problems, in the same
 * words, as the daemon would at start. */
async function readConfig(path: string): Promise<{ text: string; config: Config; yamlWarnings: string[] }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new DeployError(
      'deploy-config-missing',
      `no config at ${path}: write the office's config.yaml first (docs/deploy.md, step 5)`,
    );
  }
  try {
    const loaded = await loadConfig(path);
    return { text, config: loaded.config, yamlWarnings: loaded.warnings };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new DeployError('deploy-config-invalid', `${err.message}\nnothing was changed: fix these and run it again`);
  }
}

/** A satellite is installed from the same release and unit as a main unit; only its config says
 * which it is. `--role` makes the person's intent explicit: a main unit's config given to a
 * satellite (or the reverse) is refused before anything is written. */
function checkRole(o: InstallOptions, c: Config, out: (line: string) => void, envSet: ReadonlySet<string>): string[] {
  if (o.role && o.role !== c.role) {
    throw new DeployError(
      'deploy-role-mismatch',
      `--role ${o.role}, but ${o.configSource} says role: ${c.role}: give the ${o.role} unit's config, or leave out --role`,
    );
  }
  if (c.role !== 'satellite' || !c.satellite) return [];
  const main = c.satellite.main;
  out(`installing satellite ${c.device.id} of the main unit at ${redactUrl(main.url)}`);
  const warnings: string[] = [];
  if (main.passwordEnv && !envSet.has(main.passwordEnv))
    warnings.push(
      `the satellite's password comes from ${main.passwordEnv}: put ${main.passwordEnv}=... in ${ENV_FILE} (mode 600)`,
    );
  else if (main.password === undefined)
    warnings.push('satellite.main has no password: the main unit refuses logins without one');
  return warnings;
}

/** The installer writes the unit that reads the environment file, not the secret in it: an uplink
 * whose password variable is not there retries central for ever (uplink-password-env-missing in
 * the log only), as a satellite's would. Said at install, as for a satellite. */
function uplinkPasswordNote(c: Config, envSet: ReadonlySet<string>): string[] {
  const up = c.mqtt.uplink;
  if (!up?.enabled || !up.passwordEnv || envSet.has(up.passwordEnv)) return [];
  return [`the uplink's password comes from ${up.passwordEnv}: put ${up.passwordEnv}=... in ${ENV_FILE} (mode 600)`];
}

/** The variables the environment file gives a value (`NAME=value`, systemd's EnvironmentFile
 * syntax: blank and `#` lines skipped, an optional `export`): a password already there needs no
 * reminder at every install of 15 offices. Empty when there is no file or it cannot be read. */
async function envFileVariables(path: string): Promise<Set<string>> {
  const set = new Set<string>();
  for (const line of await readLines(path)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(\S.*)?$/.exec(line);
    if (!m) continue;
    // the last assignment counts, as for systemd: one that empties it takes the value away
    if (m[2] && !/^(""|'')$/.test(m[2].trim())) set.add(m[1]!);
    else set.delete(m[1]!);
  }
  return set;
}

async function readLines(path: string): Promise<string[]> {
  try {
    return (await readFile(path, 'utf8')).split('\n').filter((l) => l.length > 0);
  } catch {
    return [];
  }
}

interface FileWriter {
  mkdir(path: string, mode?: number): Promise<void>;
  chmod(path: string, mode: number): Promise<void>;
  write(path: string, text: string, mode: number): Promise<void>;
  remove(path: string): Promise<void>;
}

const realFs: FileWriter = {
  async mkdir(path, mode) {
    await mkdir(path, { recursive: true });
    if (mode !== undefined) await chmod(path, mode);
  },
  async chmod(path, mode) {
    await chmod(path, mode);
  },
  async write(path, text, mode) {
    // A file an admin made a link (a config kept elsewhere) is written where the link points, as
    // before.
    if ((await lstat(path).catch(() => null))?.isSymbolicLink()) {
      await writeFile(path, text);
      await chmod(path, mode);
      return;
    }
    // The old file or the new one after a power cut mid-install, never half of one (a unit or a
    // config cut short stopped the service at the next boot).
    await writeDurably(path, text, mode);
  },
  async remove(path) {
    await rm(path, { recursive: true, force: true });
  },
};

function dryFs(out: (line: string) => void): FileWriter {
  return {
    async mkdir(path, mode) {
      if (mode !== undefined) out(`would create ${path}/ (mode ${mode.toString(8)})`);
    },
    async chmod(path, mode) {
      out(`would chmod ${mode.toString(8)} ${path}`);
    },
    async write(path, text, mode) {
      out(`would write ${path} (${Buffer.byteLength(text)} bytes, mode ${mode.toString(8)})`);
    },
    async remove(path) {
      out(`would remove ${path}`);
    },
  };
}
