// The settings the docs describe are the schema's: every key of device/config/ is named in the
// docs (README.md, docs/*.md or config/example.yaml), and the defaults the key tables give
// (docs/audio.md, docs/mqtt.md) are the schema's defaults.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { configSchema } from '../device/config/schema.ts';
import { tableAfter, ticked } from './helpers/markdown.ts';

const ROOT = join(import.meta.dirname, '..');
const read = (p: string): string => readFileSync(join(ROOT, p), 'utf8');
const ALL_DOCS = ['README.md', 'config/example.yaml', ...readdirSync(join(ROOT, 'docs')).map((f) => `docs/${f}`)]
  .filter((f) => /\.(md|yaml)$/.test(f))
  .map(read)
  .join('\n');

interface Key {
  path: string;
  default?: unknown;
}

/** Every key of the schema, as a dotted path (list items as `[]`), with its default when it has one. */
function keysOf(schema: z.ZodType): Key[] {
  const out: Key[] = [];
  // biome-ignore lint/suspicious/noExplicitAny: zod's definitions, walked generically
  const walk = (s: any, path: string, dflt?: unknown): unknown => {
    const def = s._zod.def;
    switch (def.type) {
      case 'default':
      case 'prefault':
        return walk(
          def.innerType,
          path,
          typeof def.defaultValue === 'function' ? def.defaultValue() : def.defaultValue,
        );
      case 'optional':
      case 'nullable':
      case 'readonly':
        return walk(def.innerType, path, dflt);
      case 'pipe':
        return walk(def.in, path, dflt);
      case 'array':
        out.push({ path, default: dflt });
        return walk(def.element, `${path}[]`);
      case 'union':
        for (const o of def.options) walk(o, path, dflt);
        return;
      case 'intersection':
        walk(def.left, path, dflt);
        walk(def.right, path, dflt);
        return;
      case 'object':
        if (path) out.push({ path, default: dflt });
        for (const [k, v] of Object.entries(def.shape)) walk(v, path ? `${path}.${k}` : k);
        return;
      default:
        out.push({ path, default: dflt });
    }
  };
  walk(schema, '');
  return out;
}

const KEYS = keysOf(configSchema);
const defaultOf = (path: string): unknown => KEYS.find((k) => k.path === path)?.default;

/** A default as a table writes it: `150`, `"aplay"`, `65,536`; a dash for none. */
function written(cell: string): unknown {
  const text = ticked(cell)[0] ?? cell.trim();
  if (text === '—' || text === 'none') return undefined;
  if (/^-?[\d,]+(\.\d+)?$/.test(text)) return Number(text.replaceAll(',', ''));
  if (text === 'true' || text === 'false') return text === 'true';
  if (text === 'null' || text === '[]') return JSON.parse(text);
  return text;
}

describe('the configuration keys', () => {
  it('are read from the schema', () => {
    expect(KEYS.length).toBeGreaterThan(150);
    expect(defaultOf('outputs.audio.rate')).toBe(150);
  });

  it('are each named in the docs', () => {
    const unnamed = [
      ...new Set(
        KEYS.map((k) => k.path.replaceAll('[]', '')).filter((path) => {
          const leaf = path.split('.').at(-1)!;
          return !ALL_DOCS.includes(path) && !ALL_DOCS.includes(`\`${leaf}\``) && !ALL_DOCS.includes(`${leaf}:`);
        }),
      ),
    ];
    expect(unnamed, 'document these keys where their section is described').toEqual([]);
  });

  it("have docs/audio.md's defaults", () => {
    const rows = tableAfter(read('docs/audio.md'), '## Configuration (`outputs.audio`)');
    expect(rows.length).toBeGreaterThan(10);
    for (const [key, dflt] of rows) {
      const path = `outputs.audio.${ticked(key!)[0]}`;
      expect(
        KEYS.some((k) => k.path === path),
        path,
      ).toBe(true);
      expect(written(dflt!), path).toEqual(defaultOf(path));
    }
  });

  it("have docs/mqtt.md's defaults: the embedded broker, its limits and the uplink", () => {
    const mqtt = read('docs/mqtt.md');
    const broker = tableAfter(mqtt, '## Embedded broker');
    for (const [key, dflt, text] of broker) {
      const path = ticked(key!)[0]!;
      expect(
        KEYS.some((k) => k.path === path),
        path,
      ).toBe(true);
      if (path === 'mqtt.broker.limits') {
        const limits = [...text!.matchAll(/`(\w+)` \(([\d.,]+)\)/g)];
        const schemaLimits = KEYS.filter((k) => k.path.startsWith('mqtt.broker.limits.'));
        expect(limits.map((m) => m[1]).sort()).toEqual(schemaLimits.map((k) => k.path.split('.').at(-1)).sort());
        for (const [, name, value] of limits) {
          expect(Number(value!.replaceAll(',', '')), name).toBe(defaultOf(`mqtt.broker.limits.${name}`));
        }
      } else if (!/^`/.test(dflt!))
        continue; // "none", "see below", "loopback pages": described in words
      else expect(written(dflt!), path).toEqual(defaultOf(path));
    }
    const uplink = tableAfter(mqtt, '## Uplink to central');
    for (const [key, dflt] of uplink) {
      const names = ticked(key!);
      const values = ticked(dflt!);
      names.forEach((name, i) => {
        const path = `mqtt.uplink.${name}`;
        expect(
          KEYS.some((k) => k.path === path),
          path,
        ).toBe(true);
        // the client id's default is made at start from the office and the device
        if (values[i] !== undefined && name !== 'clientId') {
          expect(written(`\`${values[i]}\``), path).toEqual(defaultOf(path));
        }
      });
    }
  });
});
