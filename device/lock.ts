// One daemon per data dir. A pid file created with O_EXCL; a stale one (its process is gone, e.g.
// after a power cut) is taken over. Not proper-lockfile: it keeps a lock fresh by rewriting its
// mtime every few seconds, which is needless SD-card wear for a single host.
//
// A pid alone does not name a process for long: after a power cut the file names a pid of the
// boot before, which this boot may have given to any other process, and taking that for a running
// beonho kept the office down for good (exit 2: systemd does not restart). So the file also holds
// the kernel's boot id and the process's start time, and a pid file whose process is not that one
// is stale.
import { readFileSync, statSync } from 'node:fs';
import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { userInfo } from 'node:os';
import * as path from 'node:path';
import type { Logger } from 'pino';

export class LockedError extends Error {
  readonly code = 'data-dir-locked';
}

/** The data dir cannot be created or written: a restart cannot fix that, a person must. */
export class DataDirError extends Error {
  readonly code = 'data-dir-unusable';
}

export interface ClaimOptions {
  /** Told when the card is full (`data-dir-full`): the lock is then held by an empty pid file (a
   * new file takes no data block, its pid does), which another beonho would take for a stale one.
   * The daemon still starts: its journal keeps room for tickets made in advance (docs/store.md). */
  logger?: Pick<Logger, 'warn'>;
}

/** Creates the data dir if it is missing and takes its lock; the release function gives it back. */
export async function claimDataDir(dataDir: string, opts: ClaimOptions = {}): Promise<() => Promise<void>> {
  try {
    await mkdir(dataDir, { recursive: true });
  } catch (err) {
    throw dataDirProblem(err, dataDir);
  }
  return acquireLock(dataDir, opts);
}

async function acquireLock(dataDir: string, opts: ClaimOptions): Promise<() => Promise<void>> {
  const file = path.join(dataDir, 'beonho.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(file, 'wx');
      const me = processIdentity(process.pid);
      try {
        await fh.writeFile(`${process.pid}\n${me ? `${me}\n` : ''}`);
        await fh.sync();
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') {
          await fh.close();
          await unlink(file).catch(() => undefined);
          throw err;
        }
        opts.logger?.warn(
          { code: 'data-dir-full', reason: (err as Error).message },
          'the card is full: the lock file holds no pid, the office starts; free room on the card',
        );
      }
      await fh.close();
      return async () => {
        await unlink(file).catch(() => undefined);
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw dataDirProblem(err, dataDir);
      const pid = await lockHolder(dataDir);
      if (pid !== null) throw new LockedError(lockedMessage(pid, dataDir));
      // A stale pid file in a directory we may not write would otherwise end as "could not take
      // the lock", which hides the reason.
      await unlink(file).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw dataDirProblem(e, dataDir);
      });
    }
  }
  throw new LockedError(`could not take the lock ${file}`);
}

/** The pid of another process that holds the data dir's lock, or null (none, or a stale file). */
export async function lockHolder(dataDir: string): Promise<number | null> {
  const text = await readFile(path.join(dataDir, 'beonho.pid'), 'utf8').catch(() => '');
  const [first = '', identity = ''] = text.split('\n');
  const pid = Number.parseInt(first.trim(), 10);
  return Number.isInteger(pid) && pid > 0 && pid !== process.pid && holder(pid, identity.trim()) ? pid : null;
}

export function lockedMessage(pid: number, dataDir: string): string {
  return `another beonho (pid ${pid}) is already running on ${dataDir}; stop it first, or give this one another --data-dir`;
}

/**
 * The error a person can act on for a file-system error on the data dir, or `err` itself when the
 * error is one a restart may cure (a full disk can be emptied by log rotation, say).
 */
