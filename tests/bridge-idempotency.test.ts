// Every command id of the day is answered with its first result, never a second ticket: after a
// power cut between the journal's fsync and the command log's, after the journal segment that held
// the command was pruned behind snapshots, after thousands of other commands, and across midnight.
import { mkdtemp, readdir, readFile, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CommandOffice, openCommandOffice, ticketsByRef } from './helpers/command-office.ts';
import { Clock, testConfig } from './helpers/office.ts';

let dir: string;
let open: CommandOffice[] = [];
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'beonho-idem-'));
  open = [];
});
afterEach(async () => {
  for (const o of open) await o.store.release();
  await rm(dir, { recursive: true, force: true });
});

const config = testConfig({ mqtt: { enabled: false } });
const issue = (id: string, ref = `r-${id}`) => ({
  id,
  type: 'ticket.issue',
  service: 'passport',
  channel: 'online',
  ref,
});

async function start(clock: Clock, snapshotEvery = 1000): Promise<CommandOffice> {
  const o = await openCommandOffice({ config, dir, clock, snapshotEvery });
  open.push(o);
  return o;
}

/** A power cut: the files are let go with no clean stop, no snapshot, no sync. */
async function cut(o: CommandOffice): Promise<void> {
  open = open.filter((x) => x !== o);
  await o.store.release();
}

const commandsDir = () => path.join(dir, 'state', 'commands');
const journalFiles = async () => (await readdir(path.join(dir, 'state', 'journal'))).filter((f) => f.endsWith('.log'));

