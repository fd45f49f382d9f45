// Reading and validating the config: YAML in, a typed Config out, or one line per problem naming
// the field ("services[2].cutoff: expected HH:MM (00:00 to 23:59), got "25:00"").
import { type FileHandle, open } from 'node:fs/promises';
import leven from 'leven';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { simulatorDefault } from './default.ts';
import { ConfigError } from './config-error.ts';
import { type Config, configSchema } from './schema.ts';
import { redactUrl } from '../../bridge/uplink/client-common.ts';

export { ConfigError };

export function validateConfig(input: unknown, source = 'config'): Config {
  const result = configSchema.safeParse(input);
  if (result.success) return result.data;
  throw new ConfigError(source, formatIssues(result.error.issues, input));
}

/** A config read from its file: the config, where it came from, and what the YAML parser warned
 * of in a file it could read (an unknown tag: `!foo x` is read as the text "x"). */
export interface LoadedFile {
  config: Config;
  source: string;
  /** one line each, without the file's text (a line of it may hold a password) */
  warnings: string[];
}

export async function loadConfig(file?: string): Promise<LoadedFile> {
  if (!file) {
    return { config: validateConfig(simulatorDefault, 'built-in simulator config'), source: 'built-in', warnings: [] };
  }
  const text = decodeText(file, await readConfigFile(file));
  let doc: unknown;
  let warnings: string[];
  try {
    // parseDocument, not parse: parse() prints its warnings itself, as Node's multi-line warning
    // blocks on stderr, beside the daemon's JSON log lines; the daemon logs them as its own
    const parsed = parseDocument(text, { prettyErrors: true });
    if (parsed.errors.length > 0) throw parsed.errors[0];
    warnings = parsed.warnings.map((w) => w.message.split('\n')[0]!.replace(/:$/, ''));
    doc = parsed.toJS();
  } catch (err) {
    // the first line only (the lines after it quote the file, which may hold a password), without
    // the colon that introduced them
    throw new ConfigError(file, [`not valid YAML: ${(err as Error).message.split('\n')[0]!.replace(/:$/, '')}`]);
  }
  // an empty file (a copy that failed, a disk that was full) would be a list of every required key
  if (doc === null || doc === undefined)
    throw new ConfigError(file, [
      'the file has no settings (it is empty or only comments): start from config/example.yaml',
    ]);
  return { config: validateConfig(doc, file), source: file, warnings };
}

/** A config is a few KB (a city hall's with every account, ~20 KB). A file far larger is not one (a
 * release tarball, a log given to --config by mistake), and reading it whole could take the memory
 * of a 512 MB board. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

async function readConfigFile(file: string): Promise<Buffer> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(file, 'r');
    const stat = await handle.stat();
    if (stat.isDirectory()) throw new ConfigError(file, ['this is a directory: give the config file in it']);
    if (stat.size > MAX_CONFIG_BYTES)
      throw new ConfigError(file, [
        `the file is ${(stat.size / 1024 / 1024).toFixed(1)} MB, where a config is a few KB: is it the right file?`,
      ]);
    return await handle.readFile();
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(file, [`cannot read the file: ${code ?? String(err)}`]);
  } finally {
    await handle?.close();
  }
}

/** The file's text, which must be UTF-8. Read as UTF-8 regardless, a file saved as EUC-KR (CP949,
 * "ANSI" of an editor on Korean Windows) loaded with every Korean name replaced by U+FFFD, and the
 * board and the tickets showed the replacement marks. */
function decodeText(file: string, bytes: Buffer): string {
  const SAVE_AS = 'save it as UTF-8 (in Notepad: Save as, Encoding UTF-8)';
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))
    throw new ConfigError(file, [`the file is UTF-16 text: ${SAVE_AS}`]);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const lossy = bytes.toString('utf8');
    const at = lossy.indexOf('\uFFFD');
    const line = lossy.slice(0, Math.max(at, 0)).split('\n').length;
    throw new ConfigError(file, [
      `line ${line}: the file is not UTF-8 text (Korean saved as EUC-KR/CP949, "ANSI"?): ${SAVE_AS}`,
    ]);
  }
}

