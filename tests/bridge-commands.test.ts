// Commands from central: a table of bad payloads each answered with its stable code and no state
// change, idempotency by command id (also across a restart), and fuzzing of the handler.
import fc from 'fast-check';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validatorFor } from '../bridge/contract/schemas.ts';
import type { CommandResult } from '../bridge/contract/types.ts';
import { assertContract, connect, Inbox, startOffice, tempDir, testConfig, type Office } from './bridge-helpers.ts';

const T = 'beonho/v1/singok2';
const CMD = `${T}/cmd`;

function comparable(o: Office): unknown {
  return { ...o.queue.snapshot(), at: null };
}

describe('bad commands over the embedded broker', () => {
  let office: Office;
  beforeAll(async () => {
    office = await startOffice(testConfig());
    await office.queue.execute({ type: 'day.open' });
    await office.queue.execute({ type: 'ticket.issue', service: 'resident', channel: 'kiosk' });
  });
  afterAll(() => office.stop());

  const ok = { id: 'c-1', type: 'ticket.issue', service: 'resident', channel: 'online' };
  const json = (o: unknown) => Buffer.from(JSON.stringify(o));
  const table: Array<[string, Buffer, string]> = [
    ['oversized', json({ ...ok, id: 'big', ref: 'x'.repeat(5000) }), 'too-large'],
    ['not JSON', Buffer.from('issue a ticket please'), 'malformed'],
    ['truncated JSON', Buffer.from('{"id":"t","type":"day.open"'), 'malformed'],
    ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), 'malformed'],
    ['empty payload', Buffer.alloc(0), 'malformed'],
    ['an array', json([ok]), 'not-an-object'],
    ['a string', json('ticket.issue'), 'not-an-object'],
    ['null', json(null), 'not-an-object'],
    ['no id', json({ type: 'day.open' }), 'missing-id'],
    ['numeric id', json({ id: 42, type: 'day.open' }), 'invalid-id'],
    ['empty id', json({ id: '', type: 'day.open' }), 'invalid-id'],
    ['id with a space', json({ id: 'a b', type: 'day.open' }), 'invalid-id'],
    ['id of 65 chars', json({ id: 'i'.repeat(65), type: 'day.open' }), 'invalid-id'],
    ['no type', json({ id: 'nt' }), 'missing-field'],
    ['unknown type', json({ id: 'ut', type: 'ticket.print' }), 'unknown-type'],
    ['internal action tick', json({ id: 'tk', type: 'tick' }), 'unknown-type'],
    ['type not a string', json({ id: 'tn', type: 7 }), 'unknown-type'],
    // an unknown type is not echoed in the result's `type`
    ['phone number as type', json({ id: 'tp', type: '010-1234-5678' }), 'unknown-type'],
    ['personal data field', json({ ...ok, id: 'pd', name: '홍길동' }), 'unknown-field'],
    ['phone field', json({ ...ok, id: 'ph', phone: '010-1234-5678' }), 'unknown-field'],
    ['missing service', json({ id: 'ms', type: 'ticket.issue', channel: 'online' }), 'missing-field'],
    ['bad channel', json({ ...ok, id: 'bc', channel: 'phone' }), 'invalid-field'],
    ['priority as string', json({ ...ok, id: 'pr', priority: 'yes' }), 'invalid-field'],
    ['ref too long', json({ ...ok, id: 'rl', ref: 'r'.repeat(65) }), 'invalid-field'],
    ['service not a slug', json({ ...ok, id: 'sv', service: 'Resident Office' }), 'invalid-field'],
    ['wrong office field', json({ ...ok, id: 'wo', office: 'other-office' }), 'wrong-office'],
    [
      'transfer to both',
      json({ id: 'tb', type: 'counter.transfer', counter: '1', toService: 'seal', toCounter: '2' }),
      'invalid-field',
    ],
    ['transfer to neither', json({ id: 'tx', type: 'counter.transfer', counter: '1' }), 'invalid-field'],
    ['notice too long', json({ id: 'nl', type: 'notice.set', text: '가'.repeat(201) }), 'invalid-field'],
    ['ticket number not a number', json({ id: 'tn2', type: 'ticket.cancel', number: 'abc' }), 'invalid-field'],
    ['call without number', json({ id: 'cn', type: 'counter.call', counter: '1' }), 'missing-field'],
    [
      'accepting not boolean',
      json({ id: 'ab', type: 'service.accepting', service: 'seal', accepting: 'no' }),
      'invalid-field',
    ],
    ['extra field on day.open', json({ id: 'do', type: 'day.open', force: true }), 'unknown-field'],
    ['phone number as ref', json({ ...ok, id: 'pn', ref: '010-1234-5678' }), 'personal-data'],
    ['resident number as ref', json({ ...ok, id: 'rn', ref: '900101-1234567' }), 'personal-data'],
    ['unknown service', json({ ...ok, id: 'us', service: 'tax' }), 'unknown-service'],
    ['unknown counter', json({ id: 'uc', type: 'counter.next', counter: '99' }), 'unknown-counter'],
    ['cancel unknown ticket', json({ id: 'ct', type: 'ticket.cancel', number: '1999' }), 'unknown-ticket'],
    [
      "cancel of another day's ticket",
      json({ id: 'cd', type: 'ticket.cancel', number: '1001', day: '2020-01-01' }),
      'unknown-ticket',
    ],
    [
      'cancel with a day not a date',
      json({ id: 'cf', type: 'ticket.cancel', number: '1001', day: '1/1' }),
      'invalid-field',
    ],
    [
      'phone number as the ref of a cancel',
      json({ id: 'cp', type: 'ticket.cancel', number: '1001', ref: '010-1234-5678' }),
      'personal-data',
    ],
    // the patterns of a service and a counter id allow a phone number: it is not echoed back
    ['phone number as service', json({ ...ok, id: 'ps', service: '010-1234-5678' }), 'unknown-service'],
    ['phone number as counter', json({ id: 'pc', type: 'counter.next', counter: '01012345678' }), 'unknown-counter'],
    [
      'phone number as the service to stop',
      json({ id: 'pt', type: 'service.accepting', service: '010-9876-5432', accepting: false }),
      'unknown-service',
    ],
  ];

  it(`answers each of ${table.length} bad payloads with its code and changes nothing`, async () => {
    expect(table.length).toBeGreaterThanOrEqual(20);
    const url = `mqtt://127.0.0.1:${office.bridge.parts.broker!.ports.tcp}`;
    const c = await connect(url, { username: 'central', password: 'central' });
    const inbox = new Inbox(c);
    await c.subscribeAsync(`${T}/cmd/result`, { qos: 1 });
    const before = comparable(office);
    const seq = office.queue.state().seq;
    for (const [name, payload, code] of table) {
      const count = inbox.messages.length;
      await c.publishAsync(CMD, payload, { qos: 1 });
      await inbox.until(() => inbox.messages.length > count, 5000, `answer to ${name}`);
      const r = inbox.messages[count]!.json as CommandResult;
      assertContract(`${T}/cmd/result`, r);
      expect(r.ok, name).toBe(false);
      if (!r.ok) expect(r.error.code, name).toBe(code);
      // no part of what the payload carried comes back in free text (the id aside)
      expect(JSON.stringify(r), name).not.toMatch(/1234-?5678|9876-?5432|홍길동|xxxxx/);
      expect(office.queue.state().seq, name).toBe(seq);
    }
    expect(comparable(office)).toEqual(before);
    await c.endAsync();
  });

  it('refuses a command that arrives on another office topic', async () => {
    const r = await office.bridge.parts.commands!.handle(
      'beonho/v1/other/cmd',
      Buffer.from(JSON.stringify({ ...ok, id: 'x1' })),
      'test',
    );
    expect(r).toMatchObject({ ok: false, id: 'x1', error: { code: 'wrong-office' } });
  });
});

