// Loads the shipped JSON Schemas (./schemas/*.json) into one ajv instance. Commands are validated
// with them at run time; tests validate every outgoing payload with them too.
import { readdirSync, readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { buildFile } from '../../device/util/build-root.ts';
import type { TopicKind } from './topics.ts';

// ajv-formats is CommonJS with a default export; under NodeNext the callable sits on `.default`.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: Ajv,
) => Ajv;

/** The shipped schemas' folder (found from the build's root: the daemon runs as one bundle). */
export const SCHEMA_DIR = `${buildFile('bridge/contract/schemas')}/`;

/** schema file name -> parsed JSON, exactly as shipped */
export function loadSchemaFiles(): Map<string, Record<string, unknown>> {
  const files = new Map<string, Record<string, unknown>>();
  for (const name of readdirSync(SCHEMA_DIR).sort()) {
    if (!name.endsWith('.json')) continue;
    files.set(name, JSON.parse(readFileSync(SCHEMA_DIR + name, 'utf8')) as Record<string, unknown>);
  }
  return files;
}

/** Which schema file describes each topic's payload. */
export const TOPIC_SCHEMA: Record<TopicKind, string> = {
  state: 'state.json',
  events: 'event.json',
  status: 'status.json',
  cmd: 'cmd.json',
  'cmd/result': 'cmd-result.json',
};

let shared: Ajv | undefined;

export function contractAjv(): Ajv {
  if (shared) return shared;
  const ajv = new Ajv({ allErrors: false, strict: true, strictRequired: false });
  addFormats(ajv);
  for (const [name, schema] of loadSchemaFiles()) ajv.addSchema(schema, name);
  shared = ajv;
  return ajv;
}

/** A validator for a schema file, or for a definition inside it ("cmd.json#/definitions/day.open"). */
export function validator(ref: string): ValidateFunction {
  const v = contractAjv().getSchema(ref);
  if (!v) throw new Error(`schema ${ref} is not shipped in bridge/contract/schemas`);
  return v;
}

export function validatorFor(kind: TopicKind): ValidateFunction {
  return validator(TOPIC_SCHEMA[kind]);
}
