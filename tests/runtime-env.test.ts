// The daemon's runtime settings (device/runtime-env.ts: RUNTIME_ENV, the unit's Environment=, and
// RUNTIME_ARGS, node's flags on its ExecStart): a service that runs without them (its unit written
// by an older release's installer) says so.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { gatherStatus, renderStatus } from '../deploy/status-report.ts';
import { readStatusFile } from '../device/health.ts';
import { missingRuntimeEnv, RUNTIME_ARGS, RUNTIME_ENV } from '../device/runtime-env.ts';
import { bootConfig, bootDaemon } from './helpers/boot.ts';
import { captureLogger } from './hw-fakes.ts';

describe('a service started without the runtime settings of its release', () => {
  it("lists each setting the environment lacks, NODE_OPTIONS flag by flag, and node's flags", () => {
    const argv = RUNTIME_ARGS;
    expect(missingRuntimeEnv(RUNTIME_ENV, argv)).toEqual([]);
    // an admin's own flags beside the release's are no problem
    expect(
      missingRuntimeEnv({ ...RUNTIME_ENV, NODE_OPTIONS: `--max-old-space-size=200 ${RUNTIME_ENV.NODE_OPTIONS}` }, [
        '--max-old-space-size=200',
        ...argv,
      ]),
    ).toEqual([]);
    expect(missingRuntimeEnv({}, [])).toEqual([
      'node --optimize-for-size',
      'NODE_OPTIONS=--max-semi-space-size=1',
      'NODE_OPTIONS=--expose-gc',
      'MALLOC_ARENA_MAX=2',
    ]);
    // a unit written before MALLOC_ARENA_MAX and --optimize-for-size were among them, and a changed value
    expect(missingRuntimeEnv({ NODE_OPTIONS: '--max-semi-space-size=1 --expose-gc' }, [])).toEqual([
      'node --optimize-for-size',
      'MALLOC_ARENA_MAX=2',
    ]);
    expect(missingRuntimeEnv({ ...RUNTIME_ENV, NODE_OPTIONS: '--expose-gc', MALLOC_ARENA_MAX: '8' }, argv)).toEqual([
      'NODE_OPTIONS=--max-semi-space-size=1',
      'MALLOC_ARENA_MAX=2',
    ]);
  });

  it('logs unit-outdated at start and shows it in the status, only under systemd and only when a setting lacks', async () => {
    const OLD_UNIT = { NODE_OPTIONS: '--max-semi-space-size=1 --expose-gc' };
    const cases = [
      { env: { NOTIFY_SOCKET: '/run/systemd/notify', ...OLD_UNIT }, execArgv: [], outdated: true },
      { env: { NOTIFY_SOCKET: '/run/systemd/notify', ...RUNTIME_ENV }, execArgv: RUNTIME_ARGS, outdated: false },
      // a terminal, the tests: no unit to compare with
      { env: { ...OLD_UNIT }, execArgv: [], outdated: false },
    ];
    for (const { env, execArgv, outdated } of cases) {
      const dataDir = await mkdtemp(path.join(tmpdir(), 'beonho-runtime-env-'));
      try {
        const { logger, lines } = captureLogger();
        const booted = await bootDaemon({
          config: bootConfig(),
          dataDir,
          logger,
          systemd: { env, execArgv, sender: { send: async () => {} } },
          features: ['health', 'systemd'],
        });
        await booted.stop();
        const warned = lines.filter((l) => l.code === 'unit-outdated');
        const status = await readStatusFile(dataDir);
        if (!status.ok) throw new Error(`no status file: ${status.reason}`);
        if (outdated) {
          expect(warned).toHaveLength(1);
          expect(warned[0]).toMatchObject({ level: 40, missing: ['node --optimize-for-size', 'MALLOC_ARENA_MAX=2'] });
          expect(String(warned[0]!.msg)).toMatch(/run the installer again \(docs\/deploy\.md, "Upgrades", step 4\)/);
          expect(status.health.components.runtime).toMatchObject({
            connected: true,
            lastError: 'unit-outdated',
            missing: 'node --optimize-for-size MALLOC_ARENA_MAX=2',
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