export function formatIssues(
  issues: readonly z.core.$ZodIssue[],
  input: unknown,
  schema: z.ZodType = configSchema,
): string[] {
  return issues.flatMap((issue) => {
    const at = formatPath(issue.path) || '(top level)';
    if (issue.code === 'unrecognized_keys') {
      // One line per key: each is a problem of its own, and each may have its own likely fix.
      const present = valueAt(input, issue.path);
      const known = keysAt(schema, issue.path).filter((k) => !(isRecord(present) && present[k] !== undefined));
      return issue.keys.map((key) => {
        const near = closest(key, known);
        return `${at}: unknown key "${key}"${near ? `: did you mean "${near}"?` : ''}`;
      });
    }
    const key = issue.path.at(-1);
    const got = valueAt(input, issue.path);
    // zod's own wording ("Invalid input: expected array, received undefined") names a JavaScript
    // type; a person editing YAML needs to hear that a key is missing, or what to write instead.
    if (issue.code === 'invalid_type' && issue.message.startsWith('Invalid input')) {
      const what = describeType(issue.expected, key);
      if (got === undefined) return [`${at}: required (${what}), missing`];
      if (got === null) return [`${at}: expected ${what}, but the key is empty`];
      return [`${at}: expected ${what}, got ${show(got, key)}`];
    }
    return [`${at}: ${issue.message}${gotSuffix(issue, got, key)}`];
  });
}

/** ", got <value>" where the line does not show the value already. */
function gotSuffix(issue: z.core.$ZodIssue, got: unknown, key: PropertyKey | undefined): string {
  if (got === undefined) return '';
  if (issue.code === 'custom') {
    // A rule over a whole section (two ranges overlap) describes it better than its JSON would.
    if (isRecord(got)) return '';
    if (mentions(issue.message, got)) return '';
  }
  return `, got ${show(got, key)}`;
}

function mentions(message: string, v: unknown): boolean {
  if (typeof v === 'string') return message.includes(JSON.stringify(v)) || message.includes(`"${v}"`);
  if (typeof v === 'number' || typeof v === 'boolean')
    return new RegExp(`(^|[^\\w.])${String(v).replace('.', '\\.')}($|[^\\w.])`).test(message);
  return false;
}

function describeType(expected: string, key: PropertyKey | undefined): string {
  switch (expected) {
    case 'array':
      // "a list of counters"; "a list of near" would not be English
      return typeof key === 'string' && key.endsWith('s') ? `a list of ${key}` : 'a list';
    case 'object':
      return typeof key === 'number' ? 'an entry of keys' : 'a section of keys';
    case 'string':
      return 'a text';
    case 'boolean':
      return 'true or false';
    case 'number':
    case 'int':
      return 'a number';
    default:
      return `a ${expected}`;
  }
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

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

// A config holds account passwords and hashes and the ticket secret: a problem line goes to the
// journal and into support mails, so it says that such a value is wrong, never what it is.
const SECRET = /^(password|passwordHash)$|secret/i;

function show(v: unknown, key?: PropertyKey): string {
  if (typeof key === 'string' && SECRET.test(key)) return '(hidden)';
  if (typeof v === 'string') {
    // the user name and password a URL may carry (mqtt.js takes them as the link's credentials)
    const t = redactUrl(v);
    return JSON.stringify(t.length > 60 ? `${t.slice(0, 57)}...` : t);
  }
  let s: string | undefined;
  try {
    s = JSON.stringify(v, (k, val) => (k && SECRET.test(k) ? '(hidden)' : val));
  } catch {
    // a YAML alias inside the node it names (`office: &o {name: *o}`) makes a value contain itself
    return '(a value that contains itself, through a YAML alias)';
  }
  if (s === undefined) return String(v);
  s = redactUrl(s);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** The keys the schema knows at `path` (through defaults, optionals, pipes and unions). */
function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let level: z.core.$ZodType[] = [schema];
  for (const p of [...path, null]) {
    const next: z.core.$ZodType[] = [];
    const keys: string[] = [];
    const visit = (t: z.core.$ZodType): void => {
      const def = t._zod.def as z.core.$ZodTypeDef & Record<string, unknown>;
      switch (def.type) {
        case 'object': {
          const shape = def.shape as Record<string, z.core.$ZodType>;
          if (p === null) keys.push(...Object.keys(shape));
          else if (typeof p === 'string' && shape[p]) next.push(shape[p]);
          return;
        }
        case 'array':
          if (typeof p === 'number') next.push(def.element as z.core.$ZodType);
          return;
        case 'union':
          for (const o of def.options as z.core.$ZodType[]) visit(o);
          return;
        case 'pipe':
          visit(def.in as z.core.$ZodType);
          return;
        default:
          if (def.innerType) visit(def.innerType as z.core.$ZodType);
      }
    };
    for (const t of level) visit(t);
    if (p === null) return [...new Set(keys)];
    level = next;
  }
  return [];
}

/** The known key a typo most likely meant: the same but for case, _ or -, or a letter or two off
 * (Levenshtein distance, so two swapped letters count as two). */
function closest(key: string, known: readonly string[]): string | null {
  const norm = (k: string): string => k.toLowerCase().replace(/[-_]/g, '');
  const limit = key.length <= 4 ? 1 : 2;
  let best: string | null = null;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const k of known) {
    const d = leven(norm(k), norm(key));
    if (d <= limit && d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}
