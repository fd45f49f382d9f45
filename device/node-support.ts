// The APIs of Node the daemon uses that not every Node 20 has. Checked before anything else is
// loaded: a module that imports one of them by name fails to link on an older Node with a
// SyntaxError and a stack, and under systemd that is a restart loop. Checked by feature, not by
// version number, so a Node that has the API by other means (a test's module hook) passes.
import * as zlib from 'node:zlib';
import type { DaemonCode } from './error-codes.ts';

/** The oldest Node 20 with every API below (package.json `engines`). */
export const MIN_NODE_20 = '20.15.0';

/** The required APIs this Node lacks, by name (empty: this Node will do). */
export function missingNodeApis(z: { crc32?: unknown } = zlib): string[] {
  const missing: string[] = [];
  // the journal's, the command log's and the outbox's record checksums (Node >= 20.15, 22.2)
  if (typeof z.crc32 !== 'function') missing.push('zlib.crc32');
  return missing;
}

/** The error code of that refusal (docs/errors.md). */
export const NODE_TOO_OLD: DaemonCode = 'node-too-old';

/** One line for a person: which Node this is, what it lacks, what to install. */
export function nodeTooOldMessage(missing: string[], version = process.version): string {
  return `Node ${version} is too old for beonho: it lacks ${missing.join(', ')}. Install Node ${MIN_NODE_20} or newer of the release's major (docs/deploy.md, step 3)`;
}
