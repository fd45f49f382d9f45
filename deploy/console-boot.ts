// What must be set at boot for the number board to own its screen (docs/display.md, "The console").
// While it runs, the daemon keeps the board's virtual terminal in graphics mode; before it starts
// and after it stops the text console has the screen, so:
// - the kernel command line gets `consoleblank=0` (a text console that blanked the HDMI output
//   before the daemon started would stay dark: entering graphics mode keeps the blank state),
//   `vt.global_cursor_default=0` (no blinking cursor at boot) and `logo.nologo` (no logo);
// - no login prompt on that VT: getty@ttyN (and autovt@ttyN, which logind starts on a switch to
//   it) are masked, so nobody's shell runs where the board is shown.
// Only for a board on a framebuffer with a VT (outputs.board.driver framebuffer, vt not "none").
import { readdir, readFile, readlink, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { configSchema } from '../device/config/schema.ts';
import { writeDurably } from './durable-write.ts';
import { underRoot } from './paths.ts';
import type { Command } from './runner.ts';

export const CONSOLE_CMDLINE = ['consoleblank=0', 'vt.global_cursor_default=0', 'logo.nologo'] as const;
/** Raspberry Pi OS since bookworm; older ones keep it in /boot */
export const CMDLINE_FILES = ['/boot/firmware/cmdline.txt', '/boot/cmdline.txt'] as const;

/** The VT the board is shown on, e.g. "tty1", or null when the board owns none. */
export function boardVt(configText: string): string | null {
  // the installer has validated this text and passed on the parser's warnings already: not again,
  // as Node's multi-line warning on stderr
  const board = configSchema.parse(parseYaml(configText, { logLevel: 'error' })).outputs.board;
  if (board.driver !== 'framebuffer' || board.vt === 'none') return null;
  return basename(board.vt);
}

/** The command line with the console hints added where missing; everything else kept as it was. */
export function withConsoleHints(cmdline: string): string {
  const tokens = cmdline.trim().split(/\s+/).filter(Boolean);
  const key = (t: string): string => t.split('=')[0]!;
  for (const hint of CONSOLE_CMDLINE) {
    // consoleblank=600 set by someone else must become 0, not stay beside it
    const at = tokens.findIndex((t) => key(t) === key(hint));
    if (at >= 0) tokens[at] = hint;
    else tokens.push(hint);
  }
  // the firmware reads one line: a second one would be ignored, or break the boot
  return `${tokens.join(' ')}\n`;
}

/** The VTs whose login prompt is masked on the target (getty@ttyN linked to /dev/null in
 * /etc/systemd/system, as `systemctl mask` leaves it): an earlier install may have masked one for a
 * board the config has since moved off (uninstall unmasks them all, not only the config's). */
export async function maskedVts(root: string): Promise<string[]> {
  const dir = underRoot(root, '/etc/systemd/system');
  const names = await readdir(dir).catch(() => [] as string[]);
  const vts: string[] = [];
  for (const name of names) {
    const m = /^getty@(tty\d+)\.service$/.exec(name);
    if (m && (await readlink(join(dir, name)).catch(() => '')) === '/dev/null') vts.push(m[1]!);
  }
  return vts.sort();
}

export function gettyUnits(vt: string): string[] {
  return [`getty@${vt}.service`, `autovt@${vt}.service`];
}

export interface ConsoleBootOptions {
  root: string;
  configText: string;
  dryRun?: boolean;
  out: (line: string) => void;
}

export interface ConsoleBootResult {
  /** files written, as paths of the target */
  files: string[];
  commands: Command[];
  warnings: string[];
}

export async function consoleBootSetup(o: ConsoleBootOptions): Promise<ConsoleBootResult> {
  const vt = boardVt(o.configText);
  if (!vt) return { files: [], commands: [], warnings: [] };
  const result: ConsoleBootResult = {
    files: [],
    commands: [
      {
        cmd: 'systemctl',
        args: ['mask', '--now', ...gettyUnits(vt)],
        why: `no login prompt on ${vt}, the board's screen (unmasked again by uninstall)`,
        optional: true,
      },
    ],
    warnings: [],
  };
  const file = await firstExisting(o.root, CMDLINE_FILES);
  if (!file) {
    result.warnings.push(
      `no ${CMDLINE_FILES.join(' or ')}: add "${CONSOLE_CMDLINE.join(' ')}" to the kernel command line by hand`,
    );
    return result;
  }
  const real = underRoot(o.root, file);
  const before = await readFile(real, 'utf8');
  const after = withConsoleHints(before);
  if (after.trim() === before.trim()) return result;
  if (o.dryRun) {
    o.out(`would write ${real}: ${after.trim()}`);
  } else {
    // A broken cmdline.txt is a Pi that no longer boots: keep the original, replace atomically.
    const previous = `${real}.beonho-previous`;
    if (!(await exists(previous))) await writeDurably(previous, before);
    await writeDurably(real, after);
  }
  result.files.push(file);
  result.warnings.push(`added "${CONSOLE_CMDLINE.join(' ')}" to ${file}: reboot once for it to take effect`);
  return result;
}

async function firstExisting(root: string, paths: readonly string[]): Promise<string | null> {
  for (const p of paths) if (await exists(underRoot(root, p))) return p;
  return null;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
