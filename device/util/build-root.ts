// The folder of this build's own files: the one holding its package.json (dist/ of a build or a
// release, the repository under tsx), with the contract's schemas, the speech child and the
// version under it. Found by walking up from this module rather than from each caller's own
// location, because the daemon runs as one bundled file (scripts/build.ts), where every module's
// import.meta.url is the bundle's, at another depth than the module's own.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const NAME = 'beonho';

let root: string | null = null;

function holdsOurPackage(dir: string): boolean {
  try {
    return (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown }).name === NAME;
  } catch {
    return false;
  }
}

/** The nearest folder above this module whose package.json is beonho's. */
export function buildRoot(): string {
  if (root !== null) return root;
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = here; ; dir = path.dirname(dir)) {
    if (holdsOurPackage(dir)) {
      root = dir;
      return dir;
    }
    if (path.dirname(dir) === dir) throw new Error(`no package.json of ${NAME} above ${here}`);
  }
}

/** A file or folder of this build, by its path from the build's root (e.g. 'bridge/contract/schemas'). */
export function buildFile(relative: string): string {
  return path.join(buildRoot(), relative);
}

let version: string | null = null;

/** The version in the build's package.json (read once); 'unknown' when it cannot be read. */
export function packageVersion(): string {
  if (version === null) {
    try {
      const pkg = JSON.parse(readFileSync(buildFile('package.json'), 'utf8')) as { version?: unknown };
      version = typeof pkg.version === 'string' ? pkg.version : 'unknown';
    } catch {
      version = 'unknown';
    }
  }
  return version;
}
