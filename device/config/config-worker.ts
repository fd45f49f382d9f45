// The worker thread in which the daemon reads and validates its config (load-isolated.ts starts
// it): it posts the config, or the problems, and ends, and the validator's code and data end with
// it.
import { parentPort, workerData } from 'node:worker_threads';
import { ConfigError, type LoadedFile, loadConfig } from './load.ts';

/** What the worker posts: the validated config, or why there is none. */
export type ConfigAnswer = ({ ok: true } & LoadedFile) | { ok: false; source: string; problems: string[] };

const { file } = workerData as { file?: string };
let answer: ConfigAnswer;
try {
  answer = { ok: true, ...(await loadConfig(file)) };
} catch (err) {
  // anything else is a fault of ours: the worker's error event, and the caller validates in place
  if (!(err instanceof ConfigError)) throw err;
  answer = { ok: false, source: err.source, problems: err.problems };
}
parentPort?.postMessage(answer);