describe('idempotency by command id', () => {
  it('returns the first result for a repeat, also concurrently and after a restart', async () => {
    const dir = tempDir();
    let office = await startOffice(testConfig(), dir);
    await office.queue.execute({ type: 'day.open' });
    const cmd = Buffer.from(
      JSON.stringify({
        id: 'online-77',
        type: 'ticket.issue',
        service: 'passport',
        channel: 'online',
        ref: 'opaque-1',
      }),
    );
    const h = office.bridge.parts.commands!;
    const [a, b] = await Promise.all([h.handle(CMD, cmd, 'test'), h.handle(CMD, cmd, 'test')]);
    expect(a.ok).toBe(true);
    expect(b).toEqual(a);
    const seq = office.queue.state().seq;
    const issued = office.queue.snapshot().services.find((s) => s.id === 'passport')!.waiting;
    expect(issued).toBe(1);
    expect(await h.handle(CMD, cmd, 'test')).toEqual(a);
    await office.stop();

    office = await startOffice(testConfig(), dir);
    expect(await office.bridge.parts.commands!.handle(CMD, cmd, 'test')).toEqual(a);
    expect(office.queue.state().seq).toBe(seq);
    // A different id is a new ticket.
    const other = await office.bridge.parts.commands!.handle(
      CMD,
      Buffer.from(cmd.toString().replace('online-77', 'online-78')),
      'test',
    );
    expect(other.ok && other.result.ticket?.number).not.toBe(a.ok && a.result.ticket?.number);
    await office.stop();
  });
});

