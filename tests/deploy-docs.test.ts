// What the deploy path tells a person must hold: the installer's "docs/deploy.md, step N" points at
// that step, the files the example config names ship, the office of step 5 is a working office on
// real hardware, and JSON offered to scripts is JSON alone.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { validateConfig } from '../device/config/load.ts';

const ROOT = join(import.meta.dirname, '..');
const read = (p: string): string => readFileSync(join(ROOT, p), 'utf8');
const DEPLOY = read('docs/deploy.md');

/** The numbered steps of "Install, step by step": number -> the bold heading. */
function installSteps(): Map<number, string> {
  const start = DEPLOY.indexOf('## Install, step by step');
  const section = DEPLOY.slice(start, DEPLOY.indexOf('\n## ', start + 1));
  return new Map([...section.matchAll(/^(\d+)\. \*\*(.+?)\*\*/gm)].map((m) => [Number(m[1]), m[2]!]));
}

/** The text of step n, up to the next step. */
function stepText(n: number): string {
  const start = DEPLOY.indexOf(`\n${n}. **`);
  const next = DEPLOY.indexOf(`\n${n + 1}. **`, start);
  return DEPLOY.slice(start, next);
}

function files(dir: string, ext: RegExp): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })) {
    if (e.isFile() && ext.test(e.name)) out.push(relative(ROOT, join(e.parentPath, e.name)));
  }
  return out;
}

// What each step is about, as the text around a reference to it would say it.
const TOPIC: Record<number, RegExp> = {
  1: /SD card/i,
  2: /boot|update/i,
  3: /\bnode\b/i,
  4: /unpack|\/opt\/beonho/i,
  5: /config/i,
  6: /install/i,
  7: /check|status/i,
  8: /leave/i,
};

describe('docs/deploy.md as the deploy path uses it', () => {
  it('names each install step for what it is about', () => {
    const steps = installSteps();
    expect([...steps.keys()]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (const [n, heading] of steps) expect(heading, `step ${n}`).toMatch(TOPIC[n]!);
  });

  it('every "docs/deploy.md, step N" in the source and the docs names that step, about that thing', () => {
    const steps = installSteps();
    const sources = [
      ...['device', 'bridge', 'display', 'deploy', 'sim', 'scripts'].flatMap((d) => files(d, /\.ts$/)),
      ...files('docs', /\.md$/),
      'README.md',
      'config/example.yaml',
    ];
    const refs: string[] = [];
    for (const file of sources) {
      for (const line of read(file).split('\n')) {
        for (const m of line.matchAll(/docs\/deploy\.md, step (\d+)/g)) {
          const n = Number(m[1]);
          const before = line.slice(0, m.index);
          refs.push(`${file}: step ${n}`);
          expect(steps.has(n), `${file}: step ${n} does not exist`).toBe(true);
          expect(before, `${file}: step ${n} ("${steps.get(n)}") is not what "${before.trim()}" is about`).toMatch(
            TOPIC[n]!,
          );
        }
      }
    }
    // the installer's messages are among them: the test would see nothing if the pattern drifted
    expect(refs).toEqual(expect.arrayContaining(['deploy/installer.ts: step 4', 'deploy/installer.ts: step 5']));
  });

  it("step 5's office issues tickets on real hardware: buttons, keypads, board, printer and voice", () => {
    const yaml = /```yaml\n([\s\S]*?)```/.exec(stepText(5))?.[1];
    expect(yaml).toBeDefined();
    const config = validateConfig(parseYaml(yaml!.replace(/^ {3}/gm, '')), 'docs/deploy.md step 5');
    const served = (config.dispenser?.buttons ?? []).map((b) => b.service);
    for (const s of config.services) expect(served, s.id).toContain(s.id);
    // the simulator's drivers are the schema's defaults: a config that leaves one out gets files
    expect(config.hardware.buttons.driver).not.toBe('sim');
    expect(config.hardware.keypads.driver).not.toBe('sim');
    const { board, printer, audio } = config.outputs;
    expect([board.driver, printer.driver, audio.driver]).toEqual(['framebuffer', 'escpos', 'alsa']);
    // escpos will not start without the QR secret: step 5 puts it in the service's environment
    expect(stepText(5)).toContain('BEONHO_TICKET_SECRET=');
  });

  it('offers JSON to scripts only through npm run -s, which leaves out npm banner', () => {
    for (const file of [...files('docs', /\.md$/), 'README.md']) {
      for (const m of read(file).matchAll(/npm run (?:-s )?\w[\w-]* -- [^`\n]*--json/g)) {
        expect(m[0], file).toMatch(/^npm run -s /);
      }
    }
  });

  it('gives the pretty log reader by its path in the release, never through npx', () => {
    expect(DEPLOY).not.toMatch(/npx pino-pretty/);
    expect(stepText(7)).toContain('node /opt/beonho/node_modules/pino-pretty/bin.js');
  });
});

describe('config/example.yaml', () => {
  it('goes back from an upgrade with commands that work on a data dir of its own partition', () => {
    const start = DEPLOY.indexOf('## Upgrades');
    const section = DEPLOY.slice(start, DEPLOY.indexOf('\n## ', start + 1));
    // the state copy of step 2, and the way back: into the mount point, never in its place
    expect(section).toContain('sudo cp -a /var/lib/beonho /var/lib/beonho.before-0.2.0');
    expect(section).toContain('sudo cp -a /var/lib/beonho.before-0.2.0/. /var/lib/beonho/');
    expect(section).not.toMatch(/(rm -rf|mv) \/var\/lib\/beonho(\s|$)/m);
    // the old release's own units, as step 4 writes the new one's
    expect(section).toMatch(/the old release's units/);
  });

  it('names only docs that exist (the release ships docs/ and README.md beside it)', () => {
    const text = read('config/example.yaml');
    const named = [...text.matchAll(/\b(docs\/[\w./-]+\.md|README\.md)\b/g)].map((m) => m[1]!);
    expect(named.length).toBeGreaterThan(0);
    const shipped = new Set([...files('docs', /\.md$/), 'README.md']);
    for (const p of named) expect(shipped.has(p), p).toBe(true);
  });
});
