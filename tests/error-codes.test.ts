// One error-code vocabulary: the typed lists in device/error-codes.ts, the table in docs/errors.md
// and the code literals in the source must name the same codes. A code added in one place only
// fails here, with the place to add it.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CODE_LISTS, COMMAND_ERRORS, QUEUE_ERRORS } from '../device/error-codes.ts';
import { REFUSAL_WHEN_CLOSED } from '../device/queue/closed.ts';
import { CLOSED_REASONS } from '../device/queue/types.ts';
import { tableAfter, ticked } from './helpers/markdown.ts';

const ROOT = join(import.meta.dirname, '..');
const SOURCE_DIRS = ['device', 'bridge', 'display', 'deploy', 'sim'];
const REGISTRY = join('device', 'error-codes.ts');
const KEBAB = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const PLACES = new Set(['log', 'cmd/result', 'status', 'exit', 'stderr', 'http']);
type Area = keyof typeof CODE_LISTS;

function sourceFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
    }
  };
  for (const d of SOURCE_DIRS) walk(join(ROOT, d));
  return out;
}

// Places in the source where a string literal is a code: a `code` field or property, a fallback
// after `.code ??`, the first argument of a FooError, a driver's fail()/outcome() code argument, a
// component's `lastError`/`error`. Best effort by design: where the code is typed with its area's
// list (the queue's refuse(), command validation, the error classes) tsc checks it; this catches
// the literals that are not typed. A code built at run time (`mqtt-${reason}`) it cannot see.
const CODE_PLACES = [
  /\bcode\s*[:=]\s*'([^'\s]+)'/g,
  /\bcode\s*:\s*\w+\s*=\s*'([^'\s]+)'/g,
  /\.code\)?\s*\?\?\s*'([^'\s]+)'/g,
  /new\s+[A-Z]\w*Error\(\s*'([^'\s]+)'/g,
  /\b(?:fail|outcome)\(\s*(?:[\w.]+\s*,\s*)?'([^'\s]+)'/g,
  /\b(?:lastError|lastCallError|error)\s*[:=]\s*'([^'\s]+)'/g,
];
// Literals in those places that are not ours: zod's own issue code, and a read result that is
// turned into a log line with a code of its own.
const NOT_CODES = new Set(['custom', 'missing']);

describe('error codes', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'errors.md'), 'utf8');
  const rows = tableAfter(doc, '## The table');
  const listed = Object.entries(CODE_LISTS).flatMap(([area, codes]) => codes.map((code) => `${area} ${code}`));
  const allCodes = new Set<string>(Object.values(CODE_LISTS).flat());

  it('are kebab-case, each once in its area list', () => {
    for (const [area, codes] of Object.entries(CODE_LISTS)) {
      for (const code of codes) expect(code, `${area}: ${code}`).toMatch(KEBAB);
      expect(new Set(codes).size, area).toBe(codes.length);
    }
  });

  it('docs/errors.md has a row for every code in the lists, and none for a code no list has', () => {
    const documented = rows.map((r) => `${r[1]} ${ticked(r[0]!).join(' ')}`);
    const undocumented = listed.filter((c) => !documented.includes(c));
    const stale = documented.filter((c) => !listed.includes(c));
    expect(undocumented, 'add a row to docs/errors.md for').toEqual([]);
    expect(stale, 'docs/errors.md documents codes no list in device/error-codes.ts has').toEqual([]);
    expect(new Set(documented).size, 'a code is documented twice in one area').toBe(documented.length);
  });

  it('says for every code where it appears, what it means and what a person does', () => {
    for (const [code, area, where, meaning, todo] of rows) {
      expect(ticked(code!), `row ${code}`).toHaveLength(1);
      expect(Object.keys(CODE_LISTS), `${code}: area`).toContain(area as Area);
      const places = where!.split(',').map((p) => p.trim());
      expect(places.length, `${code}: where`).toBeGreaterThan(0);
      for (const p of places) expect(PLACES.has(p), `${code}: "${p}" is not one of ${[...PLACES]}`).toBe(true);
      expect(meaning, `${code}: meaning`).not.toBe('');
      expect(todo, `${code}: what a person does`).not.toBe('');
    }
  });

  it('every code literal in the source is in a list, and every listed code is used', () => {
    const files = sourceFiles();
    const unlisted: string[] = [];
    const text = new Map(files.map((f) => [relative(ROOT, f), readFileSync(f, 'utf8')]));
    for (const [file, src] of text) {
      if (file === REGISTRY) continue;
      for (const re of CODE_PLACES) {
        for (const m of src.matchAll(re)) {
          const code = m[1]!;
          if (!allCodes.has(code) && !NOT_CODES.has(code)) unlisted.push(`${file}: '${code}'`);
        }
      }
    }
    expect(unlisted, 'add these to their area in device/error-codes.ts and docs/errors.md').toEqual([]);
    const unused = [...allCodes].filter(
      (code) => ![...text].some(([file, src]) => file !== REGISTRY && src.includes(`'${code}'`)),
    );
    expect(unused, 'listed in device/error-codes.ts but used nowhere: remove them and their rows').toEqual([]);
  });

  it('maps each published closed reason to one refusal code, as docs/errors.md says', () => {
    const table = tableAfter(doc, '## Closed reasons and refusal codes').map((r) => [
      ticked(r[0]!)[0],
      ticked(r[1]!)[0],
    ]);
    expect(Object.fromEntries(table)).toEqual(REFUSAL_WHEN_CLOSED);
    expect(Object.keys(REFUSAL_WHEN_CLOSED).sort()).toEqual([...CLOSED_REASONS].sort());
    for (const code of Object.values(REFUSAL_WHEN_CLOSED)) expect(QUEUE_ERRORS).toContain(code);
  });

  it("docs/mqtt.md's cmd/result codes are the command and queue lists", () => {
    const mqtt = readFileSync(join(ROOT, 'docs', 'mqtt.md'), 'utf8');
    const validation = tableAfter(mqtt, '#### Error codes of cmd/result').map((r) => ticked(r[0]!)[0]);
    expect(validation.sort()).toEqual([...COMMAND_ERRORS].sort());
    const section = mqtt.slice(mqtt.indexOf('#### Error codes of cmd/result'));
    const fromQueue = section.slice(section.indexOf('From the queue'));
    const queue = ticked(fromQueue.slice(0, fromQueue.indexOf('\n\n')));
    expect(queue.sort()).toEqual([...QUEUE_ERRORS].sort());
    expect(section, 'links the full table').toContain('(errors.md)');
  });
});
