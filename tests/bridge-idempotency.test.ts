// A command's result must survive a power cut that comes after the queue's fsync and before the
// bridge remembered the result: central's retry gets the first answer, not a second ticket.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CommandHandler } from '../bridge/commands/handler.ts';
import { CommandMemory } from '../bridge/commands/memory.ts';
import { buildDaemon, type Daemon } from '../device/app.ts';
import { nodeFs } from '../device/store/fs.ts';
import { Clock, testConfig } from './helpers/office.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'beonho-idem-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const logger = pino({ level: 'silent' });
const topic = 'beonho/v1/singok2/cmd';
const cmd = Buffer.from(
  JSON.stringify({ id: 'c-42', type: 'ticket.issue', service: 'passport', channel: 'online', ref: 'r-1' }),
);

function handler(c: Daemon, memoryFile: string) {
  return new CommandHandler({
    office: 'singok2',
    maxBytes: 4096,
    queue: c.queue,
    memory: new CommandMemory({ path: memoryFile, limit: 100, logger, fs: nodeFs }),
    logger,
    republish: () => undefined,
    isoNow: () => new Date().toISOString(),
  });
}

describe('command idempotency across a power cut', () => {
  it('a retry after the result was lost finds the command in the journal', async () => {
    const clock = new Clock();
    const config = testConfig({ mqtt: { enabled: false } });
    const first = buildDaemon(config, { dataDir: dir, logger, now: clock.now, features: ['dayRoll'] });
    await first.start();
    // the queue runs the command (journaled with its id), then the power goes before the bridge's
    // memory file is written: simulated by a memory file nobody ever writes
    const r1 = await first.queue.execute(
      { type: 'ticket.issue', service: 'passport', channel: 'online', ref: 'r-1' },
      { cmdId: 'c-42' },
    );
    expect(r1.ok && r1.ticket?.number).toBe('2001');
    // power cut: no clean stop, no snapshot; the files are simply let go
    await first.store.release();

    const second = buildDaemon(config, { dataDir: dir, logger, now: clock.now, features: ['dayRoll'] });
    await second.start();
    const h = handler(second, path.join(dir, 'never-written.json'));
    const retry = await h.handle(topic, cmd, 'test');
    expect(retry).toMatchObject({ ok: true, id: 'c-42', result: { ticket: { number: '2001', ref: 'r-1' } } });
    expect(second.queue.state().services.passport!.issuedToday).toBe(1);
    // a new id does issue a new ticket
    const other = await h.handle(
      topic,
      Buffer.from(JSON.stringify({ id: 'c-43', type: 'ticket.issue', service: 'passport', channel: 'online' })),
      'test',
    );
    expect(other).toMatchObject({ ok: true, result: { ticket: { number: '2002' } } });
    await second.stop();
  });
});