describe('an id reused for a different command', () => {
  it('gets the first result and a cmd-id-reused warning', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const log = pino({ level: 'warn' }, { write: (l: string) => lines.push(JSON.parse(l)) });
    const office = await startOffice(testConfig({ broker: { enabled: false } }), tempDir(), log);
    try {
      await office.queue.execute({ type: 'day.open' });
      const h = office.bridge.parts.commands!;
      const first = await h.handle(
        CMD,
        Buffer.from(JSON.stringify({ id: 'same', type: 'ticket.issue', service: 'seal', channel: 'online' })),
        't',
      );
      // the same command with its fields in another order is a plain repeat
      const again = await h.handle(
        CMD,
        Buffer.from(JSON.stringify({ channel: 'online', service: 'seal', type: 'ticket.issue', id: 'same', v: 1 })),
        't',
      );
      expect(again).toEqual(first);
      expect(lines.some((l) => l.code === 'cmd-id-reused')).toBe(false);
      const seq = office.queue.state().seq;
      const other = await h.handle(CMD, Buffer.from(JSON.stringify({ id: 'same', type: 'day.close' })), 't');
      expect(other).toEqual(first);
      expect(office.queue.state().seq).toBe(seq);
      expect(lines.some((l) => l.code === 'cmd-id-reused')).toBe(true);
    } finally {
      await office.stop();
    }
  });
});

describe('a command id sent again and again', () => {
  it('is summed up in the log, not a line per repeat', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const log = pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l)) });
    const office = await startOffice(testConfig({ broker: { enabled: false } }), tempDir(), log);
    const cmd = Buffer.from(JSON.stringify({ id: 'loop', type: 'ticket.issue', service: 'seal', channel: 'online' }));
    const other = Buffer.from(JSON.stringify({ id: 'loop', type: 'day.close' }));
    try {
      await office.queue.execute({ type: 'day.open' });
      const h = office.bridge.parts.commands!;
      const first = await h.handle(CMD, cmd, 't');
      // nothing bounds a central account's repeats on the office's broker but this
      for (let i = 0; i < 400; i++) expect(await h.handle(CMD, i % 2 ? other : cmd, 't')).toEqual(first);
    } finally {
      await office.stop(); // writes the pending summaries
    }
    for (const code of ['cmd-repeated', 'cmd-id-reused']) {
      const said = lines.filter((l) => l.code === code);
      expect(said.length, code).toBeLessThanOrEqual(2); // the first in full, then one summary
      expect(
        said.reduce((n, l) => n + ((l.suppressed as number | undefined) ?? 1), 0),
        code,
      ).toBe(200);
    }
    expect(lines.find((l) => l.code === 'cmd-repeated')).toMatchObject({ level: 30, cmdId: 'loop' });
  });
});

describe('fuzzing the command handler', () => {
  let office: Office;
  beforeAll(async () => {
    office = await startOffice(testConfig({ broker: { enabled: false } }));
    await office.queue.execute({ type: 'day.open' });
  });
  afterAll(() => office.stop());

  const field = fc.constantFrom(
    'id',
    'type',
    'service',
    'channel',
    'priority',
    'ref',
    'number',
    'counter',
    'toService',
    'toCounter',
    'accepting',
    'text',
    'office',
    'v',
    '__proto__',
    'constructor',
  );
  const value = fc.oneof(
    fc.constantFrom(
      'resident',
      'seal',
      '1',
      '2',
      '1001',
      'online',
      'kiosk',
      'singok2',
      'ticket.issue',
      'counter.next',
      'day.close',
      'notice.set',
      '',
    ),
    fc.string({ maxLength: 80 }),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.integer(), { maxLength: 3 }),
  );
  const commandLike = fc.dictionary(field, value, { maxKeys: 6 }).map((o) => Buffer.from(JSON.stringify(o)));
  const payload = fc.oneof(
    commandLike,
    fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)),
    fc.json().map((j) => Buffer.from(j)),
  );
  const isResult = validatorFor('cmd/result');

  it('never throws, always answers per schema, and a refusal changes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(payload, async (p) => {
        const seq = office.queue.state().seq;
        const r = await office.bridge.parts.commands!.handle(CMD, p, 'fuzz');
        expect(isResult(r), JSON.stringify(isResult.errors)).toBe(true);
        if (!r.ok) expect(office.queue.state().seq).toBe(seq);
      }),
      { numRuns: 400 },
    );
  });
});
