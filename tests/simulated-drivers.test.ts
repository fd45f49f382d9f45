// The simulator's drivers are the schema's defaults: a service whose config leaves out its
// hardware says so at start, and `npm run status` names each part's driver.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { gatherStatus, renderStatus } from '../deploy/status-report.ts';
import { validateConfig } from '../device/config/load.ts';
import { driversOf, simulatedWarning, simulatorReadyLine } from '../device/simulated.ts';
import { simulatorDefault } from '../device/config/default.ts';
import { bootConfig, bootDaemon } from './helpers/boot.ts';
import { captureLogger } from './hw-fakes.ts';

const OFFICE = {
  office: { id: 'singok2', name: '신곡2동' },
  services: [{ id: 'resident', name: '주민등록', numbers: { from: 1001, to: 1999 } }],
  counters: [{ id: '1', name: '1번 창구', services: ['resident'] }],
  dispenser: { buttons: [{ id: 'resident', service: 'resident' }] },
};
const HARDWARE = {
  hardware: {
    buttons: { driver: 'gpio', pins: [{ pin: 17, button: 'resident' }] },
    keypads: { driver: 'hid', devices: [{ counter: '1', port: '1-1.2' }] },
  },
  outputs: { board: { driver: 'framebuffer' }, printer: { driver: 'escpos' }, audio: { driver: 'alsa' } },
};

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'beonho-sim-drivers-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('simulated drivers', () => {
  it('are every part a config leaves out, and warned about only when running as a service', () => {
    const bare = validateConfig(OFFICE);
    expect(driversOf(bare).map((d) => `${d.part} ${d.driver}`)).toEqual([
      'buttons sim',
      'keypads sim',
      'board sim',
      'printer sim',
      'audio sim',
    ]);
    expect(simulatedWarning(bare, true)).toMatch(
      /^running as a service with the simulator's drivers for buttons, keypads, board, printer, audio: .*docs\/deploy\.md, step 5/,
    );
    expect(simulatedWarning(bare, false)).toBeNull();
    expect(simulatedWarning(validateConfig({ ...OFFICE, ...HARDWARE }), true)).toBeNull();
    // a silenced voice is no simulated one
    const quiet = validateConfig({
      ...OFFICE,
      ...HARDWARE,
      outputs: { ...HARDWARE.outputs, audio: { enabled: false } },
    });
    expect(simulatedWarning(quiet, true)).toBeNull();
  });

  it('the daemon warns at start under systemd (NOTIFY_SOCKET), not in a terminal or the tests', async () => {
    for (const env of [{ NOTIFY_SOCKET: '/run/systemd/notify' }, {}]) {
      const { logger, lines } = captureLogger();
      const booted = await bootDaemon({
        config: bootConfig(),
        logger,
        systemd: { env, sender: { send: async () => {} } },
        features: ['health', 'systemd'],
      });
      await booted.stop();
      const warned = lines.filter((l) => /simulator's drivers/.test(String(l.msg)));
      if (env.NOTIFY_SOCKET) {
        expect(warned).toHaveLength(1);
        expect(warned[0]).toMatchObject({
          level: 40,
          code: 'simulated-drivers',
          simulated: ['buttons', 'keypads', 'board', 'printer', 'audio'],
        });
      } else {
        expect(warned).toEqual([]);
      }
    }
  });

  it('npm run status names each driver from the installed config, SIMULATED where the simulator drives', async () => {
    const status = async (config: object | null) => {
      const file = join(dir, 'config.yaml');
      if (config) await writeFile(file, JSON.stringify(config));
      const r = await gatherStatus({ dirs: [dir], dataDir: dir, configFile: config ? file : join(dir, 'nope.yaml') });
      return renderStatus(r);
    };
    expect(await status(OFFICE)).toMatch(
      /^drivers +buttons SIMULATED, keypads SIMULATED, board SIMULATED, printer SIMULATED, audio SIMULATED {2}<< the simulator's drivers: set hardware and outputs in the config \(docs\/deploy\.md, step 5\)$/m,
    );
    expect(await status({ ...OFFICE, ...HARDWARE })).toMatch(
      /^drivers +buttons gpio, keypads hid, board framebuffer, printer escpos, audio alsa$/m,
    );
    expect(await status(null)).toMatch(/^drivers +unknown \(.*nope\.yaml: cannot read the file: ENOENT\)$/m);
  });
});

describe("the simulator's ready line", () => {
  it("gives examples of this office's own button and counter", () => {
    expect(simulatorReadyLine(validateConfig(simulatorDefault))).toBe(
      'beonho simulator ready. Type "help" for commands (press resident, key 1 next, state).\n',
    );
    const hall = validateConfig({
      ...simulatorDefault,
      counters: [{ ...simulatorDefault.counters![0]!, id: 'm1' }],
      dispenser: { buttons: [{ id: 'cert', service: simulatorDefault.services![0]!.id }] },
    });
    expect(simulatorReadyLine(hall)).toMatch(/\(press cert, key m1 next, state\)/);
  });
});
