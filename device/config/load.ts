// Reading and validating the config: YAML in, a typed Config out, or one line per problem naming
// the field ("services[2].cutoff: expected HH:MM (00:00 to 23:59), got "25:00"").
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { simulatorDefault } from './default.ts';
import { type Config, configSchema } from './schema.ts';

export class ConfigError extends Error {
  readonly code = 'config-invalid';
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`${source}: ${problems.length} problem(s) in the configuration:\n  ${problems.join('\n  ')}`);
  }
}

export function validateConfig(input: unknown, source = 'config'): Config {
  const result = configSchema.safeParse(input);
  if (result.success) return result.data;
  throw new ConfigError(source, formatIssues(result.error.issues, input));
}

export async function loadConfig(file?: string): Promise<{ config: Config; source: string }> {
  if (!file) return { config: validateConfig(simulatorDefault, 'built-in simulator config'), source: 'built-in' };
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [`cannot read the file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`]);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text, { prettyErrors: true });
  } catch (err) {
    throw new ConfigError(file, [`not valid YAML: ${(err as Error).message.split('\n')[0]}`]);
  }
  return { config: validateConfig(doc ?? {}, file), source: file };
}

export function formatIssues(issues: readonly z.core.$ZodIssue[], input: unknown): string[] {
  return issues.map((issue) => {
    const path = formatPath(issue.path);
    const got = valueAt(input, issue.path);
    // Cross-field checks name the offending value in their message already.
    const suffix =
      issue.code === 'custom'
        ? ''
        : got === undefined
          ? issue.code === 'invalid_type'
            ? ', got nothing'
            : ''
          : `, got ${show(got)}`;
    const message =
      issue.code === 'unrecognized_keys'
        ? `unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`
        : issue.message;
    return `${path || '(top level)'}: ${message}${issue.code === 'unrecognized_keys' ? '' : suffix}`;
  });
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = input;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  if (s === undefined) return String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
