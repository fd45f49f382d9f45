// A journal write whose fdatasync fails (EIO from a failing card, or a write-back refused): the
// action is refused and the daemon stops so that a restart recovers from disk. The record's bytes,
// though, are in the file as the kernel's page cache holds them, and systemd starts the daemon
// again 5 s later on the same boot: that restart read them back and the refused action came back
// as done (a press refused at the dispenser was a ticket waiting on the board; a call the board
// never showed was the ticket being served, completed by the clerk's next key without the citizen
// ever called). The journal puts the segment back to what its last fdatasync made durable.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FileHandleLike, nodeFs, type SlotFileLike, type StoreFs } from '../device/store/fs.ts';
import { encodeRecord, Journal } from '../device/store/journal.ts';
import { openDurable } from './helpers/durable.ts';
import { issuedEvent } from './helpers/journal-events.ts';
import { Clock, testConfig } from './helpers/office.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'beonho-journal-fail-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const eio = () => Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });

/** The real file system, whose fdatasync can fail as a failing card's does: the write is in the
 * file (the page cache), it never reached the card. `partial`: a write that fails with ENOSPC after
 * half of it landed (a full card, past the room made in advance). */
function failingCard(): { fs: StoreFs; card: { ioError: boolean; partial: boolean } } {
  const card = { ioError: false, partial: false };
  const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  const fs: StoreFs = {
    ...nodeFs,
    async openAppend(file) {
      const h = await nodeFs.openAppend(file);
      const wrapped: FileHandleLike = {
        async write(data) {
          if (card.partial) {
            await h.write(data.subarray(0, Math.floor(data.length / 2)));
            throw enospc();
          }
          await h.write(data);
        },
        async datasync() {
          if (card.ioError) throw eio();
          await h.datasync();
        },
        close: () => h.close(),
      };
      return wrapped;
    },
    async openPreallocated(file, bytes) {
      const { file: slot, zeroed } = await nodeFs.openPreallocated!(file, bytes);
      const wrapped: SlotFileLike = {
        async writeAt(data, position) {
          if (card.partial) {
            await slot.writeAt(data.subarray(0, Math.floor(data.length / 2)), position);
            throw enospc();
          }
          await slot.writeAt(data, position);
        },
        async datasync() {
          if (card.ioError) throw eio();
          await slot.datasync();
        },
        close: () => slot.close(),
      };
      return { file: wrapped, zeroed };
    },
  };
  return { fs, card };
}

const withoutPrealloc = (fs: StoreFs): StoreFs => {
  const { openPreallocated: _, ...rest } = fs;
  return rest;
};

describe.each([
  ['written in place (a preallocated segment)', (fs: StoreFs) => fs],
  ['appended', withoutPrealloc],
])('a journal %s whose write fails', (_name, variant) => {
  it('fdatasync failing: the record is not read back by the restart on the same boot', async () => {
    const { fs, card } = failingCard();
    const j = new Journal(variant(fs), dir, { preallocate: 64 * 1024 });
    await j.openLast(1);
    await j.append(encodeRecord([issuedEvent(1)]));
    await j.append(encodeRecord([issuedEvent(2)]));
    card.ioError = true;
    await expect(j.append(encodeRecord([issuedEvent(3)]))).rejects.toThrow(/EIO/);
    await j.close();

    // the restart: the same files, the card readable again
    const again = new Journal(variant(nodeFs), dir, { preallocate: 64 * 1024 });
    const scan = await again.scan(0);
    expect(scan.events.map((e) => e.seq)).toEqual([1, 2]);
    await again.openLast(3);
    await again.append(encodeRecord([issuedEvent(3)]));
    await again.close();
    expect((await new Journal(nodeFs, dir).scan(0)).events.map((e) => e.seq)).toEqual([1, 2, 3]);
  });

  it('a write cut short (a full card): the restart continues after the last acknowledged record', async () => {
    const { fs, card } = failingCard();
    const j = new Journal(variant(fs), dir, { preallocate: 64 * 1024 });
    await j.openLast(1);
    await j.append(encodeRecord([issuedEvent(1)]));
    card.partial = true;
    await expect(j.append(encodeRecord([issuedEvent(2)]))).rejects.toThrow(/ENOSPC/);
    await j.close();
    const again = new Journal(variant(nodeFs), dir, { preallocate: 64 * 1024 });
    const scan = await again.scan(0);
    expect(scan.events.map((e) => e.seq)).toEqual([1]);
    // nothing of the refused write is left to be reported as a power cut's torn tail
    expect(scan.problems).toEqual([]);
    await again.close();
  });
});

describe('the store over a card whose fdatasync fails', () => {
  it('a refused ticket is not issued after the restart, and the next citizen gets its number', async () => {
    const config = testConfig();
    const clock = new Clock();
    const { fs, card } = failingCard();
    const q = await openDurable({ config, dir, fs, clock });
    await q.execute({ type: 'day.open' });
    const first = await q.execute({ type: 'ticket.issue', service: 'resident', channel: 'kiosk' });
    expect(first.ok).toBe(true);
    card.ioError = true;
    await expect(q.execute({ type: 'ticket.issue', service: 'resident', channel: 'kiosk' })).rejects.toThrow(
      /journal write failed: EIO/,
    );
    await q.store.release();

    const again = await openDurable({ config, dir, clock });
    expect(again.engine.state.seq).toBe(q.store.stats().durableSeq);
    const next = await again.execute({ type: 'ticket.issue', service: 'resident', channel: 'kiosk' });
    expect(next.ok && next.events.find((e) => e.type === 'ticket.issued')).toMatchObject({
      ticket: { number: '1002' },
    });
    await again.store.close();
  });
});
