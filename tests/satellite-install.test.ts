// A satellite is installed from the same release with the same installer: only its config (role:
// satellite) differs, and `--role` refuses the wrong unit's config before anything is written.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeployError, type InstallOptions, install } from '../deploy/installer.ts';
import { recordingRunner } from '../deploy/runner.ts';

const OFFICE = `office: { id: singok2, name: 신곡2동 행정복지센터 }
services:
  - { id: resident, name: 주민등록, numbers: { from: 1001, to: 1999 } }
counters:
  - { id: "1", name: 1번 창구, services: [resident] }
  - { id: "2", name: 2번 창구, services: [resident] }
`;
const SATELLITE = `${OFFICE}role: satellite
device: { id: counter-12 }
satellite:
  main: { url: "mqtt://192.168.0.10:1883", passwordEnv: BEONHO_MAIN_PASSWORD }
  counters: [1, 2]
outputs:
  board: { driver: none, counterDisplays: [{ counter: "1" }, { counter: "2", device: /dev/fb2 }] }
`;
const APP = '/opt/beonho';

let root: string;
let work: string;
const lines: string[] = [];

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'beonho-sat-root-'));
  work = await mkdtemp(join(tmpdir(), 'beonho-sat-work-'));
  lines.length = 0;
  await mkdir(join(root, 'etc'), { recursive: true });
  await writeFile(join(root, 'etc/group'), 'root:x:0:\ntty:x:5:\nvideo:x:44:\ninput:x:105:\naudio:x:29:\n');
  await writeFile(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\n');
  await mkdir(join(root, APP, 'node_modules/commander'), { recursive: true });
  await writeFile(join(root, APP, 'node_modules/commander/package.json'), '{}');
  await mkdir(join(root, APP, 'dist/device'), { recursive: true });
  await writeFile(join(root, APP, 'dist/device/main.js'), '');
  await writeFile(join(work, 'office.yaml'), OFFICE);
  await writeFile(join(work, 'satellite.yaml'), SATELLITE);
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

function opts(config: string, over: Partial<InstallOptions> = {}): InstallOptions {
  return {
    root,
    appDir: APP,
    nodePath: '/usr/bin/node',
    configSource: join(work, config),
    systemdVersion: 252,
    keypads: [],
    printers: [],
    start: true,
    ...over,
  };
}

describe('installing a satellite', () => {
  it('uses the same release and unit as a main unit; its config says what it is', async () => {
    const r = await install(opts('satellite.yaml', { role: 'satellite' }), recordingRunner(), (l) => lines.push(l));
    expect(await readFile(join(root, 'etc/beonho/config.yaml'), 'utf8')).toBe(SATELLITE);
    expect(r.files).toContain('/etc/systemd/system/beonho.service');
    const unit = await readFile(join(root, 'etc/systemd/system/beonho.service'), 'utf8');
    expect(unit).toContain('dist/device/main.js --config /etc/beonho/config.yaml');
    expect(unit).toContain(`WorkingDirectory=${APP}`);
    expect(lines).toContain('installing satellite counter-12 of the main unit at mqtt://192.168.0.10:1883');
    expect(r.warnings).toContain(
      "the satellite's password comes from BEONHO_MAIN_PASSWORD: put BEONHO_MAIN_PASSWORD=... in /etc/beonho/environment (mode 600)",
    );
  });

  it("refuses the other unit's config for --role and writes nothing", async () => {
    for (const [config, role] of [
      ['office.yaml', 'satellite'],
      ['satellite.yaml', 'main'],
    ] as const) {
      const err = await install(opts(config, { role }), recordingRunner(), (l) => lines.push(l)).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(DeployError);
      expect((err as DeployError).code).toBe('deploy-role-mismatch');
      expect((err as Error).message).toContain(`--role ${role}`);
      expect(existsSync(join(root, 'etc/beonho/config.yaml'))).toBe(false);
      expect(existsSync(join(root, 'etc/systemd/system/beonho.service'))).toBe(false);
    }
  });

  it("says where a main unit's uplink password goes, as for a satellite's", async () => {
    await writeFile(
      join(work, 'uplinked.yaml'),
      `${OFFICE}mqtt:\n  uplink: { url: "mqtts://central.example.go.kr:8883", username: singok2, passwordEnv: BEONHO_UPLINK_PASSWORD }\n`,
    );
    const r = await install(opts('uplinked.yaml', { role: 'main' }), recordingRunner(), (l) => lines.push(l));
    const note =
      "the uplink's password comes from BEONHO_UPLINK_PASSWORD: put BEONHO_UPLINK_PASSWORD=... in /etc/beonho/environment (mode 600)";
    expect(r.warnings).toContain(note);
    // an empty value is no password: still said
    await mkdir(join(root, 'etc/beonho'), { recursive: true });
    await writeFile(join(root, 'etc/beonho/environment'), '# secrets\nBEONHO_UPLINK_PASSWORD=\n', { mode: 0o600 });
    const empty = await install(opts('uplinked.yaml', { role: 'main' }), recordingRunner(), (l) => lines.push(l));
    expect(empty.warnings).toContain(note);
    // once it is there, the next install (an upgrade, another office's) does not say it again
    await writeFile(join(root, 'etc/beonho/environment'), '# secrets\nBEONHO_UPLINK_PASSWORD=s3cret\n', {
      mode: 0o600,
    });
    const again = await install(opts('uplinked.yaml', { role: 'main' }), recordingRunner(), (l) => lines.push(l));
    expect(again.warnings.filter((w) => w.includes('password comes from'))).toEqual([]);
    // emptied by a later line: systemd takes the last, so it is said again
    await writeFile(join(root, 'etc/beonho/environment'), 'BEONHO_UPLINK_PASSWORD=s3cret\nBEONHO_UPLINK_PASSWORD=\n', {
      mode: 0o600,
    });
    const emptied = await install(opts('uplinked.yaml', { role: 'main' }), recordingRunner(), (l) => lines.push(l));
    expect(emptied.warnings).toContain(note);
  });

  it('installs a main unit without a word about satellites', async () => {
    const r = await install(opts('office.yaml', { role: 'main' }), recordingRunner(), (l) => lines.push(l));
    expect(lines.filter((l) => l.includes('satellite'))).toEqual([]);
    expect(r.warnings.filter((w) => w.includes('satellite'))).toEqual([]);
  });
});
