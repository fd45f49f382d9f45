// Whether a module is the script node was started with (`node x.js`, not an import of it). Node
// names the main module by its real path, percent-encoded in its URL; the command line may name it
// through a symlink (/opt/beonho -> /opt/beonho-0.1.0), with spaces or Hangul in it (~/다운로드).
// Comparing `file://${process.argv[1]}` missed all three: `npm run hw -- list` printed nothing.
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export function isMainModule(moduleUrl: string, argv1: string | undefined = process.argv[1]): boolean {
  if (!argv1) return false;
  try {
    return pathToFileURL(realpathSync(argv1)).href === moduleUrl;
  } catch {
    return false;
  }
}
