// The installer changes the system (users, udev, systemd) only through a Runner, so a test collects
// the commands instead of running them and `--dry-run` prints them.
import { execFile } from 'node:child_process';

export interface Command {
  cmd: string;
  args: string[];
  /** why the installer runs it, printed beside it */
  why: string;
  /** a failure is reported and the install goes on (e.g. udevadm in a container) */
  optional?: boolean;
}

export interface Runner {
  run(c: Command): Promise<void>;
}

export function formatCommand(c: Command): string {
  return [c.cmd, ...c.args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** Keeps the commands for a test to check. */
export function recordingRunner(): Runner & { commands: Command[] } {
  const commands: Command[] = [];
  return {
    commands,
    async run(c) {
      commands.push(c);
    },
  };
}

/** Prints what would run. */
export function dryRunner(out: (line: string) => void): Runner {
  return {
    async run(c) {
      out(`would run: ${formatCommand(c)}    # ${c.why}`);
    },
  };
}

export class CommandError extends Error {
  readonly code = 'deploy-command-failed';
  constructor(
    readonly command: Command,
    readonly detail: string,
  ) {
    super(`\`${formatCommand(command)}\` failed (${command.why}): ${detail}`);
  }
}

/** Runs the commands for real, one after the other. */
export function execRunner(out: (line: string) => void, timeoutMs = 120_000): Runner {
  return {
    run(c) {
      out(`run: ${formatCommand(c)}`);
      return new Promise((resolve, reject) => {
        execFile(c.cmd, c.args, { timeout: timeoutMs }, (err, _stdout, stderr) => {
          if (!err) return resolve();
          const detail = stderr.trim() || err.message;
          if (c.optional) {
            out(`  (ignored: ${detail})`);
            return resolve();
          }
          reject(new CommandError(c, detail));
        });
      });
    },
  };
}
