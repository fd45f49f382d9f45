// The daemon validates its config in a worker thread (device/config/load-isolated.ts): the same
// config and the same problem lines as in place, and in place when no worker can run.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { simulatorDefault } from '../device/config/default.ts';
import { ConfigError as IsolatedConfigError } from '../device/config/config-error.ts';
import { ConfigError, loadConfig } from '../device/config/load.ts';
import { loadConfigIsolated } from '../device/config/load-isolated.ts';

const EXAMPLE = path.resolve(import.meta.dirname, '../config/example.yaml');
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'beonho-config-isolated-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function problemsOf(load: () => Promise<unknown>): Promise<{ source: string; problems: string[] }> {
  try {
    await load();
  } catch (err) {
    if (err instanceof ConfigError) return { source: err.source, problems: err.problems };
    throw err;
  }
  throw new Error('the config was accepted');
}

describe('the config validated in a worker thread', () => {
  it('gives the config load.ts gives, for the example, the built-in office and a satellite', async () => {
    const satellite = path.join(dir, 'satellite.yaml');
    await writeFile(
      satellite,
      stringify({
        ...simulatorDefault,
        role: 'satellite',
        device: { id: 'counter-3' },
        dispenser: undefined,
        satellite: { main: { url: 'mqtt://127.0.0.1:1883', password: 'pw-3' }, counters: [3] },
      }),
    );
    for (const file of [EXAMPLE, undefined, satellite]) {
      const inWorker = await loadConfigIsolated(file);
      expect(inWorker.fallback, String(file)).toBeNull();
      expect(inWorker.config, String(file)).toEqual((await loadConfig(file)).config);
      expect(inWorker.source, String(file)).toBe((await loadConfig(file)).source);
      expect(inWorker.warnings, String(file)).toEqual([]);
    }
  });

  it("passes on the YAML parser's warnings, one line each without the file's text", async () => {
    const tagged = path.join(dir, 'tagged.yaml');
    await writeFile(tagged, stringify(simulatorDefault).replace(/^( {2}name: )/m, '$1!foo '));
    const inWorker = await loadConfigIsolated(tagged);
    expect(inWorker.warnings).toEqual([expect.stringMatching(/^Unresolved tag: !foo at line \d+, column \d+$/)]);
    expect(inWorker.warnings).toEqual((await loadConfig(tagged)).warnings);
    expect(inWorker.config.office.name).toBe(simulatorDefault.office.name);
  });

  it('refuses a bad config with the same ConfigError and lines as load.ts, naming no secret', async () => {
    const bad = path.join(dir, 'bad.yaml');
    const doc = { ...simulatorDefault, office: { ...simulatorDefault.office, timeZon: 'Asia/Seoul' } };
    await writeFile(
      bad,
      stringify({ ...doc, outputs: { printer: { driver: 'sim', ticketSecret: 'short-and-secret' } } }),
    );
    const inPlace = await problemsOf(() => loadConfig(bad));
    expect(inPlace.problems.length).toBeGreaterThan(0);
    expect(await problemsOf(() => loadConfigIsolated(bad))).toEqual(inPlace);
    // one class: the daemon names the worker's refusal with the error load.ts throws
    expect(IsolatedConfigError).toBe(ConfigError);
    expect(JSON.stringify(inPlace)).not.toContain('short-and-secret');
    for (const file of [path.join(dir, 'missing.yaml'), EXAMPLE.replace('.yaml', '.nope')]) {
      expect(await problemsOf(() => loadConfigIsolated(file))).toEqual(await problemsOf(() => loadConfig(file)));
    }
    const notYaml = path.join(dir, 'not-yaml.yaml');
    await writeFile(notYaml, 'office: [unclosed\n');
    expect(await problemsOf(() => loadConfigIsolated(notYaml))).toEqual(await problemsOf(() => loadConfig(notYaml)));
  });

  it('validates in place, and says why, when the worker cannot run', async () => {
    const loaded = await loadConfigIsolated(EXAMPLE, path.join(dir, 'no-such-worker.js'));
    expect(loaded.fallback).toMatch(/no-such-worker|Cannot find module|ERR_MODULE_NOT_FOUND/);
    expect(loaded.config).toEqual((await loadConfig(EXAMPLE)).config);
    // a bad config is still refused as such, not reported as the worker's failure
    const bad = path.join(dir, 'bad-fallback.yaml');
    await writeFile(bad, stringify({ ...simulatorDefault, counters: 'three' }));
    const refused = await problemsOf(() => loadConfigIsolated(bad, path.join(dir, 'no-such-worker.js')));
    expect(refused.problems.join('\n')).toMatch(/^counters: /m);
  });
});
