// Where an installed office keeps its things. Fixed on purpose: the unit's sandbox (ReadWritePaths,
// StateDirectory), the status command and docs/deploy.md all name these paths.
import { isAbsolute, join, relative, sep } from 'node:path';

export const SERVICE_USER = 'beonho';
export const UNIT_NAME = 'beonho.service';
export const RECOVER_TIMER = 'beonho-recover.timer';
export const RECOVER_SERVICE = 'beonho-recover.service';

export const CONFIG_DIR = '/etc/beonho';
export const CONFIG_FILE = '/etc/beonho/config.yaml';
/** optional KEY=value lines for the service's environment (secrets); read by systemd as root */
export const ENV_FILE = '/etc/beonho/environment';
/** the USB ids the installer was last given (--keypad, --printer): an install without them reuses
 * them (deploy/usb-ids.ts). The installer's own file: it writes and removes it. */
export const USB_IDS_FILE = '/etc/beonho/usb-ids';
export const DATA_DIR = '/var/lib/beonho';
/** tmpfs: the daemon's status file lives here so writing it every 30 s costs the SD card nothing */
export const RUNTIME_DIR = '/run/beonho';
export const UNIT_DIR = '/etc/systemd/system';
export const UDEV_RULES_FILE = '/etc/udev/rules.d/99-beonho.rules';

/** Groups the hardware needs; the ones a system lacks (gpio off Raspberry Pi OS) are skipped.
 * Not `tty`: it opens every VT and terminal (and reads every console's screen through /dev/vcs*);
 * the board's one VT is given to the service's group by the udev rules (deploy/udev.ts) instead.
 * Not `input`: it reads every keyboard and mouse (an admin's password typed at the console too);
 * the keypads' own evdev nodes, grabbed so their keys skip the console, get a udev rule likewise. */
export const HARDWARE_GROUPS = ['gpio', 'plugdev', 'lp', 'audio', 'video', 'dialout'] as const;
/** Groups an earlier release's installer added and this one takes the service user out of, and why. */
export const DROPPED_GROUPS = {
  tty: "opened every VT and terminal; the board's VT comes from the udev rules now",
  input: "read every keyboard and mouse; the keypads' input nodes come from the udev rules now",
} as const;

/** A path of the target system, placed under the install root (`--root`, / on a real device). */
export function underRoot(root: string, path: string): string {
  return root === '/' ? path : join(root, path);
}

/** The target's path of a host path that lies under the install root, e.g. /opt/beonho for
 * /tmp/img/opt/beonho with root /tmp/img; a host path outside the root is kept as it is. */
export function targetPath(root: string, hostPath: string): string {
  if (root === '/') return hostPath;
  const rel = relative(root, hostPath);
  if (rel === '') return '/';
  if (rel.startsWith('..') || isAbsolute(rel)) return hostPath;
  return `/${rel.split(sep).join('/')}`;
}
