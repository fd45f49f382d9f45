// The contract as central reads it (docs/mqtt.md, bridge/contract/schemas): a central that checks
// its commands against cmd.json before sending must get the same verdict as the device.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validateCommand } from '../bridge/commands/validate.ts';
import { validator } from '../bridge/contract/schemas.ts';
import { COMMAND_TYPES, type CommandResult } from '../bridge/contract/types.ts';
import { type CommandOffice, openCommandOffice } from './helpers/command-office.ts';
import { Clock, testConfig } from './helpers/office.ts';
import { tableAfter, ticked } from './helpers/markdown.ts';

const ROOT = path.join(import.meta.dirname, '..');

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

describe('docs/mqtt.md says which ticket a result carries', () => {
  let dir: string;
  let office: CommandOffice;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'beonho-central-'));
    office = await openCommandOffice({ config: testConfig({ mqtt: { enabled: false } }), dir, clock: new Clock() });
    await office.send({ id: 'open', type: 'day.open' });
  });
  afterEach(async () => {
    await office.store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a row for every command type, and the rows central would misread hold', async () => {
    const doc = readFileSync(path.join(ROOT, 'docs', 'mqtt.md'), 'utf8');
    const rows = tableAfter(doc, '`result.ticket` is the ticket');
    const named = rows.flatMap((r) => ticked(r[0]!));
    const rest = rows.find((r) => r[0] === 'every other type');
    expect(rest?.[1]).toBe('none');
    for (const t of named) expect(COMMAND_TYPES).toContain(t);
    const none = COMMAND_TYPES.filter((t) => !named.includes(t));
    const ticketOfResult = (r: CommandResult) => (r.ok ? r.result.ticket : undefined);

    const send = (cmd: Record<string, unknown>) => office.send(cmd);
    await send({ id: 'i-1', type: 'ticket.issue', service: 'passport', channel: 'kiosk' });
    await send({ id: 'i-2', type: 'ticket.issue', service: 'passport', channel: 'online', ref: 'r-b' });
    expect(ticketOfResult(await send({ id: 'n-1', type: 'counter.next', counter: '3' }))?.number).toBe('2001');
    // skip: the ticket called next, not the one skipped
    const skip = await send({ id: 's-1', type: 'counter.skip', counter: '3' });
    expect(ticketOfResult(skip)).toEqual({
      number: '2002',
      service: 'passport',
      channel: 'online',
      priority: false,
      ref: 'r-b',
    });
    expect(ticketOfResult(await send({ id: 'rc-1', type: 'counter.recall', counter: '3' }))?.number).toBe('2002');
    // transfer: the ticket with the service it had before
    const moved = await send({ id: 't-1', type: 'counter.transfer', counter: '3', toService: 'resident' });
    expect(ticketOfResult(moved)).toMatchObject({ number: '2002', service: 'passport' });
    // skip with nobody waiting: none
    await send({ id: 'n-2', type: 'counter.next', counter: '1' });
    const lastSkip = await send({ id: 's-2', type: 'counter.skip', counter: '1' });
    expect(lastSkip.ok && ticketOfResult(lastSkip)).toBeUndefined();
    expect(ticketOfResult(await send({ id: 'c-1', type: 'ticket.cancel', number: '2002' }))?.number).toBe('2002');
    // the types the table gives none
    const others: Record<string, Record<string, unknown>> = {
      'counter.pause': { counter: '2' },
      'counter.resume': { counter: '2' },
      'counter.close': { counter: '4' },
      'service.accepting': { service: 'seal', accepting: false },
      'notice.set': { text: 'x' },
      'state.publish': {},
      'day.close': {},
      'day.open': {},
    };
    for (const t of none) {
      const r = await send({ id: `o-${t}`, type: t, ...others[t] });
      expect(r.ok, t).toBe(true);
      expect(ticketOfResult(r), t).toBeUndefined();
    }
  });
});

