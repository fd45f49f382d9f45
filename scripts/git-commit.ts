// Which commit a build is made from: the release's manifest names it, the build's version carries
// it (scripts/build.ts), and the release tarball's file times are its time.
import { type ExecFileSyncOptionsWithStringEncoding, execFileSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** git in `dir` when `dir` is the top of a checkout; null otherwise: a `git archive` of an older
 * commit unpacked inside another checkout (how an older release is built beside the current one)
 * would name that checkout's HEAD and time. */
function gitAtTop(dir: string, args: string[]): string | null {
  const opts: ExecFileSyncOptionsWithStringEncoding = {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  };
  try {
    const top = execFileSync('git', ['rev-parse', '--show-toplevel'], opts).trim();
    if (realpathSync(top) !== realpathSync(dir)) return null;
    return execFileSync('git', args, opts).trim();
  } catch {
    return null;
  }
}

export function gitCommit(dir = ROOT): string | null {
  const head = gitAtTop(dir, ['rev-parse', 'HEAD']);
  if (head === null) return null;
  const dirty = gitAtTop(dir, ['status', '--porcelain', '--untracked-files=no']);
  return dirty ? `${head}-dirty` : head;
}

export function commitTime(dir = ROOT): number | null {
  const t = gitAtTop(dir, ['log', '-1', '--format=%ct']);
  return t === null ? null : Number(t);
}

/** The version a build reports: the package's, with the commit it is built from as semver build
 * metadata (`0.1.0+690e177`, `0.1.0+690e177.dirty` from a tree with changes), so two releases made
 * between version bumps tell apart in `npm run status` and in the device status central reads.
 * The package's alone when the commit is unknown (a `git archive` tree). */
export function buildVersion(version: string, commit: string | null): string {
  if (commit === null) return version;
  const dirty = commit.endsWith('-dirty');
  return `${version}+${commit.slice(0, 7)}${dirty ? '.dirty' : ''}`;
}
