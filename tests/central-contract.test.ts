// The contract as central reads it (docs/mqtt.md, bridge/contract/schemas): a central that checks
// its commands against cmd.json before sending must get the same verdict as the device.
import { describe, expect, it } from 'vitest';
import { validateCommand } from '../bridge/commands/validate.ts';
import { validator } from '../bridge/contract/schemas.ts';

const opts = { office: 'singok2', maxBytes: 4096 };
const deviceTakes = (cmd: Record<string, unknown>) => validateCommand(Buffer.from(JSON.stringify(cmd)), opts).ok;
const schemaTakes = (cmd: Record<string, unknown>) => validator('cmd.json')(cmd);

describe('cmd.json says what the device takes', () => {
  // good tokens, then refs outside the grammar: a space, not ASCII, full-width (NFKC would make it
  // ASCII, but the grammar is for the ref as sent), an emoji, 7 digits (personal-data), too long
  const refs = [
    'opaque-123',
    'web-261201-kxqzmtrw',
    'r-42:a',
    'a b',
    'café',
    'ｗｅｂ-1',
    '😀',
    'tel-0101234567',
    'x'.repeat(65),
  ];

  it.each(refs)('ticket.cancel with ref %j: the schema and the device agree', (ref) => {
    const cancel = { id: 'c-1', type: 'ticket.cancel', number: '2001', day: '2026-11-26', ref };
    expect(schemaTakes(cancel)).toBe(deviceTakes(cancel));
  });

  it.each(refs)('ticket.issue with ref %j: the schema and the device agree', (ref) => {
    const issue = { id: 'c-1', type: 'ticket.issue', service: 'passport', channel: 'online', ref };
    expect(schemaTakes(issue)).toBe(deviceTakes(issue));
  });
});
