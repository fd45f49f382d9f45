// The few file-system primitives the store uses, behind an interface so the power-cut tests can
// swap in a file system that forgets whatever was not fsync'd (tests/helpers/lossy-fs.ts), the way
// SQLite's test VFS and Jepsen's LazyFS do. Durability is built from these primitives in one place
// (writeDurable, below), so the tests exercise the real ordering of writes and syncs. Every file the
// daemon replaces whole (snapshots, outbox cursors, the bridge's command memory and session
// number) goes through writeDurable on the store's StoreFs.
import { constants as fsConstants } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';

export interface FileHandleLike {
  write(data: Uint8Array): Promise<void>;
  /** fdatasync: the data reaches the disk (metadata such as mtime may lag) */
  datasync(): Promise<void>;
  close(): Promise<void>;
}

/** A file written in place at known offsets: a journal segment made full-size in advance. */
export interface SlotFileLike {
  /** write `data` at byte `position` (a write inside the file's length does not grow it) */
  writeAt(data: Uint8Array, position: number): Promise<void>;
  /** fdatasync: the data reaches the disk */
  datasync(): Promise<void>;
  close(): Promise<void>;
}

export interface StoreFs {
  /** the whole file, or null when it does not exist */
  readFile(file: string): Promise<Buffer | null>;
  /** open for appending, creating it if needed */
  openAppend(file: string): Promise<FileHandleLike>;
  /** create a new file; fails with EEXIST if it exists. mode: permission bits (default: 0o666,
   * less the umask) */
  createExclusive(file: string, mode?: number): Promise<FileHandleLike>;
  rename(from: string, to: string): Promise<void>;
  /** fsync a directory: makes creations, renames and unlinks in it durable */
  syncDir(dir: string): Promise<void>;
  list(dir: string): Promise<string[]>;
  /** size in bytes, or null when it does not exist */
  size(file: string): Promise<number | null>;
  unlink(file: string): Promise<void>;
  truncate(file: string, length: number): Promise<void>;
  mkdirp(dir: string): Promise<void>;
  /** Open `file` for writes in place, creating it, and make it at least `bytes` long with zeros,
   * fdatasync'd: an fdatasync of a later write inside those bytes then sends the data block alone
   * to the card, where a growing file also makes the file system commit its new size and blocks
   * (4 KiB of data became 17 KiB at the block device, bench/sd-wear.ts). Returns how many zero
   * bytes it wrote. Optional: without it the journal appends (the power-cut tests' file systems). */
  openPreallocated?(file: string, bytes: number): Promise<{ file: SlotFileLike; zeroed: number }>;
}

