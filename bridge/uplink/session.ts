// The `session` number of the device status: it grows with every connect and survives restarts,
// so central can tell a late will of an older session from the current presence.
//
// The file holds a ceiling, not the last number: a block of numbers is reserved with one durable
// write, and a restart goes on above the ceiling (a gap central never minds: it only compares).
// One fsync'd write per connection attempt was ~1,440 a day (a few MiB sent to the card) while
// central was unreachable, and a satellite's link, which retries sooner, several times that.
//
// The ceiling is written in place, into one of two fixed slots of a file made once: a full card
// has no block for a new file, and a temp file and rename per block kept the uplink down there
// (and the embedded broker, which takes a number at start, kept the daemon from starting), so the
// device went dark to central exactly when its card needed someone. Two slots, each with its
// CRC, in different sectors: a write torn by a power cut spoils only the slot it was writing, and
// the other still holds the ceiling before it, above every number handed out.
//
// The file it replaced, `mqtt-session.json` (`{"session":N}`, replaced whole), is written too after
// each ceiling, where the card has room: an older release started on this data dir reads only that
// one, and without it numbered its sessions from 1 again, below those central had seen (its next
// presence read as older than the last will). At a start the higher of the two counts.
import { crc32 } from 'node:zlib';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { type StoreFs, writeDurable } from '../../device/store/fs.ts';

export interface SessionCounterOptions {
  /** the data dir: the number lives in <dir>/mqtt-session */
  dir: string;
  /** the store's file system (the power-cut tests pass one that forgets unsynced writes) */
  fs: StoreFs;
  logger: Logger;
  /** ms since the epoch: the floor after a damaged file */
  now?: () => number;
}

/** Numbers reserved by one write of the file. */
export const SESSION_BLOCK = 100;

/** The file's name in the data dir, and the one it replaced (`{"session":N}`, whole-file writes),
 * kept up to date for an older release where the card has room. */
export const SESSION_FILE = 'mqtt-session';
export const LEGACY_SESSION_FILE = 'mqtt-session.json';

/** A slot per sector, so one torn write never reaches both. */
const SLOT_BYTES = 512;
const SLOTS = 2;
export const SESSION_FILE_BYTES = SLOT_BYTES * SLOTS;

/** One slot: `<crc32 of the JSON, 8 hex> {"session":N}`, a newline, spaces to the slot's end. */
function encodeSlot(session: number): Buffer {
  const json = JSON.stringify({ session });
  const line = `${crc32(json).toString(16).padStart(8, '0')} ${json}\n`;
  const slot = Buffer.alloc(SLOT_BYTES, 0x20);
  slot.write(line, 0, 'latin1');
  slot[SLOT_BYTES - 1] = 0x0a;
  return slot;
}

function decodeSlot(slot: Buffer): number | null {
  const m = /^([0-9a-f]{8}) (\{[^\n]*\})\n/.exec(slot.toString('latin1'));
  if (!m || Number.parseInt(m[1]!, 16) !== crc32(m[2]!)) return null;
  return sessionOf(m[2]!); // text that is not JSON with its CRC (a hand edit): as damaged as any
}

/** The number of a `{"session":N}` text, or null when it does not hold one. */
function sessionOf(text: string): number | null {
  let session: unknown;
  try {
    session = (JSON.parse(text) as { session?: unknown } | null)?.session;
  } catch {
    return null;
  }
  return typeof session === 'number' && Number.isSafeInteger(session) && session >= 0 ? session : null;
}

/** What the file's slots hold: the number to go on from and the slot of the newest, or null when
 * no slot is valid (a damaged card, a hand edit, a file of the wrong size). With one slot spoiled,
 * the number is the other's plus a block: each write reserves exactly the block above the ceiling
 * before it, so that is the spoiled slot's number if it was the newest (bit rot), and a gap if the
 * power cut a write into it (whose numbers were never handed out). */
export function readSessionSlots(buf: Buffer): { session: number; slot: number; stored: number } | null {
  if (buf.length !== SESSION_FILE_BYTES) return null;
  const read = Array.from({ length: SLOTS }, (_, slot) =>
    decodeSlot(buf.subarray(slot * SLOT_BYTES, (slot + 1) * SLOT_BYTES)),
  );
  const valid = read.flatMap((session, slot) => (session === null ? [] : [{ session, slot }]));
  if (valid.length === 0) return null;
  const best = valid.reduce((a, b) => (b.session > a.session ? b : a));
  const stored = best.session;
  return valid.length === SLOTS
    ? { ...best, stored }
    : { session: best.session + SESSION_BLOCK, slot: best.slot, stored };
}

export class SessionCounter {
  private value = 0;
  /** the highest number a write has been started for (the file's ceiling once it lands) */
  private ceiling = 0;
  /** the highest number the file durably allows */
  private durable = 0;
  /** the slot holding the durable ceiling, when the file has its two slots: the next write goes
   * into the other; null until the file is made (absent, the old format, or damaged) */
  private newestSlot: number | null = null;
  /** what the newest slot holds (null: nothing valid). The rule readSessionSlots counts on, that
   * the two slots are one block apart, holds only while this is the durable ceiling: after a start
   * from one spoiled slot, or from the old file's higher number, the ceiling is written into the
   * other slot first, then the new one beside it. */
  private newestValue: number | null = null;
  /** the write of the current ceiling: a number is handed out once it has landed */
  private reserving: Promise<void> = Promise.resolve();
  private writing: Promise<void> = Promise.resolve();
  private readonly path: string;
  private readonly legacyPath: string;
  private readonly fs: StoreFs;

