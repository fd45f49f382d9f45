// Journal segments made full-size in advance (zeros) and written in place, so an fdatasync sends
// only the data block to the card: the file never grows while records fit, the zeros mark the end
// of the data, a record torn in place is cut off at recovery, and a segment of the former
// append-only journal is continued in place.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodeFs } from '../device/store/fs.ts';
import { decodeSegment, encodeRecord, Journal, segmentName } from '../device/store/journal.ts';
import { journalPreallocation } from '../device/store/store.ts';
import { issuedEvent } from './helpers/journal-events.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'beonho-prealloc-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const SIZE = 64 * 1024;

async function journalWith(seqs: number[]): Promise<Journal> {
  const j = new Journal(nodeFs, dir, { preallocate: SIZE });
  await j.openLast(1);
  for (const s of seqs) await j.append(encodeRecord([issuedEvent(s)]));
  return j;
}

const seg = () => path.join(dir, segmentName(1));

describe('a preallocated journal segment', () => {
  it('is full-size from the start and does not grow while records fit', async () => {
    const j = await journalWith([]);
    expect((await stat(seg())).size).toBe(SIZE);
    for (let s = 1; s <= 50; s++) await j.append(encodeRecord([issuedEvent(s)]));
    expect((await stat(seg())).size).toBe(SIZE);
    await j.close();
    const { records, goodBytes, bad } = decodeSegment(await readFile(seg()));
    expect(bad).toBeNull();
    expect(records.map((r) => r.e[0]!.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(goodBytes).toBeLessThan(SIZE);
  });

  it('continues after its last record when opened again, never over it', async () => {
    await (await journalWith([1, 2, 3])).close();
    const j = new Journal(nodeFs, dir, { preallocate: SIZE });
    const scan = await j.scan(0);
    expect(scan.problems).toEqual([]);
    await j.openLast(4);
    await j.append(encodeRecord([issuedEvent(4)]));
    await j.close();
    expect((await new Journal(nodeFs, dir).scan(0)).events.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
  });

  it('writes past its end when the records outgrow it', async () => {
    const j = await journalWith([]);
    const big = encodeRecord(Array.from({ length: 40 }, (_, i) => issuedEvent(i + 1)));
    for (let i = 0; i * big.length < SIZE * 1.5; i++) await j.append(big);
    await j.close();
    expect((await stat(seg())).size).toBeGreaterThan(SIZE);
    const { bad, goodBytes } = decodeSegment(await readFile(seg()));
    expect(bad).toBeNull();
    expect(goodBytes).toBe((await stat(seg())).size);
  });

  it('cuts off a record torn in place (its head written, the rest still zeros) and writes the next there', async () => {
    await (await journalWith([1, 2])).close();
    const bytes = await readFile(seg());
    const end = bytes.indexOf(0);
    const torn = encodeRecord([issuedEvent(3)]).subarray(0, 20);
    bytes.set(torn, end);
    await writeFile(seg(), bytes);
    const j = new Journal(nodeFs, dir, { preallocate: SIZE });
    const scan = await j.scan(0);
    expect(scan.events.map((e) => e.seq)).toEqual([1, 2]);
    expect(scan.problems.join()).toMatch(/torn last record \(20 bytes without newline\); dropped 20 bytes/);
    await j.openLast(3);
    await j.append(encodeRecord([issuedEvent(3)]));
    await j.close();
    const again = await new Journal(nodeFs, dir).scan(0);
    expect(again.problems).toEqual([]);
    expect(again.events.map((e) => e.seq)).toEqual([1, 2, 3]);
  });

  it('cuts off a record whose tail reached the card without its head (zeros inside the records)', async () => {
    await (await journalWith([1, 2])).close();
    const bytes = await readFile(seg());
    const end = bytes.indexOf(0);
    const rec = encodeRecord([issuedEvent(3)]);
    bytes.set(rec.subarray(10), end + 10); // the first 10 bytes never landed
    await writeFile(seg(), bytes);
    const j = new Journal(nodeFs, dir, { preallocate: SIZE });
    const scan = await j.scan(0);
    expect(scan.events.map((e) => e.seq)).toEqual([1, 2]);
    expect(scan.problems.join()).toMatch(/zero bytes inside the records/);
    await j.openLast(3);
    await j.append(encodeRecord([issuedEvent(3)]));
    await j.close();
    expect((await new Journal(nodeFs, dir).scan(0)).events.map((e) => e.seq)).toEqual([1, 2, 3]);
  });

  it('continues a segment of the former append-only journal in place', async () => {
    // what an older release left: records, no zeros
    const old = Buffer.concat([encodeRecord([issuedEvent(1)]), encodeRecord([issuedEvent(2)])]);
    await writeFile(seg(), old);
    const j = new Journal(nodeFs, dir, { preallocate: SIZE });
    expect((await j.scan(0)).problems).toEqual([]);
    await j.openLast(3);
    expect((await stat(seg())).size).toBe(SIZE);
    await j.append(encodeRecord([issuedEvent(3)]));
    await j.close();
    expect((await new Journal(nodeFs, dir).scan(0)).events.map((e) => e.seq)).toEqual([1, 2, 3]);
  });

  it('reads, as an older release would, as records and a torn tail of zeros (nothing acknowledged lost)', async () => {
    await (await journalWith([1, 2])).close();
    const bytes = await readFile(seg());
    // the former decoder: every byte up to the last newline is records, the rest a torn tail
    const lastNl = bytes.lastIndexOf(0x0a);
    const lines = bytes
      .subarray(0, lastNl + 1)
      .toString('utf8')
      .split('\n')
      .filter(Boolean);
    expect(lines).toHaveLength(2);
    expect(bytes.subarray(lastNl + 1).every((b) => b === 0)).toBe(true);
  });

  it('starts a record in a fresh 4 KiB block rather than across two (one block per fdatasync)', async () => {
    const j = await journalWith([]);
    const sizes: number[] = [];
    for (let s = 1; s <= 300; s++) {
      // 1 to 3 events: 230 to 600 bytes, as an issue, an online issue, a call with a completion
      const rec = encodeRecord(Array.from({ length: 1 + (s % 3) }, (_, i) => issuedEvent(s * 10 + i)));
      sizes.push(rec.length);
      await j.append(rec);
    }
    await j.close();
    expect(Math.max(...sizes)).toBeLessThan(640);
    const bytes = await readFile(seg());
    const { records, bad, goodBytes } = decodeSegment(bytes);
    expect(bad).toBeNull();
    expect(records).toHaveLength(300);
    let crossing = 0;
    let padded = 0;
    for (let at = 0; at < goodBytes; ) {
      const end = bytes.indexOf(0x0a, at) + 1;
      if (Math.floor(at / 4096) !== Math.floor((end - 1) / 4096)) crossing++;
      if (bytes[end - 2] === 0x20) padded++;
      at = end;
    }
    expect(crossing).toBe(0);
    expect(padded).toBeGreaterThan(10);
  });

  it('is sized from how often snapshots rotate the journal', () => {
    expect(journalPreallocation(1000)).toBe(512_000);
    expect(journalPreallocation(1)).toBe(64 * 1024);
    expect(journalPreallocation(1_000_000)).toBe(8 << 20);
    expect(journalPreallocation(1001) % 4096).toBe(0);
  });
});
