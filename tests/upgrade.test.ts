// Upgrades that keep the day: a data dir written by every earlier state schema that has landed
// (tests/fixtures/state/schema-<n>/, made mid-day by make-fixture.ts) opens in this version with
// every waiting ticket and the undelivered outbox intact, and numbering goes on. A state from a
// newer version is refused untouched (tests/store.test.ts).
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { STATE_SCHEMA } from '../device/queue/reduce.ts';
import { openDurable } from './helpers/durable.ts';
import { Clock, NINE_AM, testConfig } from './helpers/office.ts';

const FIXTURES = path.join(import.meta.dirname, 'fixtures/state');
const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

describe('upgrades keep the day', async () => {
  const schemas = (await readdir(FIXTURES)).filter((n) => /^schema-\d+$/.test(n));
  it('has a fixture for the current schema (make one with make-fixture.ts when it changes)', () => {
    expect(schemas).toContain(`schema-${STATE_SCHEMA}`);
  });

  for (const name of schemas) {
    it(`opens a mid-day data dir of ${name}`, async () => {
      const dir = await mkdtemp(path.join(tmpdir(), 'beonho-upgrade-'));
      dirs.push(dir);
      await cp(path.join(FIXTURES, name), dir, { recursive: true });
      const clock = new Clock(NINE_AM + 30 * 60_000);
      const q = await openDurable({ config: testConfig(), dir, clock });
      const s = q.engine.state;
      expect(q.recovered).toEqual([]);
      expect(s.schema).toBe(STATE_SCHEMA);
      expect(s.seq).toBe(57);
      expect(s.open).toBe(true);
      // every ticket still waiting, in its order
      expect(s.services.resident!.waiting).toEqual(['1002', '1003', '1004', '1005', '1006', '1007']);
      expect(s.services.passport!.waiting).toEqual(['2001', '2002', '2004', '2005', '2006', '2007']);
      expect(s.counters['1']).toMatchObject({ status: 'serving', ticket: '3001' });
      expect(s.counters['3']).toMatchObject({ status: 'serving', ticket: '2003' });
      // the outbox: central still gets everything after what it acknowledged
      const cursor = q.store.outbox.cursor('uplink');
      expect(cursor.acked()).toBe(10);
      const pending = await cursor.read(cursor.acked(), 1000);
      expect(pending.map((e) => e.seq)).toEqual(Array.from({ length: 47 }, (_, i) => 11 + i));
      // and numbering goes on
      const r = await q.execute({ type: 'ticket.issue', service: 'resident', channel: 'kiosk' });
      expect(r.ok && r.ticket?.number).toBe('1008');
      await q.store.close();
    });
  }
});
