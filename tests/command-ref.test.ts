// `ref` and the notice: one definition of length (code points, as JSON Schema counts), so what the
// schema takes the queue takes; and `ref` as an opaque token no phone or resident registration
// number fits in, whatever its separators, prefixes or widths.
import fc from 'fast-check';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REF_MAX_DIGITS } from '../bridge/commands/ref.ts';
import { validateCommand } from '../bridge/commands/validate.ts';
import { loadSchemaFiles } from '../bridge/contract/schemas.ts';
import { NOTICE_MAX_LENGTH, REF_MAX_LENGTH, textLength } from '../device/queue/limits.ts';
import { type CommandOffice, openCommandOffice } from './helpers/command-office.ts';
import { Clock, testConfig } from './helpers/office.ts';

const opts = { office: 'singok2', maxBytes: 4096 };
const issue = (ref: string, id = 'c-1') => ({ id, type: 'ticket.issue', service: 'passport', channel: 'online', ref });
const check = (cmd: Record<string, unknown>) => validateCommand(Buffer.from(JSON.stringify(cmd)), opts);
const codeOf = (cmd: Record<string, unknown>) => {
  const v = check(cmd);
  return v.ok ? 'ok' : v.error.code;
};

describe('one definition of length', () => {
  let dir: string;
  let office: CommandOffice;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'beonho-ref-'));
    office = await openCommandOffice({ config: testConfig({ mqtt: { enabled: false } }), dir, clock: new Clock() });
    await office.send({ id: 'open', type: 'day.open' });
  });
  afterEach(async () => {
    await office.store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('the cmd schema says the limits the queue keeps', () => {
    const defs = (
      loadSchemaFiles().get('cmd.json') as {
        definitions: Record<string, { properties: Record<string, { maxLength?: number }> }>;
      }
    ).definitions;
    expect(defs['notice.set']!.properties.text!.maxLength).toBe(NOTICE_MAX_LENGTH);
    expect(defs['ticket.issue']!.properties.ref!.maxLength).toBe(REF_MAX_LENGTH);
  });

  it('a notice of 200 emoji passes the schema and is set, not refused by the queue', async () => {
    const text = '🙂'.repeat(NOTICE_MAX_LENGTH);
    expect(text.length).toBe(2 * NOTICE_MAX_LENGTH);
    const r = await office.send({ id: 'n-1', type: 'notice.set', text });
    expect(r).toMatchObject({ ok: true });
    expect(office.queue.state().notice).toBe(text);
    expect(await office.send({ id: 'n-2', type: 'notice.set', text: `${text}!` })).toMatchObject({
      ok: false,
      error: { code: 'invalid-field', field: 'text' },
    });
  });

  it('whatever notice the schema takes, the queue takes (any Unicode text)', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 260 }), async (text) => {
        const r = await office.send({ id: `p-${++n}`, type: 'notice.set', text });
        const fits = textLength(text) <= NOTICE_MAX_LENGTH;
        expect(r.ok, `${textLength(text)} code points`).toBe(fits);
        if (!r.ok) expect(r.error.code).toBe('invalid-field');
      }),
      { numRuns: 150 },
    );
  });

  it('a notice holding half a surrogate pair is refused: no UTF-8 can carry it to central', async () => {
    // JSON.stringify writes the lone half as the escape "\ud800", as a central's JSON library would
    const payload = JSON.stringify({ id: 's-1', type: 'notice.set', text: 'a\ud800b' });
    expect(payload).toContain('\\ud800');
    const r = await office.send({ id: 's-1', type: 'notice.set', text: 'a\ud800b' });
    expect(r).toMatchObject({ ok: false, error: { code: 'invalid-field', field: 'text' } });
    expect(await office.send({ id: 's-2', type: 'notice.set', text: '\udc00' })).toMatchObject({
      ok: false,
      error: { code: 'invalid-field', field: 'text' },
    });
    expect(office.queue.state().notice).toBe('');
    // nothing remembered: the corrected notice may reuse the id; a whole pair (an emoji) is text
    expect(await office.send({ id: 's-1', type: 'notice.set', text: 'a🙂b' })).toMatchObject({ ok: true });
    expect(office.queue.state().notice).toBe('a🙂b');
    expect(JSON.stringify(office.queue.snapshot()).includes('\\ud')).toBe(false);
  });

  it('a ref of 64 emoji is refused by validation, so its id is not used up', async () => {
    const bad = await office.send(issue('😀'.repeat(64), 'e-1'));
    expect(bad).toMatchObject({ ok: false, error: { code: 'invalid-field', field: 'ref' } });
    const fixed = await office.send(issue('web-261201-abk', 'e-1'));
    expect(fixed).toMatchObject({ ok: true, result: { ticket: { number: '2001', ref: 'web-261201-abk' } } });
  });
});

