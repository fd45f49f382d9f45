// One temporary directory per test run, removed at its end. The suites make hundreds of
// directories (data dirs, brokers' files, browser profiles, fake sysfs trees) through os.tmpdir(),
// and so do the daemons, brokers and browsers they start, which inherit TMPDIR: a run left ~1 GB
// of them behind on a CI runner that never reboots. BEONHO_KEEP_TMP=1 keeps it, to look at after a
// failure.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export default function setup(): () => void {
  const dir = mkdtempSync(path.join(tmpdir(), 'beonho-test-'));
  // as /tmp: the suites that start a daemon as another user (nobody) reach their files through it
  chmodSync(dir, 0o1777);
  process.env.TMPDIR = dir;
  return () => {
    if (process.env.BEONHO_KEEP_TMP) {
      process.stderr.write(`test files kept in ${dir}\n`);
      return;
    }
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch (err) {
      // A directory a test made unreadable (as a non-root user) must not fail a green run.
      process.stderr.write(`could not remove ${dir}: ${(err as Error).message}\n`);
    }
  };
}
