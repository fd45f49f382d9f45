// What the main unit sends a satellite, checked against the contract (bridge/contract/schemas)
// before the board, the voice or the keys read it. A state or a result that is not the contract's
// (a damaged payload, a main unit of another release missing a field) threw in the link's message
// handler or in the board's render, and an uncaught exception ends the satellite: one such state,
// retained, ended it again at every restart. An event that is not went to the board and the voice
// as it was (a call with no counter was announced to counter "undefined", spelled out).
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
/** the event types of the contract: each has its schema, event.<type>.json */
const eventTypes = new Set<string>();

function contract(): Ajv {
  if (!lenient) {
    const ajv = new Ajv({ allErrors: false, strict: true, strictRequired: false, removeAdditional: true });
    addFormats(ajv);
    for (const [file, s] of loadSchemaFiles()) {
      ajv.addSchema(s, file);
      const type = /^event\.(.+)\.json$/.exec(file)?.[1];
      if (type) eventTypes.add(type);
    }
    lenient = ajv;
  }
  return lenient;
}

function schema(name: string): ValidateFunction {
  const v = contract().getSchema(name);
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

/** Why `doc` is not an event of the contract (unknown fields dropped), or null. An event of a type
 * this release does not know (a later one) is not one either: nothing here would draw or say it. */
export function eventProblem(doc: { type: string }): string | null {
  contract();
  if (!eventTypes.has(doc.type)) return `unknown event type ${JSON.stringify(doc.type.slice(0, 40))}`;
  return problem(schema(`event.${doc.type}.json`), doc);
}

function problem(validate: ValidateFunction, doc: unknown): string | null {
  if (validate(doc)) return null;
  const e = validate.errors?.[0];
  return e ? `${e.instancePath || '/'} ${e.message ?? 'is invalid'}` : 'invalid';
}
