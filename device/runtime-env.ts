// The environment and the flags node runs the daemon with in production, and the check that the
// running daemon has them. The unit the installer wrote carries these settings; an upgrade that replaces the
// release but not the unit (docs/deploy.md, "Upgrades") runs the new release without the settings
// added since, and nothing else would tell: the daemon says so at start, in its log and its status.

/**
 * How node runs the daemon in production: the systemd unit's Environment= (deploy/unit.ts writes
 * it; bench/lean.ts and bench/display.ts run the daemon and the board the same way). Measured
 * with `npm run bench -- lean` (README, docs/deploy.md):
 * - --max-semi-space-size=1: V8's young generation at 1 MB a semi-space instead of 16. The daemon
 *   makes little garbage at a time, and the default let the young generation hold ~30 MB of it.
 *   NODE_OPTIONS, so the speech process (display/audio/speech-process.ts) gets it too.
 * - --expose-gc: lets the board and the printer ask for a collection once a frame is written or a
 *   ticket printed (display/pixel-garbage.ts): their read-back pixels piled up as garbage
 *   otherwise, most of the daemon's peak.
 * - MALLOC_ARENA_MAX=2: glibc makes a malloc arena per thread that allocates (libuv's file-system
 *   threads, V8's compiler threads), each keeping what it once held; two are enough here.
 *
 * Only what must be set before node starts is here. A setting the daemon can make itself, before
 * the code that reads it loads, is made there (the canvas binding's: display/canvas-binding.ts),
 * so it holds under any unit, in the simulator and in the tests.
 */
export const RUNTIME_ENV: Readonly<Record<string, string>> = {
  NODE_OPTIONS: '--max-semi-space-size=1 --expose-gc',
  MALLOC_ARENA_MAX: '2',
};

/**
 * node's flags that NODE_OPTIONS refuses, on the unit's command line before the script (deploy/
 * unit.ts; the benches run the daemon with them too):
 * - --optimize-for-size: V8 grows its heap by less before it collects, and favours size where it
 *   has the choice. ~4 MiB off the daemon's peak after an office day on average (107.2-110.3
 *   against 109.6-113.3 MiB, alternating runs of bench/lean.ts); a call to pixels, a ticket's
 *   render and raster no slower (measured).
 */
export const RUNTIME_ARGS: readonly string[] = ['--optimize-for-size'];

/** The settings of RUNTIME_ENV this process runs without, as `KEY=value` (NODE_OPTIONS: each
 * flag the release sets must be among the process's; an admin may add others), and the flags of
 * RUNTIME_ARGS node was not started with, as `node <flag>`. Empty when all are there. */
export function missingRuntimeEnv(
  env: Readonly<Record<string, string | undefined>>,
  execArgv: readonly string[] = process.execArgv,
): string[] {
  const missing: string[] = [];
  for (const flag of RUNTIME_ARGS) if (!execArgv.includes(flag)) missing.push(`node ${flag}`);
  for (const [key, value] of Object.entries(RUNTIME_ENV)) {
    if (key === 'NODE_OPTIONS') {
      const have = new Set((env.NODE_OPTIONS ?? '').split(/\s+/).filter(Boolean));
      for (const flag of value.split(/\s+/)) if (!have.has(flag)) missing.push(`NODE_OPTIONS=${flag}`);
    } else if (env[key] !== value) {
      missing.push(`${key}=${value}`);
    }
  }
  return missing;
}

export function runtimeEnvWarning(missing: readonly string[]): string {
  return `the service runs without this release's runtime settings (${missing.join(', ')}): its unit was written by an older release's installer; run the installer again (docs/deploy.md, "Upgrades", step 4)`;
}
