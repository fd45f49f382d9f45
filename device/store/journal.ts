// The append-only event journal: one line per queue action, `<crc32 hex> <json>\n`, appended and
// fdatasync'd before the action's effects are shown or printed.
//
// Why a journal and not lowdb writing the whole state per ticket: rewriting the state costs
// O(tickets so far) per ticket, so the 1,000th ticket of a day would cost 100x the 10th, and three
// fsyncs (file, rename, directory) per ticket wear an SD card. An append is O(1) and one fdatasync.
// The full state is written (through lowdb, see snapshot-adapter.ts) only every N records, and the
// journal segments double as the outbox of events not yet delivered to central.
//
// Segments are named by the first seq they hold: journal-000000001043.log. A power cut can only tear
// the last line of the last segment (every earlier line was synced before the next was written);
// the CRC finds it and recovery truncates it.
//
// A new segment is made full-size at once, with zeros (StoreFs.openPreallocated), and records are
// written in place over them: an fdatasync of a file that grows must also commit its new size
// and block map, which on ext4 with 4 KiB blocks turned each 300-byte record into 17 KiB sent to
// the card; in place it is the one 4 KiB data block (bench/sd-wear.ts). The zeros after the last
// record mark the end of the data (JSON never holds a NUL byte). An older release reads the zeros
// as a torn tail and cuts them off, so going back a version loses nothing. A record that would
// leave a block's last few hundred bytes is padded to the block's end (padToBlock), so the next
// one does not straddle two blocks.
import { crc32 } from 'node:zlib';
import * as path from 'node:path';
import type { QueueEvent } from '../queue/types.ts';
import type { JournaledCommand } from './command-log.ts';
import type { FileHandleLike, SlotFileLike, StoreFs } from './fs.ts';

const SEGMENT_RE = /^journal-(\d{12})\.log$/;

export interface SegmentInfo {
  file: string;
  firstSeq: number;
}

export interface JournalScan {
  events: QueueEvent[];
  /** problems found and repaired (torn tail), for logs and device status */
  problems: string[];
  /** the commands in every kept segment, with the events they caused (the command log is
   * reconciled with them at start: see command-log.ts) */
  commands: Map<string, JournaledCommand>;
  /** the first seq of the first segment read for events (null: no segment): it must hold
   * `afterSeq + 1`, even when it holds no event yet, or events are missing */
  from: number | null;
}

export function segmentName(firstSeq: number): string {
  return `journal-${String(firstSeq).padStart(12, '0')}.log`;
}

/** One action's record. When a command of central caused it: `c` its id, `d` the digest of what it
 * asked, `t` its type. This fdatasync'd record is what makes the command durable: the command log
 * (command-log.ts) is rebuilt from it if its own line was lost in a power cut. */
export interface JournalRecord {
  e: QueueEvent[];
  c?: string;
  d?: string;
  t?: string;
}

/** The command an action came from (central's id, the digest of what it asked, its type). */
export interface CommandMeta {
  id: string;
  digest?: string;
  type?: string;
  /** who sent it (the command log counts each sender's ids a day); not written to the journal */
  origin?: string;
}

export function encodeRecord(events: QueueEvent[], cmd?: CommandMeta): Buffer {
  const rec: JournalRecord = { e: events };
  if (cmd) {
    rec.c = cmd.id;
    if (cmd.digest !== undefined) rec.d = cmd.digest;
    if (cmd.type !== undefined) rec.t = cmd.type;
  }
  const json = JSON.stringify(rec);
  const crc = crc32(json).toString(16).padStart(8, '0');
  return Buffer.from(`${crc} ${json}\n`, 'utf8');
}

/** Parses one segment's bytes. Stops at the first line that is torn or fails its CRC and returns
 * the byte offset where the good part ends. */