describe('a retry gets the first answer', () => {
  it('after the command log lost the line, and after the journal segment was pruned', async () => {
    const clock = new Clock();
    const first = await start(clock, 5);
    await first.send({ id: 'open', type: 'day.open' });
    const r1 = await first.send(issue('c-42'));
    expect(r1).toMatchObject({ ok: true, id: 'c-42', result: { ticket: { number: '2001', ref: 'r-c-42' } } });
    await cut(first);
    // the power went between the journal's fsync and the command log's: the log lost its lines
    for (const f of await readdir(commandsDir())) await truncate(path.join(commandsDir(), f), 0);

    const second = await start(clock, 5);
    expect(second.reconciled).toBeGreaterThanOrEqual(1);
    // enough other actions for snapshots and pruning: the segment that held c-42 goes
    const segmentsBefore = await journalFiles();
    for (let i = 0; i < 40; i++) await second.send({ id: `n-${i}`, type: 'notice.set', text: `공지 ${i}` });
    await second.store.checkpoint();
    await second.store.prune();
    const segmentsAfter = await journalFiles();
    expect(segmentsAfter.some((f) => segmentsBefore.includes(f))).toBe(false);
    await cut(second);

    const third = await start(clock, 5);
    const retry = await third.send(issue('c-42'));
    expect(retry).toEqual(r1);
    expect(ticketsByRef(third).get('r-c-42')).toEqual(['2001']);
    // a new id does issue a new ticket
    expect(await third.send(issue('c-43'))).toMatchObject({ ok: true, result: { ticket: { number: '2002' } } });
  });

  it('a booking resent under a new id is refused (its ref holds a ticket), also across a power cut; the first id is still answered', async () => {
    const clock = new Clock();
    const first = await start(clock);
    await first.send({ id: 'open', type: 'day.open' });
    const r1 = await first.send(issue('c-1', 'web-kx-7'));
    expect(r1).toMatchObject({ ok: true, result: { ticket: { number: '2001' } } });
    const dup = await first.send(issue('c-2', 'web-kx-7'));
    expect(dup).toMatchObject({ ok: false, id: 'c-2', error: { code: 'duplicate-ref' } });
    await cut(first);

    const second = await start(clock);
    expect(await second.send(issue('c-3', 'web-kx-7'))).toMatchObject({ ok: false, error: { code: 'duplicate-ref' } });
    expect(await second.send(issue('c-1', 'web-kx-7'))).toEqual(r1);
    expect(ticketsByRef(second).get('web-kx-7')).toEqual(['2001']);
  });

  it('after more than 2,000 other command ids, also across a restart', async () => {
    const clock = new Clock();
    const o = await start(clock, 200);
    await o.send({ id: 'open', type: 'day.open' });
    const first = await o.send(issue('first'));
    const refused = await o.send({ id: 'refused', type: 'counter.recall', counter: '1' });
    expect(refused).toMatchObject({ ok: false, error: { code: 'counter-idle' } });
    for (let i = 0; i < 2100; i++) await o.send({ id: `n-${i}`, type: 'notice.set', text: `n${i % 7}` });
    expect(await o.send(issue('first'))).toEqual(first);
    expect(await o.send({ id: 'refused', type: 'counter.recall', counter: '1' })).toEqual(refused);
    await cut(o);
    const again = await start(clock, 200);
    expect(await again.send(issue('first'))).toEqual(first);
    expect(await again.send({ id: 'refused', type: 'counter.recall', counter: '1' })).toEqual(refused);
    expect(ticketsByRef(again).get('r-first')).toEqual(['2001']);
    expect(again.memory.size).toBeGreaterThan(2100);
  });

  it("keeps yesterday's ids after midnight and forgets the day before", async () => {
    const clock = new Clock();
    let o = await start(clock);
    await o.send({ id: 'open-1', type: 'day.open' });
    const day1 = await o.send(issue('day-1'));
    clock.advance(24 * 3600_000);
    await o.send({ id: 'open-2', type: 'day.open' });
    const day2 = await o.send(issue('day-2'));
    await cut(o);
    o = await start(clock);
    expect(await o.send(issue('day-1'))).toEqual(day1);
    expect(await o.send(issue('day-2'))).toEqual(day2);
    clock.advance(24 * 3600_000);
    await o.send({ id: 'open-3', type: 'day.open' });
    // a command of the third day drops the first day's file (its own line is written at the next sync)
    await o.send(issue('day-3'));
    await o.store.commands.sync();
    expect((await readdir(commandsDir())).sort()).toEqual(['commands-2026-11-27.log', 'commands-2026-11-28.log']);
    expect(await o.send(issue('day-2'))).toEqual(day2);
  });

  it("writes online tickets' lines with the next sync (a prune, an answer, a stop), not one write each", async () => {
    const clock = new Clock();
    const o = await start(clock);
    await o.send({ id: 'open', type: 'day.open' });
    for (let i = 0; i < 20; i++) expect((await o.send(issue(`w-${i}`))).ok).toBe(true);
    const file = path.join(commandsDir(), 'commands-2026-11-26.log');
    const lines = async () => (await readFile(file).catch(() => Buffer.alloc(0))).toString().split('\n').length - 1;
    expect(o.store.commands.unwritten).toBe(21);
    expect(await lines()).toBe(0);
    // what a snapshot does before it deletes journal segments
    await o.store.prune();
    expect(o.store.commands.unwritten).toBe(0);
    expect(await lines()).toBe(21);
  });

  it('writes a few hundred bytes per online ticket, however many ids it holds', async () => {
    const clock = new Clock();
    const o = await start(clock);
    await o.send({ id: 'open', type: 'day.open' });
    const sizes: number[] = [];
    for (let i = 0; i < 600; i++) {
      const before = o.store.stats().bytesWritten;
      const r = await o.send({
        id: `t-${i}`,
        type: 'ticket.issue',
        service: 'resident',
        channel: 'online',
        ref: `w${i}`,
      });
      expect(r.ok).toBe(true);
      sizes.push(o.store.stats().bytesWritten - before);
    }
    await o.store.commands.sync();
    const log = await readFile(path.join(commandsDir(), 'commands-2026-11-26.log'));
    // one line per command: O(1), not the whole memory per command
    expect(log.length / 601).toBeLessThan(600);
    expect(Math.max(...sizes.slice(-100))).toBeLessThan(4 * 1024);
  });
});
