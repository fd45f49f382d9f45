// `sudo npm run install-service -- --config /etc/beonho/config.yaml` and `npm run uninstall-service`.
// See docs/deploy.md. Exit codes: 0 done, 1 refused or failed (the message says what to do).
import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command as Cli, InvalidArgumentError } from 'commander';
import { DeployError, install, uninstall } from './installer.ts';
import { CONFIG_FILE, targetPath } from './paths.ts';
import { dryRunner, execRunner, type Runner } from './runner.ts';
import { detectSystemdVersion } from './systemd-version.ts';
import { collectUsbIds } from './usb-ids.ts';

// dist/deploy/install.js in a release, deploy/install.ts in a checkout: the release is above dist/.
// A host path; with --root it is turned into the target's path (targetPath).
const here = dirname(fileURLToPath(import.meta.url));
const appDefault = resolve(here, basename(dirname(here)) === 'dist' ? '../..' : '..');
const out = (line: string): void => console.log(line);

/** Commands act on the host, so with another root they are printed, never run. */
function pickRunner(root: string, dryRun: boolean): Runner {
  if (dryRun || root !== '/') return dryRunner(out);
  if (process.getuid?.() !== 0) {
    throw new DeployError(
      'deploy-not-root',
      'installing a service needs root: run it with sudo (or add --dry-run to see what it would do)',
    );
  }
  return execRunner(out);
}

const cli = new Cli('beonho-install').description('install the beonho daemon as a systemd service');

cli
  .command('install')
  .option('--config <file>', "the office's config.yaml (copied to /etc/beonho/config.yaml)", CONFIG_FILE)
  .option('--root <dir>', 'install into this root instead of / (commands are then only printed)', '/')
  .option('--app-dir <dir>', 'the release to run, as a path of the target system (default: this release)')
  .option('--node <path>', 'node binary for ExecStart', process.execPath)
  .option(
    '--keypad <vid:pid>',
    "limit the hidraw rule to this keypad's USB id (repeat for more); kept in /etc/beonho/usb-ids and reused by a later install without --keypad; none: clear it",
    collectUsbIds('--keypad'),
  )
  .option(
    '--printer <vid:pid>',
    'give the service a libusb printer with this USB id (repeat for more); kept and reused as --keypad; none: clear it',
    collectUsbIds('--printer'),
  )
  .option(
    '--admin <user>',
    'add this account to the beonho group (default: the user who ran sudo)',
    process.env.SUDO_USER,
  )
  .option('--role <role>', 'main or satellite: refuse a config that says otherwise (default: what the config says)')
  .option(
    '--systemd-version <n>',
    "systemd version of the target (default: systemctl --version, or under --root the image's libsystemd-shared-<N>.so or dpkg status)",
    (v: string) => {
      if (!/^\d{3}$/.test(v))
        throw new InvalidArgumentError('a systemd version such as 252 (bookworm) or 257 (trixie)');
      return Number(v);
    },
  )
  .option('--no-start', 'write everything but do not enable or start the service')
  .option('--dry-run', 'print the commands instead of running them')
  .action(async (o, command: { getOptionValueSource(key: string): string | undefined }) => {
    const root = resolve(o.root);
    if (o.role !== undefined && o.role !== 'main' && o.role !== 'satellite')
      throw new DeployError('deploy-role-mismatch', `--role is main or satellite, got "${o.role}"`);
    const runner = pickRunner(root, Boolean(o.dryRun));
    let systemdVersion: number = o.systemdVersion;
    if (systemdVersion === undefined) {
      const found = detectSystemdVersion(root);
      systemdVersion = found.version;
      out(
        found.assumed
          ? `warning: the target's systemd version is unknown (${found.from}): the unit is written for ${found.version} (bookworm); give --systemd-version N if the target has another (257 for trixie)`
          : `systemd ${found.version} on the target (${found.from})`,
      );
    }
    const r = await install(
      {
        root,
        // a release unpacked inside the root is run from its place in the target, not from the
        // host's path (which underRoot would put under the root a second time)
        // as given: a path of the target, which must be absolute (deploy-app-dir), not one of here
        appDir: o.appDir === undefined ? targetPath(root, appDefault) : o.appDir,
        nodePath: o.node,
        configSource: resolve(o.config),
        systemdVersion,
        keypads: o.keypad,
        printers: o.printer,
        admin: o.admin,
        // the user who ran sudo, not named: may have no login in a --root image
        adminFromSudo: command.getOptionValueSource('admin') === 'default',
        start: o.start,
        dryRun: Boolean(o.dryRun),
        ...(o.role ? { role: o.role } : {}),
      },
      runner,
      out,
    );
    const files = `${r.files.join(', ')}${root === '/' ? '' : ` under ${root}`}`;
    if (o.dryRun) {
      out(`would write ${files}`);
      out('nothing was written or run (--dry-run): run it again without --dry-run to install');
    } else if (root !== '/') {
      out(`wrote ${files}`);
      out(`the commands above were only printed: run them on the system that boots from ${root}`);
    } else {
      out(`wrote ${files}`);
      out(
        o.start
          ? 'check it with: npm run status   and   journalctl -u beonho -f'
          : 'start it with: sudo systemctl enable --now beonho',
      );
    }
  });

cli
  .command('uninstall')
  .option('--root <dir>', 'uninstall from this root instead of /', '/')
  .option('--purge', 'also delete /etc/beonho, /var/lib/beonho (the day and the outbox) and the beonho user')
  .option('--dry-run', 'print the commands instead of running them')
  .action(async (o) => {
    const root = resolve(o.root);
    const r = await uninstall(
      { root, purge: Boolean(o.purge), dryRun: Boolean(o.dryRun) },
      pickRunner(root, Boolean(o.dryRun)),
      out,
    );
    out(`${o.dryRun ? 'would remove' : 'removed'} ${r.removed.join(', ')}`);
  });

try {
  await cli.parseAsync(process.argv);
} catch (err) {
  const code = (err as { code?: string }).code ?? 'deploy-failed';
  console.error(`error ${code}: ${(err as Error).message}`);
  process.exitCode = 1;
}