describe("the docs' examples are what the device sends", () => {
  it("the status example's system.node is written as the device writes it (process.versions.node, no v)", () => {
    const doc = readFileSync(path.join(ROOT, 'docs', 'mqtt.md'), 'utf8');
    const node = /"node": "([^"]*)"/.exec(doc)?.[1];
    const shape = (v: string) => v.replace(/\d+/g, '9');
    expect(node && shape(node)).toBe(shape(process.versions.node));
  });

  it("the refusal examples carry the device's own message for an unknown service", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'beonho-central-'));
    const office = await openCommandOffice({
      config: testConfig({ mqtt: { enabled: false } }),
      dir,
      clock: new Clock(),
    });
    try {
      await office.send({ id: 'open', type: 'day.open' });
      const r = await office.send({ id: 'c-7f3b', type: 'ticket.issue', service: 'tax', channel: 'online' });
      expect(r.ok).toBe(false);
      const message = r.ok ? '' : r.error.message;
      const mqtt = readFileSync(path.join(ROOT, 'docs', 'mqtt.md'), 'utf8');
      expect(mqtt).toContain(`"error":{"code":"unknown-service","message":${JSON.stringify(message)}}`);
      const asyncapi = readFileSync(path.join(ROOT, 'docs', 'asyncapi.yaml'), 'utf8');
      expect(asyncapi).toContain(`error: { code: unknown-service, message: ${message} }`);
    } finally {
      await office.store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("docs/mqtt.md's ref examples and their reasons hold", () => {
  const doc = readFileSync(path.join(ROOT, 'docs', 'mqtt.md'), 'utf8');
  const para = doc.slice(doc.indexOf('**`ref`** is central'), doc.indexOf('**One ticket per `ref` a day.**'));
  const code = (ref: string) => {
    const v = validateCommand(
      Buffer.from(JSON.stringify({ id: 'c-1', type: 'ticket.issue', service: 'passport', channel: 'online', ref })),
      opts,
    );
    return v.ok ? 'ok' : v.error.code;
  };

  it('the good tokens are taken', () => {
    const good = ticked(para.slice(para.indexOf('Good:'), para.indexOf('Refused:')));
    expect(good.length).toBeGreaterThan(2);
    for (const ref of good) expect(code(ref), ref).toBe('ok');
  });

  it('the refused ones get the code given, for the reason given', () => {
    const refused = para.slice(para.indexOf('Refused:'));
    expect(refused).toContain('`web-20261201-ab12`');
    expect(code('web-20261201-ab12')).toBe('personal-data');
    for (const ref of ['café', 'ｗｅｂ-1']) expect(code(ref), ref).toBe('invalid-field');
    // the reason the doc gives for ｗｅｂ-1: NFKC makes it plain ASCII, so it is refused for not
    // being ASCII as sent (a central normalising first would have taken it)
    const reason = refused.slice(
      refused.indexOf('`ｗｅｂ-1` ('),
      refused.indexOf(')', refused.indexOf('`ｗｅｂ-1` (')),
    );
    expect('ｗｅｂ-1'.normalize('NFKC')).toBe('web-1');
    expect(reason).not.toMatch(/not ASCII after NFKC/);
    expect(reason).toMatch(/as sent/);
  });
});

describe("ticket.cancel's day is the queue's day, not the date of the event's at", () => {
  it('a day that runs past midnight (policy.autoOpen: false): the docs say which date to send', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'beonho-central-'));
    const clock = new Clock(Date.parse('2026-11-26T23:50:00+09:00'));
    const config = testConfig({ mqtt: { enabled: false }, policy: { autoOpen: false } });
    const office = await openCommandOffice({ config, dir, clock });
    try {
      await office.send({ id: 'open', type: 'day.open' });
      clock.minutes(20);
      const issued = await office.send({
        id: 'i-1',
        type: 'ticket.issue',
        service: 'seal',
        channel: 'online',
        ref: 'r-1',
      });
      expect(issued.ok && issued.at?.slice(0, 10)).toBe('2026-11-27');
      const byAt = await office.send({
        id: 'x-1',
        type: 'ticket.cancel',
        number: '3001',
        day: '2026-11-27',
        ref: 'r-1',
      });
      expect(byAt).toMatchObject({ ok: false, error: { code: 'unknown-ticket' } });
      const byDay = await office.send({
        id: 'x-2',
        type: 'ticket.cancel',
        number: '3001',
        day: '2026-11-26',
        ref: 'r-1',
      });
      expect(byDay.ok).toBe(true);
      // what central is told to send
      const row = readFileSync(path.join(ROOT, 'docs', 'mqtt.md'), 'utf8')
        .split('\n')
        .find((l) => l.startsWith('| `ticket.cancel`'));
      expect(row).toMatch(/not the date of/);
      const cmd = validator('cmd.json#/definitions/ticket.cancel').schema as {
        properties: { day: { description: string } };
      };
      expect(cmd.properties.day.description).toMatch(/not the date of/);
    } finally {
      await office.store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the event schemas say what the device sends', () => {
  it('a ticket.transferred names exactly one target: a service or a counter', () => {
    const take = validator('event.ticket.transferred.json');
    const base = {
      v: 1,
      office: 'singok2',
      seq: 9,
      id: 'e9',
      at: '2026-11-26T10:00:00.000+09:00',
      type: 'ticket.transferred',
      ticket: { number: '1001', service: 'resident', channel: 'kiosk', priority: false },
      counter: '1',
    };
    expect(take({ ...base, toService: 'passport' })).toBe(true);
    expect(take({ ...base, toCounter: '2' })).toBe(true);
    expect(take(base)).toBe(false);
    expect(take({ ...base, toService: 'passport', toCounter: '2' })).toBe(false);
  });
});
