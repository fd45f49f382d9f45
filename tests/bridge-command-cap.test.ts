// The command memory is bounded per sender and day (mqtt.commands.idsPerDay): a stolen central
// password once made the daemon remember ~2,700 useless commands a second, each for two days and
// fsync'd (77 MiB more and 21 MB of command log in 34 s). Past the bound a new id is refused and
// costs nothing; nothing already remembered is dropped, so every honest retry keeps its answer.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CommandOffice, openCommandOffice } from './helpers/command-office.ts';
import { Clock, testConfig } from './helpers/office.ts';
import { startOffice, testConfig as mqttConfig } from './bridge-helpers.ts';

let dir: string;
let open: CommandOffice[] = [];
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'beonho-cap-'));
});
afterEach(async () => {
  for (const o of open) await o.store.release();
  open = [];
  await rm(dir, { recursive: true, force: true });
});

const config = testConfig({ mqtt: { enabled: false } });
const CAP = 100;

async function start(clock: Clock): Promise<CommandOffice> {
  const o = await openCommandOffice({ config, dir, clock, idsPerDay: CAP });
  open.push(o);
  return o;
}

const recall = (id: string) => ({ id, type: 'counter.recall', counter: '1' });
const FLOOD = { origin: 'broker:central' };

describe('command ids remembered a day per sender', () => {
  it('refuses a new id past the bound, keeps every answer, and leaves other senders alone', async () => {
    const clock = new Clock();
    const o = await start(clock);
    await o.send({ id: 'open', type: 'day.open' }, { origin: 'uplink' });
    // useless but valid: a recall at an idle counter is refused by the queue and remembered
    const first = await o.send(recall('f-0'), FLOOD);
    expect(first).toMatchObject({ ok: false, error: { code: 'counter-idle' } });
    await Promise.all(Array.from({ length: CAP - 1 }, (_, i) => o.send(recall(`f-${i + 1}`), FLOOD)));
    const remembered = o.store.commands.size;
    const bytes = o.store.commands.bytesWritten;

    const over = await o.send(recall('f-over'), FLOOD);
    expect(over).toMatchObject({
      id: 'f-over',
      type: 'counter.recall',
      ok: false,
      error: { code: 'command-memory-full' },
    });
    // not remembered, nothing written: the same id later is judged afresh
    expect(o.store.commands.size).toBe(remembered);
    expect(o.store.commands.bytesWritten).toBe(bytes);
    expect(o.memory.get('f-over')).toBeUndefined();
    // an honest retry of an answered id still gets its first answer, byte for byte
    expect(await o.send(recall('f-0'), FLOOD)).toEqual(first);
    // another sender (central's uplink) is not held up by this one's flood
    const online = await o.send(
      { id: 'u-1', type: 'ticket.issue', service: 'passport', channel: 'online', ref: 'r-1' },
      { origin: 'uplink' },
    );
    expect(online).toMatchObject({ ok: true, result: { ticket: { number: '2001' } } });
  });

  it('counts what changed the queue too, across a restart, and starts again with the day', async () => {
    const clock = new Clock();
    const o = await start(clock);
    await o.send({ id: 'open', type: 'day.open' }, { origin: 'uplink' });
    // half of them change the queue (journaled), half change nothing (answers)
    for (let i = 0; i < CAP / 2; i++) {
      await o.send({ id: `t-${i}`, type: 'ticket.issue', service: 'seal', channel: 'online' }, FLOOD);
      await o.send(recall(`r-${i}`), FLOOD);
    }
    expect((await o.send(recall('over-1'), FLOOD)).ok).toBe(false);
    await o.store.close();
    open = open.filter((x) => x !== o);

    const again = await start(clock);
    const over = await again.send(recall('over-2'), FLOOD);
    expect(over).toMatchObject({ ok: false, error: { code: 'command-memory-full' } });
    expect(
      await again.send({ id: 't-0', type: 'ticket.issue', service: 'seal', channel: 'online' }, FLOOD),
    ).toMatchObject({
      ok: true,
      result: { ticket: { number: '3001' } },
    });

    // the next office-local day: a fresh allowance (yesterday's ids are still answered)
    clock.advance(24 * 3600_000);
    await again.send({ id: 'open-2', type: 'day.open' }, { origin: 'uplink' });
    expect(await again.send(recall('next-day'), FLOOD)).toMatchObject({ error: { code: 'counter-idle' } });
    expect(again.memory.get('r-0')).toBeDefined();
  });
});

describe('the device status of a sender out of ids (component commands)', () => {
  it('lists the senders of today only, and says so again when one runs out on a later day', async () => {
    const office = await startOffice(
      mqttConfig({ broker: { port: 0, wsPort: null, demo: true }, commands: { idsPerDay: CAP } }),
    );
    const seen: Array<Record<string, unknown>> = [];
    const owner = {};
    office.bus.on('healthChanged', owner, ({ component, health }) => {
      if (component === 'commands') seen.push({ ...health });
    });
    const handler = office.bridge.parts.commands!;
    const send = (id: string) =>
      handler.handle(
        'beonho/v1/singok2/cmd',
        Buffer.from(JSON.stringify({ id, type: 'counter.recall', counter: '1' })),
        { source: 'broker', origin: 'broker:central' },
      );
    try {
      await office.queue.execute({ type: 'day.open' });
      for (let i = 0; i < CAP; i++) await send(`a-${i}`);
      expect(seen).toEqual([]);
      expect(await send('a-over')).toMatchObject({ error: { code: 'command-memory-full' } });
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({ lastError: 'command-memory-full', full: ['broker:central'] });

      // the next office-local day: the sender has its ids again, and the status no longer lists it
      office.clock.t += 24 * 3600_000;
      await office.queue.execute({ type: 'day.open' });
      expect(await send('b-0')).toMatchObject({ error: { code: 'counter-idle' } });
      expect(seen.at(-1)).toMatchObject({ lastError: 'command-memory-full', full: [] });

      // out of them again that day: said again, with that day's time
      for (let i = 1; i < CAP; i++) await send(`b-${i}`);
      const before = seen.length;
      expect(await send('b-over')).toMatchObject({ error: { code: 'command-memory-full' } });
      expect(seen.length).toBe(before + 1);
      expect(seen.at(-1)).toMatchObject({ full: ['broker:central'] });
      expect(seen.at(-1)!.lastErrorAt).not.toBe(seen[0]!.lastErrorAt);
    } finally {
      office.bus.removeListeners(owner);
      await office.stop();
    }
  });
});
