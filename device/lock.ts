// One daemon per data dir. A pid file created with O_EXCL; a stale one (its process is gone, e.g.
// after a power cut) is taken over. Not proper-lockfile: it keeps a lock fresh by rewriting its
// mtime every few seconds, which is needless SD-card wear for a single host.
import { open, readFile, unlink } from 'node:fs/promises';
import * as path from 'node:path';

export class LockedError extends Error {
  readonly code = 'data-dir-locked';
}

export async function acquireLock(dataDir: string): Promise<() => Promise<void>> {
  const file = path.join(dataDir, 'beonho.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(file, 'wx');
      await fh.writeFile(`${process.pid}\n`);
      await fh.sync();
      await fh.close();
      return async () => {
        await unlink(file).catch(() => undefined);
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number.parseInt((await readFile(file, 'utf8').catch(() => '')).trim(), 10);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new LockedError(
          `another beonho (pid ${pid}) is already running on ${dataDir}; stop it first, or give this one another --data-dir`,
        );
      }
      await unlink(file).catch(() => undefined);
    }
  }
  throw new LockedError(`could not take the lock ${file}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
