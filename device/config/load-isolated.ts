// The daemon's config, read and validated in a worker thread that ends when it has answered.
// The validator (zod, our schemas, the YAML parser) is the daemon's largest library and is needed
// once, at start: in the main thread its compiled code and its schema objects stayed for the
// daemon's life, ~10 MiB of a 512 MB board's memory (bench/lean.ts, docs/deploy.md). The answer is
// plain data (structured-cloned), and the problems of a bad config are the same lines as load.ts
// gives (the worker runs it). Tools (the installer, `npm run status`, hw-tool) use load.ts directly:
// they are short-lived.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { buildFile } from '../util/build-root.ts';
import { ConfigError } from './config-error.ts';
import type { ConfigAnswer } from './config-worker.ts';
import type { LoadedFile } from './load.ts';

const HERE = fileURLToPath(import.meta.url);
const WORKER_ENTRY = buildFile(`device/config/config-worker${path.extname(HERE)}`);

export interface LoadedConfig extends LoadedFile {
  /** why the config was validated in this thread instead (the worker could not run), or null */
  fallback: string | null;
}

/**
 * Reads and validates `file` (none: the simulator's built-in config) in a worker thread. Throws a
 * ConfigError for a config that cannot be used. A worker that cannot start or that fails for
 * another reason is not a config problem: the config is then validated in this thread (and a fault
 * of the validator's own throws from there).
 */
export async function loadConfigIsolated(file?: string, entry = WORKER_ENTRY): Promise<LoadedConfig> {
  let answer: ConfigAnswer;
  try {
    answer = await runWorker(entry, file);
  } catch (err) {
    const { loadConfig } = await import('./load.ts');
    return { ...(await loadConfig(file)), fallback: (err as Error).message };
  }
  if (!answer.ok) throw new ConfigError(answer.source, answer.problems);
  return { config: answer.config, source: answer.source, warnings: answer.warnings, fallback: null };
}

/** How long the worker may take to answer before the config is validated in this thread instead
 * (a worker held up by something else than the config: a preload of NODE_OPTIONS, say). */
const ANSWER_TIMEOUT_MS = 60_000;

/** The worker's answer, once the worker has ended (its memory is given back before the daemon
 * builds its parts). The worker is ended as soon as it has answered: NODE_OPTIONS applies to every
 * thread, so a module it preloads (a monitoring agent) runs in the worker too, and a timer or a
 * socket of its own would keep the worker, and the start, waiting for ever. */
function runWorker(entry: string, file: string | undefined): Promise<ConfigAnswer> {
  return new Promise((resolve, reject) => {
    let answer: ConfigAnswer | null = null;
    let failure: Error | null = null;
    // none of the daemon's own command-line options: a module it preloads is not the worker's
    const options = { workerData: { file }, execArgv: [] };
    const worker = entry.endsWith('.ts')
      ? new Worker(sourceBootstrap(entry), { ...options, eval: true })
      : new Worker(entry, options);
    const timer = setTimeout(() => {
      failure = new Error(`the config worker gave no answer within ${ANSWER_TIMEOUT_MS / 1000} s`);
      void worker.terminate();
    }, ANSWER_TIMEOUT_MS);
    worker.once('message', (m: ConfigAnswer) => {
      answer = m;
      void worker.terminate();
    });
    worker.once('error', (err) => {
      failure = err;
    });
    worker.once('exit', (code) => {
      clearTimeout(timer);
      if (answer) resolve(answer);
      else reject(failure ?? new Error(`the config worker ended (exit ${code}) without an answer`));
    });
  });
}

/** A worker running TypeScript sources (tsx, the tests) registers tsx's loader itself: Node 20
 * does not apply a parent's or an `--import`ed loader to a worker's entry. */
function sourceBootstrap(entry: string): string {
  // tsx's ES module API (its `import` export; the CommonJS one cannot load it in a worker)
  const pkgFile = createRequire(import.meta.url).resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { exports: Record<string, { import: { default: string } }> };
  const api = pathToFileURL(path.join(path.dirname(pkgFile), pkg.exports['./esm/api']!.import.default)).href;
  // a function, not top-level await: Node before 20.19 runs eval'd code as a script
  return `(async () => { const { register } = await import(${JSON.stringify(api)}); register(); await import(${JSON.stringify(pathToFileURL(entry).href)}); })();`;
}