export function decodeSegment(buf: Buffer): { records: JournalRecord[]; goodBytes: number; bad: string | null } {
  const records: JournalRecord[] = [];
  let off = 0;
  while (off < buf.length) {
    if (buf[off] === 0) {
      // the preallocated space after the last record: zeros to the end, or damage
      if (allZero(buf, off)) return { records, goodBytes: off, bad: null };
      return { records, goodBytes: off, bad: `zero bytes inside the records at byte ${off}` };
    }
    const nl = buf.indexOf(0x0a, off);
    if (nl < 0) {
      const torn = (buf.indexOf(0, off) < 0 ? buf.length : buf.indexOf(0, off)) - off;
      return { records, goodBytes: off, bad: `torn last record (${torn} bytes without newline)` };
    }
    const line = buf.subarray(off, nl).toString('utf8');
    const sp = line.indexOf(' ');
    const json = sp === 8 ? line.slice(9) : '';
    if (sp !== 8 || crc32(json).toString(16).padStart(8, '0') !== line.slice(0, 8)) {
      return { records, goodBytes: off, bad: `record at byte ${off} fails its checksum` };
    }
    try {
      const rec = JSON.parse(json) as JournalRecord;
      if (!Array.isArray(rec.e)) throw new Error('no events');
      records.push(rec);
    } catch {
      return { records, goodBytes: off, bad: `record at byte ${off} is not valid JSON` };
    }
    off = nl + 1;
  }
  return { records, goodBytes: off, bad: null };
}

/** ext4's block on the card: a record written across a boundary sends two blocks, not one. */
export const BLOCK = 4096;
/** Less than this left in a block after a write: the write is padded to the block's end, so the
 * next record starts a fresh block (records are 250-600 bytes: an issue, a call). */
const PAD_BELOW = 640;

/**
 * Records to write at `offset` of a segment, the last one padded to the end of its 4 KiB block when
 * less than PAD_BELOW would be left: one in ~14 kiosk records crossed a boundary and cost two
 * blocks (4.4 KiB per ticket at the block device, bench/sd-wear.ts). The padding is spaces after
 * the JSON, inside the line and its CRC (JSON allows them), so every release reads it as before.
 */
export function padToBlock(records: Buffer, offset: number): Buffer {
  const left = (BLOCK - ((offset + records.length) % BLOCK)) % BLOCK;
  if (left === 0 || left >= PAD_BELOW || records.length < 10) return records;
  const start = records.lastIndexOf(0x0a, records.length - 2) + 1;
  const json = `${records.subarray(start + 9, records.length - 1).toString('utf8')}${' '.repeat(left)}`;
  const line = Buffer.from(`${crc32(json).toString(16).padStart(8, '0')} ${json}\n`, 'utf8');
  return Buffer.concat([records.subarray(0, start), line]);
}

const ZEROS = Buffer.alloc(64 * 1024);

function allZero(buf: Buffer, from: number): boolean {
  for (let at = from; at < buf.length; at += ZEROS.length) {
    const end = Math.min(buf.length, at + ZEROS.length);
    if (!buf.subarray(at, end).equals(ZEROS.subarray(0, end - at))) return false;
  }
  return true;
}

/** Bytes that are not zero from `from` on (the preallocated zeros are not data). */
function nonZeroBytes(buf: Buffer, from: number): number {
  let n = 0;
  for (let i = from; i < buf.length; i++) if (buf[i] !== 0) n++;
  return n;
}

/** A segment opened for writing: in place (`slot`) or appended to (`handle`). */
interface OpenSegment {
  slot?: SlotFileLike;
  handle?: FileHandleLike;
  offset: number;
  close(): Promise<void>;
}

/** The card is full, or the user's quota is. */
const NO_ROOM: ReadonlySet<string> = new Set(['ENOSPC', 'EDQUOT']);

export interface JournalOptions {
  /** bytes each new segment is made in advance (0: append, growing the file) */
  preallocate?: number;
}

export class Journal {
  private handle: FileHandleLike | null = null;
  /** the segment written in place, and where its next record goes */
  private slot: SlotFileLike | null = null;
  private offset = 0;
  private current: SegmentInfo | null = null;
  /** the closed segment last read by read(), decoded (segmentEvents) */
  private readCache: { file: string; events: QueueEvent[] } | null = null;
  bytesWritten = 0;

  constructor(
    private readonly fs: StoreFs,
    private readonly dir: string,
    private readonly opts: JournalOptions = {},
  ) {}

