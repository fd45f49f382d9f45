// The few file-system primitives the store uses, behind an interface so the power-cut tests can
// swap in a file system that forgets whatever was not fsync'd (tests/helpers/lossy-fs.ts), the way
// SQLite's test VFS and Jepsen's LazyFS do. Durability is built from these primitives in one place
// (writeDurable, below), so the tests exercise the real ordering of writes and syncs.
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';

export interface FileHandleLike {
  write(data: Uint8Array): Promise<void>;
  /** fdatasync: the data reaches the disk (metadata such as mtime may lag) */
  datasync(): Promise<void>;
  close(): Promise<void>;
}

export interface StoreFs {
  /** the whole file, or null when it does not exist */
  readFile(file: string): Promise<Buffer | null>;
  /** open for appending, creating it if needed */
  openAppend(file: string): Promise<FileHandleLike>;
  /** create a new file; fails if it exists */
  createExclusive(file: string): Promise<FileHandleLike>;
  rename(from: string, to: string): Promise<void>;
  /** fsync a directory: makes creations, renames and unlinks in it durable */
  syncDir(dir: string): Promise<void>;
  list(dir: string): Promise<string[]>;
  unlink(file: string): Promise<void>;
  truncate(file: string, length: number): Promise<void>;
  mkdirp(dir: string): Promise<void>;
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
  createExclusive: async (file) => wrap(await fsp.open(file, 'wx')),
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
  async unlink(file) {
    try {
      await fsp.unlink(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  },
  truncate: (file, length) => fsp.truncate(file, length),
  mkdirp: async (dir) => {
    await fsp.mkdir(dir, { recursive: true });
  },
};

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

let tmpCounter = 0;

/** Replace a file so that after a power cut it holds either the old or the new content, whole.
 * A unique temp name, so two writers never share one; fsync it before the rename, or the rename
 * can land before the data; then fsync the directory, since a rename is not durable until its
 * directory is (steno and write-file-atomic skip one or both of these). */
export async function writeDurable(fs: StoreFs, file: string, data: Uint8Array): Promise<void> {
  const dir = path.dirname(file);
  const tmp = `${file}.tmp-${process.pid}-${++tmpCounter}`;
  const fh = await fs.createExclusive(tmp);
  try {
    await fh.write(data);
    await fh.datasync();
  } finally {
    await fh.close();
  }
  await fs.rename(tmp, file);
  await fs.syncDir(dir);
}
