// The daemon's runtime environment (device/runtime-env.ts RUNTIME_ENV, the unit's Environment=):
// the service says so when it runs without it (a unit from an older release's installer), and the
// canvas binding's allocator (mimalloc) takes no transparent huge pages under it. With them,
// mimalloc asks the kernel for 2 MiB pages for its arenas, and a ticket's read-back pixels were
// committed 2 MiB at a time. The allocator's cases run in a process of their own: mimalloc reads
// its options once, when the binding loads.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { gatherStatus, renderStatus } from '../deploy/status-report.ts';
import { readStatusFile } from '../device/health.ts';
import { missingRuntimeEnv, RUNTIME_ENV } from '../device/runtime-env.ts';
import { bootConfig, bootDaemon } from './helpers/boot.ts';
import { captureLogger } from './hw-fakes.ts';

const ROOT = path.join(import.meta.dirname, '..');
const run = promisify(execFile);

/** The process's environment with the unit's settings, or with one of them left out. */
function env(without?: string): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, ...RUNTIME_ENV };
  if (without) delete e[without];
  return e;
}

/** Ticket-sized canvases (576x1000) drawn and read back, three alive at a time, as a burst of
 * presses makes them; then the KiB of the process's memory in transparent huge pages. */
const TICKETS = `
  const { createCanvas } = require('@napi-rs/canvas');
  const alive = [];
  for (let i = 0; i < 20; i++) {
    const c = createCanvas(576, 1000);
    const ctx = c.getContext('2d');
    ctx.fillRect(0, 0, 576, 1000);
    alive.push(ctx.getImageData(0, 0, 576, 1000));
    if (alive.length > 3) alive.shift();
  }
  const smaps = require('node:fs').readFileSync('/proc/self/smaps', 'utf8');
  let kib = 0;
  for (const m of smaps.matchAll(/^AnonHugePages:\\s+(\\d+) kB/gm)) kib += Number(m[1]);
  console.log(kib);`;

async function hugePagesKiB(e: NodeJS.ProcessEnv): Promise<number> {
  const r = await run(process.execPath, ['-e', TICKETS], { cwd: ROOT, env: e });
  return Number(r.stdout.trim());
}

/** The kernel's transparent-huge-page mode: "madvise" gives them only to memory that asks for
 * them (mimalloc's arenas, unless told not to), "always" to any large enough mapping. */
function thpMode(): string {
  try {
    return /\[(\w+)\]/.exec(readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'))?.[1] ?? 'none';
  } catch {
    return 'none';
  }
}

describe("the unit's runtime environment and the canvas binding's allocator", () => {
  it('turns off transparent huge pages in mimalloc (the option as mimalloc reads it)', async () => {
    const probe = `require('@napi-rs/canvas').createCanvas(8, 8).getContext('2d').getImageData(0, 0, 8, 8)`;
    const verbose = async (e: NodeJS.ProcessEnv) =>
      (await run(process.execPath, ['-e', probe], { cwd: ROOT, env: { ...e, MIMALLOC_VERBOSE: '1' } })).stderr;
    expect(await verbose(env())).toMatch(/option 'allow_thp': 0\b/);
    // the binding's default, which the setting changes
    expect(await verbose(env('MIMALLOC_ALLOW_THP'))).toMatch(/option 'allow_thp': 1\b/);
  });

  it('leaves no huge page in the process after a burst of ticket-sized reads', async () => {
    const mode = thpMode();
    const withSetting = await hugePagesKiB(env());
    if (mode === 'madvise') {
      // only memory that asks gets them: none with the setting, and the same reads without it do
      // take huge pages (what the setting saves is real here)
      expect(withSetting).toBe(0);
      expect(await hugePagesKiB(env('MIMALLOC_ALLOW_THP'))).toBeGreaterThan(0);
    } else if (mode !== 'always') {
      // "never", or a kernel without them
      expect(withSetting).toBe(0);
    }
    // "always": the kernel may give any large mapping of the process huge pages (V8's, glibc's),
    // asked or not; mimalloc's option is checked above.
  });
});

describe('a service started without the runtime settings of its release', () => {
  it('lists each setting the environment lacks, NODE_OPTIONS flag by flag', () => {
    expect(missingRuntimeEnv(RUNTIME_ENV)).toEqual([]);
    // an admin's own flags beside the release's are no problem
    expect(
      missingRuntimeEnv({ ...RUNTIME_ENV, NODE_OPTIONS: `--max-old-space-size=200 ${RUNTIME_ENV.NODE_OPTIONS}` }),
    ).toEqual([]);
    expect(missingRuntimeEnv({})).toEqual([
      'NODE_OPTIONS=--max-semi-space-size=1',
      'NODE_OPTIONS=--expose-gc',
      'MALLOC_ARENA_MAX=2',
      'MIMALLOC_ALLOW_THP=0',
    ]);
    // the unit an installer wrote before MIMALLOC_ALLOW_THP existed, and a changed value
    expect(missingRuntimeEnv({ NODE_OPTIONS: '--max-semi-space-size=1 --expose-gc', MALLOC_ARENA_MAX: '2' })).toEqual([
      'MIMALLOC_ALLOW_THP=0',
    ]);
    expect(missingRuntimeEnv({ ...RUNTIME_ENV, NODE_OPTIONS: '--expose-gc', MALLOC_ARENA_MAX: '8' })).toEqual([
      'NODE_OPTIONS=--max-semi-space-size=1',
      'MALLOC_ARENA_MAX=2',
    ]);
  });

  it('logs unit-outdated at start and shows it in the status, only under systemd and only when a setting lacks', async () => {
    const OLD_UNIT = { NODE_OPTIONS: '--max-semi-space-size=1 --expose-gc', MALLOC_ARENA_MAX: '2' };
    const cases = [
      { env: { NOTIFY_SOCKET: '/run/systemd/notify', ...OLD_UNIT }, outdated: true },
      { env: { NOTIFY_SOCKET: '/run/systemd/notify', ...RUNTIME_ENV }, outdated: false },
      // a terminal, the tests: no unit to compare with
      { env: { ...OLD_UNIT }, outdated: false },
    ];
    for (const { env, outdated } of cases) {
      const dataDir = await mkdtemp(path.join(tmpdir(), 'beonho-runtime-env-'));
      try {
        const { logger, lines } = captureLogger();
        const booted = await bootDaemon({
          config: bootConfig(),
          dataDir,
          logger,
          systemd: { env, sender: { send: async () => {} } },
          features: ['health', 'systemd'],
        });
        await booted.stop();
        const warned = lines.filter((l) => l.code === 'unit-outdated');
        const status = await readStatusFile(dataDir);
        if (!status.ok) throw new Error(`no status file: ${status.reason}`);
        if (outdated) {
          expect(warned).toHaveLength(1);
          expect(warned[0]).toMatchObject({ level: 40, missing: ['MIMALLOC_ALLOW_THP=0'] });
          expect(String(warned[0]!.msg)).toMatch(/run the installer again \(docs\/deploy\.md, "Upgrades", step 4\)/);
          expect(status.health.components.runtime).toMatchObject({
            connected: true,
            lastError: 'unit-outdated',
            missing: 'MIMALLOC_ALLOW_THP=0',
          });
          const shown = renderStatus(await gatherStatus({ dirs: [dataDir], dataDir }));
          expect(shown).toMatch(/^ {2}runtime +connected, last error unit-outdated at /m);
        } else {
          expect(warned).toEqual([]);
          expect(status.health.components.runtime).toBeUndefined();
        }
      } finally {
        await rm(dataDir, { recursive: true, force: true });
      }
    }
  });
});