describe('ref: an opaque token, never personal data', () => {
  it('refuses every example of the hostile test', () => {
    for (const ref of [
      '010-1234-5678',
      'tel:010-1234-5678',
      '01012345678#a',
      '010–1234–5678',
      '010/1234/5678',
      '(010)1234-5678',
      '010_1234_5678',
      '０１０-１２３４-５６７８',
      '0082-10-1234-5678',
      '+82-10-1234-5678',
      '900101 1234567',
      '900101.1234567',
      '900101–1234567',
      '９００１０１-１２３４５６７',
      '900101-1234567',
      '02-123-4567',
    ]) {
      expect(codeOf(issue(ref)), ref).toBe('personal-data');
    }
  });

  it('takes opaque tokens: letters, digits (6 at most) and - _ . :', () => {
    for (const ref of [
      'web-261201-abk',
      'kxqzmtrwplvabcdefghi',
      'r-42:a',
      'opaque-123',
      'A.b_c-d:e',
      'x',
      '123456',
      'a'.repeat(64),
    ]) {
      expect(codeOf(issue(ref)), ref).toBe('ok');
    }
  });

  it('refuses what is not in the grammar, and says which rule', () => {
    expect(codeOf(issue('web-20261201-ab12'))).toBe('personal-data'); // 10 digits: a date needs yymmdd
    expect(codeOf(issue('1234567'))).toBe('personal-data');
    for (const ref of ['café', 'ｗｅｂ-1', 'a b', '홍길동', 'a/b', 'a'.repeat(65), 'r#1', '']) {
      expect(codeOf(issue(ref)), ref).toBe('invalid-field');
    }
  });

  // Korean numbers as people write them: mobile (010-1234-5678), area codes (02-123-4567,
  // 031-1234-5678), with a country code (+82, 0082, 82, 001-82), resident registration numbers
  // (900101-1234567); digits in ASCII, full width, superscript, circled, mathematical or Arabic-Indic
  // form; any separator (dashes of every kind, dots, slashes, spaces, underscores, colons, letters,
  // nothing), the first group in parentheses or not, with a prefix and a suffix.
  const digitForms: Array<(d: number) => string> = [
    (d) => String(d),
    (d) => String.fromCodePoint(0xff10 + d), // full width
    (d) => String.fromCodePoint(0x1d7ce + d), // mathematical bold
    (d) => String.fromCodePoint(0x0660 + d), // Arabic-Indic
    (d) => '⁰¹²³⁴⁵⁶⁷⁸⁹'[d]!, // superscript
    (d) => (d === 0 ? '⓪' : String.fromCodePoint(0x2460 + d - 1)), // circled
  ];
  const seps = ['', '-', '–', '—', '‐', '−', '－', '.', '/', ' ', '_', ':', '·', 'ㆍ', ',', '~', '　', 'x', 'O', '#'];
  const digits = (n: number) => fc.array(fc.integer({ min: 0, max: 9 }), { minLength: n, maxLength: n });
  const mobile = fc
    .tuple(fc.constantFrom('10', '11', '16', '17', '18', '19'), digits(4), digits(4))
    .map(([p, a, b]) => [`0${p}`.split('').map(Number), a, b]);
  const landline = fc
    .tuple(fc.constantFrom('2', '31', '32', '51', '64'), digits(3), digits(4))
    .map(([p, a, b]) => [`0${p}`.split('').map(Number), a, b]);
  const resident = fc
    .tuple(digits(6), fc.integer({ min: 1, max: 8 }), digits(6))
    .map(([birth, sex, rest]) => [birth, [sex, ...rest]]);
  const korean = fc.tuple(fc.oneof(mobile, landline, resident), fc.constantFrom('', '+82', '0082', '82', '001-82'));
  const written = fc
    .record({
      number: korean,
      form: fc.array(fc.integer({ min: 0, max: digitForms.length - 1 }), { minLength: 13, maxLength: 13 }),
      sep: fc.constantFrom(...seps),
      parens: fc.boolean(),
      prefix: fc.constantFrom('', 'tel:', 'TEL', 'web-', '전화 ', 'ref.', 'a'),
      suffix: fc.constantFrom('', '#a', '-x', ' ', '.1'),
    })
    .map(({ number: [groups, country], form, sep, parens, prefix, suffix }) => {
      let i = 0;
      const draw = (g: number[]) => g.map((d) => digitForms[form[i++ % form.length]!]!(d)).join('');
      // with a country code the leading 0 of a phone number goes (+82-10-…)
      const gs = country && groups.length === 3 ? [groups[0]!.slice(1), ...groups.slice(1)] : groups;
      const parts = gs.map(draw);
      if (parens) parts[0] = `(${parts[0]})`;
      return `${prefix}${country ? `${country}${sep}` : ''}${parts.join(sep)}${suffix}`;
    });

  it('takes no string holding a Korean phone or resident registration number, in any style (property)', () => {
    fc.assert(
      fc.property(written, (ref) => {
        const v = check(issue(ref));
        expect(v.ok, ref).toBe(false);
        if (!v.ok) expect(['personal-data', 'invalid-field'], ref).toContain(v.error.code);
        // and where the digits are there to count, it says so
        const count = (ref.normalize('NFKC').match(/\p{Nd}/gu) ?? []).length;
        if (!v.ok && count > REF_MAX_DIGITS) expect(v.error.code, ref).toBe('personal-data');
      }),
      { numRuns: 3000 },
    );
  });
});

describe('an unknown field', () => {
  it('is named in the refusal when it looks like a field name, and never when it is free text', () => {
    const named = check({ id: 'u0', type: 'day.open', force: true });
    expect(named).toMatchObject({ ok: false, error: { code: 'unknown-field', field: 'force' } });
    for (const key of [
      '홍길동 010-1234-5678',
      '900101-1234567',
      'a'.repeat(4000),
      'x y',
      'tel01012345678',
      'p9001011234567',
    ]) {
      const r = check({ id: 'u1', type: 'day.open', [key]: 1 });
      expect(r, key.slice(0, 20)).toMatchObject({ ok: false, error: { code: 'unknown-field' } });
      const text = JSON.stringify(r);
      expect(text).not.toContain(key);
      expect(r.ok ? null : r.error.field).toBeUndefined();
    }
  });
});
