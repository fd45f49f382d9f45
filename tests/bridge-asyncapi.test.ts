// docs/asyncapi.yaml parses as AsyncAPI 3 and its message payloads are exactly the JSON Schemas
// the bridge ships and validates with (bridge/contract/schemas), every event type included.
import { fileURLToPath } from 'node:url';
import { fromFile, Parser } from '@asyncapi/parser';
import { describe, expect, it } from 'vitest';
import { loadSchemaFiles, TOPIC_SCHEMA, validator } from '../bridge/contract/schemas.ts';

const files = loadSchemaFiles();

/** Inline every $ref the way a resolver does, starting from one shipped file. */
function deref(node: unknown, file: string): unknown {
  if (Array.isArray(node)) return node.map((n) => deref(n, file));
  if (node === null || typeof node !== 'object') return node;
  const obj = node as Record<string, unknown>;
  if (typeof obj.$ref === 'string') {
    const [target = '', pointer = ''] = obj.$ref.split('#');
    const name = target || file;
    let value: unknown = files.get(name);
    if (value === undefined) throw new Error(`$ref to a schema that is not shipped: ${obj.$ref}`);
    for (const part of pointer.split('/').filter(Boolean)) value = (value as Record<string, unknown>)[part];
    return deref(value, name);
  }
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, deref(v, file)]));
}

function stripParserKeys(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(stripParserKeys);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node as Record<string, unknown>)
      .filter(([k]) => !k.startsWith('x-parser-'))
      .map(([k, v]) => [k, stripParserKeys(v)]),
  );
}

describe('docs/asyncapi.yaml', () => {
  it('is valid AsyncAPI 3 whose payloads are the shipped schemas', async () => {
    const path = fileURLToPath(new URL('../docs/asyncapi.yaml', import.meta.url));
    const { document, diagnostics } = await fromFile(new Parser(), path).parse();
    const errors = diagnostics.filter((d) => d.severity === 0);
    expect(errors.map((d) => `${d.code}: ${d.message} at ${d.path.join('.')}`)).toEqual([]);
    expect(document).toBeDefined();
    expect(document!.version()).toMatch(/^3\./);

    const byChannel = new Map<string, string[]>();
    let examples = 0;
    for (const channel of document!.channels()) {
      const names: string[] = [];
      for (const message of channel.messages()) {
        const payload = stripParserKeys(message.payload()?.json());
        const shipped = [...files.keys()].find((f) => {
          try {
            return JSON.stringify(deref(files.get(f), f)) === JSON.stringify(payload);
          } catch {
            return false;
          }
        });
        expect(
          shipped,
          `payload of message ${message.id()} on ${channel.address()} is not a shipped schema`,
        ).toBeDefined();
        names.push(shipped!);
        // the parser does not check examples: the shipped validator does
        const v = validator(shipped!);
        for (const example of message.examples()) {
          expect(
            v(example.payload()),
            `example "${example.name()}" of ${message.id()}: ${JSON.stringify(v.errors)}`,
          ).toBe(true);
          examples++;
        }
      }
      byChannel.set(channel.address()!, names);
    }
    expect(examples).toBeGreaterThanOrEqual(4);
    expect(byChannel.get('beonho/v1/{office}/state')).toEqual([TOPIC_SCHEMA.state]);
    expect(byChannel.get('beonho/v1/{office}/devices/{device}/status')).toEqual([TOPIC_SCHEMA.status]);
    expect(byChannel.get('beonho/v1/{office}/cmd')).toEqual([TOPIC_SCHEMA.cmd]);
    expect(byChannel.get('beonho/v1/{office}/cmd/result')).toEqual([TOPIC_SCHEMA['cmd/result']]);
    // every event type of event.json has its message on the events channel
    const eventTypes = (
      (files.get('event.json')!.properties as Record<string, { enum: string[] }>).type!.enum ?? []
    ).map((t) => `event.${t}.json`);
    expect([...(byChannel.get('beonho/v1/{office}/events') ?? [])].sort()).toEqual(eventTypes.sort());
  });
});