  constructor(private readonly opts: SessionCounterOptions) {
    this.path = join(opts.dir, SESSION_FILE);
    this.legacyPath = join(opts.dir, LEGACY_SESSION_FILE);
    this.fs = opts.fs;
  }

  async load(): Promise<void> {
    const buf = await this.fs.readFile(this.path);
    const legacyBuf = await this.fs.readFile(this.legacyPath);
    const slots = buf ? readSessionSlots(buf) : null;
    const legacy = legacyBuf ? sessionOf(legacyBuf.toString('utf8')) : null;
    // the right size with both slots spoiled: written in place again, from slot 0
    if (slots) {
      this.newestSlot = slots.slot;
      this.newestValue = slots.stored;
    } else if (buf?.length === SESSION_FILE_BYTES) this.newestSlot = 1;
    if (slots || (legacy !== null && !buf)) {
      // an older release put back on this data dir may have gone on in the old file
      this.value = this.ceiling = this.durable = Math.max(slots?.session ?? 0, legacy ?? 0);
      return;
    }
    if (!buf && !legacyBuf) return; // a new device: sessions start at 1
    this.fromClock(buf ? this.path : this.legacyPath);
    // the old file may be behind the damaged new one (not written on a full card): never below it
    if (legacy !== null && legacy > this.value) this.value = this.ceiling = this.durable = legacy;
  }

  // Both files are written so that a power cut leaves them whole, so only a damaged card or a hand
  // edit gets here. Starting again at 1 would make central read this device's next presence as
  // older than its last will (and ignore it); the clock's seconds are above any count of
  // connections made before, unless the clock is wrong (a board without RTC before its time sync).
  private fromClock(file: string): void {
    this.value = Math.max(0, Math.floor((this.opts.now ?? Date.now)() / 1000));
    this.ceiling = this.durable = this.value;
    this.opts.logger.warn(
      { code: 'session-file-damaged', file, session: this.value },
      'the MQTT session number file is damaged; numbering sessions on from the clock',
    );
  }

  current(): number {
    return this.value;
  }

  /** The next session number, durable before it is used in a will: within the reserved block at
   * once, past it after one fsync'd write of the next block's ceiling. */
  next(): Promise<number> {
    const value = ++this.value;
    if (value > this.ceiling) {
      const ceiling = value + SESSION_BLOCK - 1;
      this.ceiling = ceiling;
      // Serialized, so a slower earlier write can never land after a later one; and given up when
      // the one before it failed (the numbers between were never handed out, and are given again:
      // each write reserves exactly the block above the durable ceiling).
      const run = this.writing.then(() => {
        if (ceiling !== this.durable + SESSION_BLOCK)
          throw new Error('the session block before this one was not written');
        return this.write(ceiling);
      });
      this.reserving = run.then(
        () => {
          this.durable = Math.max(this.durable, ceiling);
        },
        (err: unknown) => {
          // The next number tries the write again. The numbers of this block were never handed
          // out: they are given again, so a write always reserves the block just above the
          // durable ceiling (what readSessionSlots counts on).
          if (this.ceiling === ceiling) this.ceiling = this.value = this.durable;
          throw err;
        },
      );
      this.writing = this.reserving.catch(() => undefined);
    }
    return this.reserving.then(() => value);
  }

  private async write(ceiling: number): Promise<void> {
    let inPlace = false;
    if (this.newestSlot !== null && this.fs.openPreallocated) {
      const slot = 1 - this.newestSlot;
      const { file, zeroed } = await this.fs.openPreallocated(this.path, SESSION_FILE_BYTES);
      try {
        // zeros: the file was gone (removed by hand), and a new file is not durable until its
        // directory is: make it whole, below, as the first time
        if (zeroed === 0) {
          let into = slot;
          if (this.newestValue !== this.durable) {
            await file.writeAt(encodeSlot(this.durable), into * SLOT_BYTES);
            await file.datasync();
            this.newestSlot = into;
            this.newestValue = this.durable;
            into = 1 - into;
          }
          await file.writeAt(encodeSlot(ceiling), into * SLOT_BYTES);
          await file.datasync();
          this.newestSlot = into;
          this.newestValue = ceiling;
          inPlace = true;
        }
      } finally {
        await file.close();
      }
    }
    if (!inPlace) {
      const slot = encodeSlot(ceiling);
      await writeDurable(this.fs, this.path, Buffer.concat([slot, slot]), { mode: 0o600 });
      this.newestSlot = 0;
      this.newestValue = ceiling;
    }
    // For an older release only, so a full card (no room for its temp file) fails it quietly.
    await writeDurable(this.fs, this.legacyPath, Buffer.from(JSON.stringify({ session: ceiling }), 'utf8'), {
      mode: 0o600,
    }).catch((err: unknown) =>
      this.opts.logger.debug(
        { err: (err as Error).message },
        'the old session file not written (for an older release)',
      ),
    );
  }
}
