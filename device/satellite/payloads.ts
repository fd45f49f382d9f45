// What the main unit sends a satellite, checked against the contract (bridge/contract/schemas)
// before the board, the voice or the keys read it. A state or a result that is not the contract's
// (a damaged payload, a main unit of another release missing a field) threw in the link's message
// handler or in the board's render, and an uncaught exception ends the satellite: one such state,
// retained, ended it again at every restart.
//
// Lenient where releases may differ: a field this release does not know is dropped, not refused
// (ajv's removeAdditional, on the places the contract closes with additionalProperties: false).
// A separate ajv instance: the broker's own (contractAjv) validates commands strictly, as is.
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { loadSchemaFiles } from '../../bridge/contract/schemas.ts';

// ajv-formats is CommonJS with a default export; under NodeNext the callable sits on `.default`.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: Ajv,
) => Ajv;

let lenient: Ajv | undefined;

function schema(name: string): ValidateFunction {
  if (!lenient) {
    const ajv = new Ajv({ allErrors: false, strict: true, strictRequired: false, removeAdditional: true });
    addFormats(ajv);
    for (const [file, s] of loadSchemaFiles()) ajv.addSchema(s, file);
    lenient = ajv;
  }
  const v = lenient.getSchema(name);
  if (!v) throw new Error(`schema ${name} is not shipped in bridge/contract/schemas`);
  return v;
}

/** Why `doc` is not a state of the contract (its fields unknown to this release dropped), or null. */
export function stateProblem(doc: unknown): string | null {
  return problem(schema('state.json'), doc);
}

/** Why `doc` is not a command result of the contract (unknown fields dropped), or null. */
export function resultProblem(doc: unknown): string | null {
  return problem(schema('cmd-result.json'), doc);
}

function problem(validate: ValidateFunction, doc: unknown): string | null {
  if (validate(doc)) return null;
  const e = validate.errors?.[0];
  return e ? `${e.instancePath || '/'} ${e.message ?? 'is invalid'}` : 'invalid';
}
