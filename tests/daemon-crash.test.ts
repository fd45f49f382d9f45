// The daemon SIGKILLed at random moments while tickets are being issued, over and over: after
// every restart no number was issued twice, none that was acknowledged is lost, and the state
// on disk loads.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../device/config/load.ts';
import { Store } from '../device/store/store.ts';
import { Daemon, killAll, writeTestConfig } from './helpers/daemon.ts';

const KILLS = 50;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'beonho-crash-'));
});
afterEach(killAll);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('SIGKILL while issuing', () => {
  it(`loses no acknowledged ticket and reuses no number over ${KILLS} kills`, async () => {
    const configFile = await writeTestConfig(path.join(dir, 'config.yaml'), { store: { snapshotEvery: 20 } });
    const { config } = await loadConfig(configFile);
    const dataDir = path.join(dir, 'data');
    const acknowledged = new Set<string>();
    let seed = 12345;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let k = 0; k < KILLS; k++) {
      const d = new Daemon(['--config', configFile, '--data-dir', dataDir]);
      await d.waitFor(/simulator ready/);
      const presses = 5 + Math.floor(rand() * 40);
      for (let i = 0; i < presses; i++) d.send(`press ${['resident', 'passport', 'seal', 'priority'][i % 4]}`);
      // kill at a random moment: on odd runs counted from the start of the burst (often before
      // anything was written), on even runs from the first acknowledged ticket (mid-burst), so
      // the test does not depend on how fast this machine is
      if (k % 2 === 0) await d.waitFor(/^ticket /);
      await new Promise((r) => setTimeout(r, Math.floor(rand() * 60)));
      await d.kill('SIGKILL');
      for (const line of d.lines) {
        const m = /^ticket (\S+) /.exec(line);
        if (m) {
          expect(acknowledged.has(m[1]!), `number ${m[1]} issued twice (run ${k})`).toBe(false);
          acknowledged.add(m[1]!);
        }
      }
      // what a restart will see: it parses, and holds every acknowledged ticket
      const store = new Store({ dir: dataDir, snapshotEvery: 20, outboxMaxEvents: 200000 });
      const { state } = await store.open(config);
      await store.release();
      for (const n of acknowledged) expect(state.tickets[n], `ticket ${n} lost after kill ${k}`).toBeDefined();
    }
    expect(acknowledged.size).toBeGreaterThanOrEqual(KILLS / 2);
  }, 600_000);
});
