// Turns the bytes of a `cmd` message into a Command, or into a stable error code. Nothing here
// touches the queue: a payload that fails any check changes nothing.
import type { ErrorObject } from 'ajv';
import { validator } from '../contract/schemas.ts';
import { COMMAND_TYPES, type Command, type CommandError, type CommandErrorCode } from '../contract/types.ts';
import { refusedRef } from './ref.ts';

const KNOWN = new Set<string>(COMMAND_TYPES);
const ID = /^[\x21-\x7e]{1,64}$/;
/** what a field of the contract's commands looks like (an unknown key is echoed only then): no
 * digits, as none of the contract's has any; a key with digits may be data (`tel01012345678`) */
const FIELD_NAME = /^[A-Za-z][A-Za-z_]{0,31}$/;
/** a UTF-16 surrogate not paired (with the u flag a pair is one code point and never matches) */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

export type Validated =
  | { ok: true; command: Command }
  /** id/type are echoed in the result when they could be read */
  | { ok: false; id: string | null; type?: string; error: CommandError };

export interface ValidateOptions {
  office: string;
  maxBytes: number;
}

function fail(id: string | null, code: CommandErrorCode, message: string, field?: string, type?: string): Validated {
  return { ok: false, id, ...(type ? { type } : {}), error: { code, message, ...(field ? { field } : {}) } };
}

export function validateCommand(payload: Buffer | Uint8Array, opts: ValidateOptions): Validated {
  if (payload.byteLength > opts.maxBytes) {
    return fail(null, 'too-large', `command is ${payload.byteLength} bytes; the limit is ${opts.maxBytes}`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(payload);
  } catch {
    return fail(null, 'malformed', 'command is not valid UTF-8');
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return fail(null, 'malformed', 'command is not valid JSON');
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    return fail(null, 'not-an-object', 'command must be a JSON object with "id" and "type"');
  }
  const obj = doc as Record<string, unknown>;
  const rawId = obj.id;
  if (rawId === undefined) return fail(null, 'missing-id', 'command has no "id"; send a unique id per command', 'id');
  if (typeof rawId !== 'string' || !ID.test(rawId)) {
    return fail(null, 'invalid-id', '"id" must be 1 to 64 printable ASCII characters without spaces', 'id');
  }
  const id = rawId;
  const type = obj.type;
  if (type === undefined) return fail(id, 'missing-field', 'command has no "type"', 'type');
  if (typeof type !== 'string' || !KNOWN.has(type)) {
    return fail(id, 'unknown-type', `unknown command type; expected one of ${COMMAND_TYPES.join(', ')}`, 'type');
  }
  if (obj.office !== undefined && obj.office !== opts.office) {
    return fail(id, 'wrong-office', `this device serves office "${opts.office}"`, 'office', type);
  }
  // `ref` is republished to every subscriber: checked before the schema, so a ref that could be a
  // phone or resident number is answered personal-data whatever else is wrong with it.
  const badRef = typeof obj.ref === 'string' ? refusedRef(obj.ref) : null;
  if (badRef?.code === 'personal-data') return { ok: false, id, type, error: badRef };
  const v = validator(`cmd.json#/definitions/${type}`);
  if (!v(obj)) return { ok: false, id, type, error: describe(v.errors ?? [], type) };
  // the schema's pattern says the same; this keeps the rule in one module (ref.ts) for the code
  if (badRef) return { ok: false, id, type, error: badRef };
  // JSON may escape half a surrogate pair (`"\ud800"`), which no UTF-8 can carry: a notice holding
  // one went into the retained state and every event as that escape, and a strict parser at central
  // (serde_json, for one) then refused the office's state until the notice changed.
  for (const [field, value] of Object.entries(obj)) {
    if (typeof value === 'string' && LONE_SURROGATE.test(value)) {
      return fail(id, 'invalid-field', `field "${field}" holds half a surrogate pair: not Unicode text`, field, type);
    }
  }
  return { ok: true, command: obj as unknown as Command };
}

/** The first schema error, as a stable code and a sentence. */
function describe(errors: ErrorObject[], type: string): CommandError {
  const e =
    errors.find((x) => x.keyword === 'additionalProperties') ??
    errors.find((x) => x.schemaPath.includes('/oneOf')) ??
    errors.find((x) => x.keyword === 'required') ??
    errors[0];
  if (e?.schemaPath.includes('/oneOf')) {
    return { code: 'invalid-field', message: `a ${type} command needs exactly one of toService, toCounter` };
  }
  if (!e) return { code: 'invalid-field', message: `invalid ${type} command` };
  const at = e.instancePath.replace(/^\//, '').split('/')[0] ?? '';
  switch (e.keyword) {
    case 'additionalProperties': {
      // Named only when it looks like a field name: a key is free text (a name, a phone number)
      // and the result is republished to every reader of cmd/result, and logged.
      const key = String((e.params as { additionalProperty: string }).additionalProperty);
      if (!FIELD_NAME.test(key)) {
        return { code: 'unknown-field', message: `a field that is not part of a ${type} command (its name not shown)` };
      }
      return { code: 'unknown-field', message: `field "${key}" is not part of a ${type} command`, field: key };
    }
    case 'required': {
      const field = String((e.params as { missingProperty: string }).missingProperty);
      return { code: 'missing-field', message: `a ${type} command needs "${field}"`, field };
    }
    default:
      return {
        code: 'invalid-field',
        message: `field "${at}" ${e.message ?? 'is invalid'}`,
        ...(at ? { field: at } : {}),
      };
  }
}