  async segments(): Promise<SegmentInfo[]> {
    const names = await this.fs.list(this.dir);
    return names
      .map((n) => SEGMENT_RE.exec(n))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ file: path.join(this.dir, m[0]), firstSeq: Number(m[1]) }))
      .sort((a, b) => a.firstSeq - b.firstSeq);
  }

  /** All events with seq > afterSeq, in order, repairing a torn tail. */
  async scan(afterSeq: number): Promise<JournalScan> {
    this.readCache = null;
    const problems: string[] = [];
    const events: QueueEvent[] = [];
    const commands = new Map<string, JournaledCommand>();
    const segs = await this.segments();
    let from: number | null = null;
    for (let i = 0; i < segs.length; i++) {
      const seg = segs[i]!;
      const next = segs[i + 1];
      const buf = (await this.fs.readFile(seg.file)) ?? Buffer.alloc(0);
      const { records, goodBytes, bad } = decodeSegment(buf);
      for (const rec of records) {
        if (rec.c === undefined || commands.has(rec.c)) continue;
        commands.set(rec.c, {
          id: rec.c,
          events: rec.e,
          ...(rec.d !== undefined ? { digest: rec.d } : {}),
          ...(rec.t !== undefined ? { type: rec.t } : {}),
        });
      }
      // Segments the snapshot already holds are read for their command ids only, never repaired.
      if (next && next.firstSeq <= afterSeq + 1) continue;
      from ??= seg.firstSeq;
      for (const rec of records) for (const ev of rec.e) if (ev.seq > afterSeq) events.push(ev);
      if (bad) {
        problems.push(
          `${path.basename(seg.file)}: ${bad}; dropped ${nonZeroBytes(buf, goodBytes)} bytes that were never acknowledged`,
        );
        // A power cut can only tear the tail: cut the segment back to its good part so new records
        // follow good ones.
        await this.fs.truncate(seg.file, goodBytes);
        // Damage before the tail is not a power cut (bit rot, a bad card): events after it cannot be
        // folded without a gap, so later segments are set aside, not deleted, for a post-mortem.
        for (const later of segs.slice(i + 1)) {
          problems.push(`${path.basename(later.file)}: follows a damaged record; set aside as .damaged`);
          await this.fs.rename(later.file, `${later.file}.damaged`);
        }
        break;
      }
    }
    return { events, problems, commands, from };
  }

  /** Events with seq > afterSeq from disk, at most limit (the outbox reading old backlog). */
  async read(afterSeq: number, limit: number): Promise<QueueEvent[]> {
    const out: QueueEvent[] = [];
    const segs = await this.segments();
    for (let i = 0; i < segs.length && out.length < limit; i++) {
      const next = segs[i + 1];
      if (next && next.firstSeq <= afterSeq + 1) continue;
      // the last segment may still be written to (by this journal, or by the daemon while a tool reads)
      const events = await this.segmentEvents(segs[i]!.file, next !== undefined);
      if (!events) continue;
      for (let k = firstAfter(events, afterSeq); k < events.length && out.length < limit; k++) out.push(events[k]!);
    }
    return out;
  }

  /** A segment's events in order. A closed segment's are kept until another is read: a backlog is
   * read a batch (500 events) at a time, and each read decoded the whole segment it starts in,
   * ~1,000 records, again (four times the decoding of a 10,000-event replay, bench/mqtt.ts).
   * A segment followed by another never changes while the journal is open; the last is read anew. */
  private async segmentEvents(file: string, notLast: boolean): Promise<QueueEvent[] | null> {
    if (this.readCache?.file === file) return this.readCache.events;
    // closed before it is read, or records appended during the read would be missed for good
    const closed = notLast && file !== this.current?.file;
    const buf = await this.fs.readFile(file);
    if (!buf) return null;
    const events = decodeSegment(buf).records.flatMap((rec) => rec.e);
    if (closed) this.readCache = { file, events };
    return events;
  }

  /** Drop the decoded segment kept for reads (the reader caught up: it reads from memory now). */
  forgetReads(): void {
    this.readCache = null;
  }

  /** Start a new segment whose first event will be `firstSeq`. When the new segment cannot be
   * made (a full card), it is removed and the current one stays open: records still land there. */
  async rotate(firstSeq: number): Promise<void> {
    this.readCache = null;
    const file = path.join(this.dir, segmentName(firstSeq));
    let opened: OpenSegment | null = null;
    try {
      // never appended to instead: the current segment's own room is worth more on a full card
      opened = await this.openSegment(file, 0, false);
      // The new file's directory entry must be durable too, or a power cut can lose the whole segment.
      await this.fs.syncDir(this.dir);
    } catch (err) {
      // Left behind, an empty segment would be the last one at the next start, opened there to
      // be made full-size again on the same full card.
      await opened?.close().catch(() => undefined);
      await this.fs.unlink(file).catch(() => undefined);
      throw err;
    }
    await this.closeFile();
    this.use(opened);
    this.current = { file, firstSeq };
  }

  async openLast(nextSeq: number): Promise<void> {
    const segs = await this.segments();
    const last = segs[segs.length - 1];
    if (last) {
      const had = (await this.fs.size(last.file)) ?? 0;
      const good = had > 0 ? decodeSegment((await this.fs.readFile(last.file)) ?? Buffer.alloc(0)).goodBytes : 0;
      this.use(await this.openSegment(last.file, good, true));
      this.current = last;
    } else {
      await this.rotate(nextSeq);
    }
  }

  /** Opens a segment for the next records, which go at `good` (after its last record; scan() has
   * already cut a torn tail back): in place when the file system can preallocate, else appended.
   * `orAppend`: a segment that cannot be made full-size (no room left on the card) is appended to
   * instead, from its last record on, so a restart on a full card still issues while a record fits. */
  private async openSegment(file: string, good: number, orAppend: boolean): Promise<OpenSegment> {
    const bytes = this.opts.preallocate ?? 0;
    if (bytes > 0 && this.fs.openPreallocated) {
      try {
        const { file: slot, zeroed } = await this.fs.openPreallocated(file, bytes);
        this.bytesWritten += zeroed;
        return { slot, offset: good, close: () => slot.close() };
      } catch (err) {
        if (!orAppend || !NO_ROOM.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
        // the zeros written before the card filled would sit between the records and the next
        await this.fs.truncate(file, good);
      }
    }
    const handle = await this.fs.openAppend(file);
    return { handle, offset: good, close: () => handle.close() };
  }

  private use(opened: OpenSegment): void {
    this.slot = opened.slot ?? null;
    this.handle = opened.handle ?? null;
    this.offset = opened.offset;
  }

  private async closeFile(): Promise<void> {
    await this.handle?.close();
    await this.slot?.close();
    this.handle = null;
    this.slot = null;
  }

  /** Append records and fdatasync them: when this resolves, they survive a power cut. When it
   * rejects, the segment is put back to what the last fdatasync made durable (undoFailedWrite). */
  async append(records: Buffer): Promise<void> {
    let buf = records;
    const at = this.offset;
    try {
      if (this.slot) {
        buf = padToBlock(records, at);
        await this.slot.writeAt(buf, at);
        await this.slot.datasync();
      } else {
        if (!this.handle) throw new Error('journal is not open');
        await this.handle.write(buf);
        await this.handle.datasync();
      }
    } catch (err) {
      await this.undoFailedWrite(at, buf.length);
      throw err;
    }
    this.offset += buf.length;
    this.bytesWritten += buf.length;
  }

  /**
   * A write or fdatasync that failed (a failing card's EIO, a full card's ENOSPC) may have left the
   * records in the file as the kernel's page cache holds them, though they never reached the card
   * (Linux marks the pages clean after a failed write-back, and a second fdatasync succeeds without
   * them). The action was refused and the daemon stops; systemd starts it again on the same boot,
   * which read them back and took the refused action as done (a ticket nobody was given waiting on
   * the board, a call the board never showed completed by the next key). So the bytes go back to
   * the zeros of the room made in advance, or, appended or past that room, the file is cut back to
   * before them (a cut needs no new block on a full card). Best effort: a card that refuses this
   * too is left as it is, and the restart cuts off what it can (a torn tail).
   */
  private async undoFailedWrite(at: number, length: number): Promise<void> {
    const file = this.current?.file;
    if (this.slot) {
      try {
        await this.slot.writeAt(Buffer.alloc(length), at);
        await this.slot.datasync().catch(() => undefined);
        return;
      } catch {
        // no room for the zeros (the write went past the room made in advance): cut instead
      }
    }
    if (file) await this.fs.truncate(file, at).catch(() => undefined);
  }

  /** Delete segments holding only events <= seq. */
  async pruneThrough(seq: number): Promise<number> {
    this.readCache = null;
    const segs = await this.segments();
    let removed = 0;
    for (let i = 0; i < segs.length - 1; i++) {
      if (segs[i + 1]!.firstSeq - 1 <= seq && segs[i]!.file !== this.current?.file) {
        await this.fs.unlink(segs[i]!.file);
        removed++;
      }
    }
    return removed;
  }

  async close(): Promise<void> {
    this.readCache = null;
    await this.closeFile();
  }
}

/** Index of the first event with seq > afterSeq in events sorted by seq. */
function firstAfter(events: QueueEvent[], afterSeq: number): number {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (events[mid]!.seq > afterSeq) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