export function dataDirProblem(err: unknown, dataDir: string): unknown {
  const e = err as NodeJS.ErrnoException;
  const dir = path.resolve(dataDir);
  const where = e.path && path.resolve(e.path) !== dir ? ` (${e.code} on ${e.path})` : ` (${e.code})`;
  const instead = 'or start beonho with another --data-dir';
  switch (e.code) {
    case 'EACCES':
    case 'EPERM': {
      const user = userName() ?? '<user>';
      return new DataDirError(
        e.syscall === 'mkdir'
          ? `the data dir ${dir} cannot be created by ${whoAmI()}${where}: create it for that user (sudo install -d -o ${user} ${dir}), ${instead}`
          : `the data dir ${dir} is not writable by ${whoAmI()}${where}: give that user a directory it can write (sudo chown -R ${user} ${dir}), ${instead}`,
      );
    }
    case 'EEXIST':
      return new DataDirError(`the data dir ${dir} is a file, not a directory${where}: move the file away, ${instead}`);
    case 'ENOTDIR':
      return new DataDirError(
        `the data dir ${dir} cannot be created: ${fileInPath(dir) ?? 'a part of its path'} is a file, not a directory (${e.code}): move it away, ${instead}`,
      );
    case 'EROFS':
      return new DataDirError(
        `the data dir ${dir} is on a read-only file system${where}: if it was writable before, the kernel remounted it read-only after a write error (\`dmesg | grep -i -e error -e remount\`): check the card (fsck, or replace it: it may be failing) and reboot; on a read-only root, mount a writable partition there (docs/deploy.md, "Read-only root"); ${instead}`,
      );
    default:
      return err;
  }
}

/**
 * A file inside the data dir that cannot be opened for writing (the daemon was once started by
 * root, say, and left root's files behind): the same person's problem as the directory itself.
 */
export function unwritableInDataDir(err: unknown, dataDir: string): unknown {
  const e = err as NodeJS.ErrnoException;
  if (!(e.code === 'EACCES' || e.code === 'EPERM' || e.code === 'EROFS') || typeof e.path !== 'string') return err;
  const rel = path.relative(path.resolve(dataDir), path.resolve(e.path));
  return rel.startsWith('..') || path.isAbsolute(rel) ? err : dataDirProblem(err, dataDir);
}

/** The first component of `dir` that exists and is not a directory. */
function fileInPath(dir: string): string | null {
  const parts = dir.split(path.sep).filter(Boolean);
  let cur = path.parse(dir).root;
  for (const p of parts) {
    cur = path.join(cur, p);
    try {
      if (!statSync(cur).isDirectory()) return cur;
    } catch {
      return null;
    }
  }
  return null;
}

function userName(): string | null {
  try {
    return userInfo().username;
  } catch {
    // a uid without a passwd entry (a container)
    return null;
  }
}

function whoAmI(): string {
  const uid = process.getuid?.();
  const name = userName();
  if (uid === undefined) return name ?? 'this user';
  return name ? `user ${name} (uid ${uid})` : `uid ${uid}`;
}

/** Whether the process `pid` is the one that wrote the pid file (`identity`: its boot id and start
 * time, or empty from a release before them or a system without /proc). */
function holder(pid: number, identity: string): boolean {
  if (identity === '') return alive(pid);
  const [boot] = identity.split(' ');
  const bootNow = bootId();
  // a process of an earlier boot cannot run now, whoever has its pid
  if (bootNow !== null && boot !== bootNow) return false;
  const now = processIdentity(pid);
  // /proc hides other users' processes (hidepid): only the pid can tell
  return now === null ? alive(pid) : now === identity;
}

/** `<boot id> <start time>` of a process: unique to it across boots and pid reuse (Linux). */
export function processIdentity(pid: number): string | null {
  const boot = bootId();
  if (boot === null) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name, in parentheses, may hold spaces: fields count from after its ')'; the
    // start time (clock ticks after boot) is field 22, the 20th after the name
    const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    return start && /^\d+$/.test(start) ? `${boot} ${start}` : null;
  } catch {
    return null;
  }
}

function bootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
