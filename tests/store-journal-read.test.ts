// The outbox reads a backlog from the journal a batch at a time (bench/mqtt.ts: 10,000 events, 500 a
// read). A segment followed by another is decoded once for all the batches it holds; the last
// segment, which may still be written to, is read anew every time; nothing is skipped or repeated.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type StoreFs, nodeFs } from '../device/store/fs.ts';
import { encodeRecord, Journal, segmentName } from '../device/store/journal.ts';
import { issuedEvent } from './helpers/journal-events.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'beonho-journal-read-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The node file system, counting the reads of each file. */
function countingFs(): { fs: StoreFs; reads: Map<string, number> } {
  const reads = new Map<string, number>();
  const fs: StoreFs = {
    ...nodeFs,
    readFile: async (file) => {
      reads.set(path.basename(file), (reads.get(path.basename(file)) ?? 0) + 1);
      return nodeFs.readFile(file);
    },
  };
  return { fs, reads };
}

/** Segments of 100 events each (two events a record in the middle one), the last one open. */
async function journal(fs: StoreFs, segments: number): Promise<Journal> {
  const j = new Journal(fs, dir, { preallocate: 64 * 1024 });
  for (let s = 0; s < segments; s++) {
    const first = s * 100 + 1;
    if (s === 0) await j.openLast(first);
    else await j.rotate(first);
    for (let seq = first; seq < first + 100; seq += s === 1 ? 2 : 1) {
      await j.append(encodeRecord(s === 1 ? [issuedEvent(seq), issuedEvent(seq + 1)] : [issuedEvent(seq)]));
    }
  }
  return j;
}

async function readAll(j: Journal, from: number, batch: number): Promise<number[]> {
  const seqs: number[] = [];
  let after = from;
  for (;;) {
    const got = await j.read(after, batch);
    if (got.length === 0) return seqs;
    seqs.push(...got.map((e) => e.seq));
    after = got.at(-1)!.seq;
  }
}

describe('reading a backlog from the journal a batch at a time', () => {
  it('gives every event once, in order, from any position, in batches of any size', async () => {
    const { fs } = countingFs();
    const j = await journal(fs, 3);
    for (const [from, batch] of [
      [0, 7],
      [0, 1000],
      [42, 13],
      [99, 1],
      [100, 50],
      [150, 33],
      [299, 5],
    ] as const) {
      const expected = Array.from({ length: 300 - from }, (_, i) => from + 1 + i);
      expect(await readAll(j, from, batch), `after ${from}, ${batch} at a time`).toEqual(expected);
    }
    expect(await j.read(300, 10)).toEqual([]);
    await j.close();
  });

  it('decodes a segment followed by another once for all its batches, and reads the last one anew', async () => {
    const { fs, reads } = countingFs();
    const j = await journal(fs, 3);
    reads.clear();
    expect(await readAll(j, 0, 10)).toHaveLength(300);
    expect(reads.get(segmentName(1))).toBe(1);
    expect(reads.get(segmentName(101))).toBe(1);
    // the last segment: once for each of its ten batches, and once more to find nothing after them
    expect(reads.get(segmentName(201))).toBe(11);
    await j.close();
  });

  it('sees records appended to the last segment between two reads', async () => {
    const { fs } = countingFs();
    const j = await journal(fs, 2);
    expect((await j.read(150, 1000)).map((e) => e.seq)).toEqual(Array.from({ length: 50 }, (_, i) => 151 + i));
    await j.append(encodeRecord([issuedEvent(201)]));
    expect((await j.read(150, 1000)).map((e) => e.seq).at(-1)).toBe(201);
    await j.close();
  });

  it('reads a segment that was the last when its read began anew later, with what was appended after', async () => {
    // The outbox reads the last segment; the writer appends, then a snapshot rotates, before the
    // read returns. Keeping that segment's decoded copy would lose the appended records for good.
    const j = await journal(nodeFs, 1);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let held = false;
    const slowFs: StoreFs = {
      ...nodeFs,
      readFile: async (file) => {
        const bytes = await nodeFs.readFile(file);
        if (!held) {
          held = true;
          await gate;
        }
        return bytes;
      },
    };
    // another journal over the same files (as a tool reads while the daemon writes)
    const reader = new Journal(slowFs, dir);
    const early = reader.read(0, 1000);
    await vi.waitFor(() => expect(held).toBe(true));
    await j.append(encodeRecord([issuedEvent(101)]));
    await j.rotate(102);
    await j.append(encodeRecord([issuedEvent(102)]));
    release();
    expect((await early).map((e) => e.seq).at(-1)).toBe(100);
    expect((await reader.read(100, 1000)).map((e) => e.seq)).toEqual([101, 102]);
    await j.close();
  });
});