export const nodeFs: StoreFs = {
  async readFile(file) {
    try {
      return await fsp.readFile(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  },
  openAppend: async (file) => wrap(await fsp.open(file, 'a')),
  createExclusive: async (file, mode) => wrap(await fsp.open(file, 'wx', mode)),
  rename: (from, to) => fsp.rename(from, to),
  async syncDir(dir) {
    const fh = await fsp.open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  },
  async list(dir) {
    try {
      return await fsp.readdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  },
  async size(file) {
    try {
      return (await fsp.stat(file)).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  },
  async unlink(file) {
    try {
      await fsp.unlink(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  },
  truncate: (file, length) => fsp.truncate(file, length),
  async mkdirp(dir) {
    const first = await fsp.mkdir(dir, { recursive: true });
    if (first === undefined) return;
    // A new directory's entry is durable only once its parent is synced: without it, a power cut
    // soon after the first start can lose the directory with the synced files in it.
    const top = path.resolve(first);
    for (let d = path.resolve(dir); ; d = path.dirname(d)) {
      await nodeFs.syncDir(path.dirname(d));
      if (d === top || path.dirname(d) === d) break;
    }
  },
  async openPreallocated(file, bytes) {
    // O_RDWR | O_CREAT, not O_APPEND: writes land where they are told, never at the end
    const fh = await fsp.open(file, fsConstants.O_RDWR | fsConstants.O_CREAT, 0o666);
    let zeroed = 0;
    try {
      const size = (await fh.stat()).size;
      if (size < bytes) {
        const zeros = Buffer.alloc(Math.min(ZERO_CHUNK, bytes - size));
        for (let at = size; at < bytes; at += zeros.length) {
          const n = Math.min(zeros.length, bytes - at);
          await writeFully(fh, zeros.subarray(0, n), at);
          zeroed += n;
        }
        await fh.datasync();
      }
    } catch (err) {
      await fh.close();
      throw err;
    }
    return {
      file: {
        writeAt: (data, position) => writeFully(fh, data, position),
        datasync: () => fh.datasync(),
        close: () => fh.close(),
      },
      zeroed,
    };
  },
};

const ZERO_CHUNK = 64 * 1024;

async function writeFully(fh: fsp.FileHandle, data: Uint8Array, position: number): Promise<void> {
  let off = 0;
  while (off < data.length) {
    const { bytesWritten } = await fh.write(data, off, data.length - off, position + off);
    off += bytesWritten;
  }
}

function wrap(fh: fsp.FileHandle): FileHandleLike {
  return {
    async write(data) {
      let off = 0;
      while (off < data.length) {
        const { bytesWritten } = await fh.write(data, off, data.length - off);
        off += bytesWritten;
      }
    },
    datasync: () => fh.datasync(),
    close: () => fh.close(),
  };
}

// The one temp-name pattern of writeDurable: `<file>.tmp-<pid>-<n>`. A power cut between the temp
// file's creation and its rename leaves it behind; start-up recognises it by this pattern alone
// (removeLeftovers), so nothing else may name a file like this.
const TEMP_SUFFIX = /\.tmp-\d+-\d+$/;
// What older versions left: bridge/util/atomic-file.ts `mqtt-commands.json.<pid>.<n>.tmp`; the
// status file `.status.json.<pid>.tmp`, the simulator's frames and tickets `<name>.png.<pid>.tmp`
// and sounds `<seq>.wav.tmp`. Recognised so an upgraded device sheds its old litter too.
const LEGACY_TEMP_SUFFIX = /(\.\d+\.\d+\.tmp|\.(json|png)\.\d+\.tmp|\.wav\.tmp)$/;

let tmpCounter = 0;

/** Whether a file name is the temp file of an interrupted writeDurable. */
export function isDurableTemp(name: string): boolean {
  return TEMP_SUFFIX.test(name) || LEGACY_TEMP_SUFFIX.test(name);
}

export interface DurableWriteOptions {
  /** permission bits of the new file (default: 0o666 less the umask) */
  mode?: number;
}

/** Replace a file so that after a power cut it holds either the old or the new content, whole.
 * A unique temp name, so two writers never share one; fsync it before the rename, or the rename
 * can land before the data; then fsync the directory, since a rename is not durable until its
 * directory is (steno and write-file-atomic skip one or both of these). */
export async function writeDurable(
  fs: StoreFs,
  file: string,
  data: Uint8Array,
  opts: DurableWriteOptions = {},
): Promise<void> {
  const { tmp, fh } = await createTemp(fs, file, opts.mode);
  try {
    try {
      await fh.write(data);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, file);
  } catch (err) {
    // A full card, say: free the space now rather than at the next start.
    await fs.unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fs.syncDir(path.dirname(file));
}

/** Replace a file atomically for its readers (a temp file, then rename) but not durably: for files
 * rewritten often and worth nothing after a power cut, where an fsync would only wear the card (the
 * status file for `npm run status`, the simulator's frames, tickets and sounds). Same temp-name
 * pattern as writeDurable, so start-up removes what a cut leaves behind (removeLeftovers). */
export async function replaceFile(file: string, data: Uint8Array | string): Promise<void> {
  const { tmp, fh } = await createTemp(nodeFs, file, undefined);
  try {
    try {
      await fh.write(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    } finally {
      await fh.close();
    }
    await nodeFs.rename(tmp, file);
  } catch (err) {
    await nodeFs.unlink(tmp).catch(() => undefined);
    throw err;
  }
}

async function createTemp(
  fs: StoreFs,
  file: string,
  mode: number | undefined,
): Promise<{ tmp: string; fh: FileHandleLike }> {
  // A daemon started at boot often gets the same pid as the one before the power cut, so a
  // leftover can carry the very name this process picks: take the next number instead.
  for (let attempt = 0; ; attempt++) {
    const tmp = `${file}.tmp-${process.pid}-${++tmpCounter}`;
    try {
      return { tmp, fh: await fs.createExclusive(tmp, mode) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 100) throw err;
    }
  }
}

export interface Leftovers {
  files: number;
  bytes: number;
}

/** Remove what interrupted durable writes left in these directories (start-up only: a write in
 * flight would lose its temp file). Not synced: a removal lost to a power cut is redone next time. */
export async function removeLeftovers(fs: StoreFs, dirs: readonly string[]): Promise<Leftovers> {
  const removed: Leftovers = { files: 0, bytes: 0 };
  for (const dir of dirs) {
    for (const name of await fs.list(dir)) {
      if (!isDurableTemp(name)) continue;
      const file = path.join(dir, name);
      const size = await fs.size(file);
      if (size === null) continue;
      await fs.unlink(file);
      removed.files++;
      removed.bytes += size;
    }
  }
  return removed;
}
