// An in-memory file system that forgets what was not made durable, for power-cut tests (the idea
// of SQLite's test VFS and Jepsen's LazyFS, without FUSE). On crash():
//  - a file keeps what was fdatasync'd, plus possibly a torn prefix of what was written after
//    (appended, or written in place over a preallocated segment's zeros: `preallocate`);
//  - a directory entry created, renamed or removed since the directory's last fsync may or may not
//    have reached the disk, independently of the file's data (a rename can land before the data).
// Handles opened before a crash fail afterwards, like the processes that held them.
import * as path from 'node:path';
import type { FileHandleLike, SlotFileLike, StoreFs } from '../../device/store/fs.ts';

interface Inode {
  data: Buffer;
  synced: Buffer;
}
interface Dir {
  cur: Map<string, Inode>;
  durable: Map<string, Inode>;
}

export class LossyFs implements StoreFs {
  private dirs = new Map<string, Dir>();
  private epoch = 0;
  syncs = 0;

  /** Present with `preallocate`: the journal then writes its segments in place, as on a Pi. */
  openPreallocated?: (file: string, bytes: number) => Promise<{ file: SlotFileLike; zeroed: number }>;

  constructor(
    private rand: () => number = Math.random,
    opts: { preallocate?: boolean } = {},
  ) {
    if (opts.preallocate) this.openPreallocated = (file, bytes) => this.preallocated(file, bytes);
  }

  /** As nodeFs's: made at least `bytes` long with zeros, synced; then writes in place. */
  private async preallocated(file: string, bytes: number): Promise<{ file: SlotFileLike; zeroed: number }> {
    const d = this.dir(path.dirname(file));
    let inode = d.cur.get(path.basename(file));
    if (!inode) {
      inode = { data: Buffer.alloc(0), synced: Buffer.alloc(0) };
      d.cur.set(path.basename(file), inode);
    }
    const i = inode;
    let zeroed = 0;
    if (i.data.length < bytes) {
      zeroed = bytes - i.data.length;
      i.data = Buffer.concat([i.data, Buffer.alloc(zeroed)]);
      i.synced = Buffer.from(i.data);
      this.syncs++;
    }
    const epoch = this.epoch;
    const alive = () => {
      if (epoch !== this.epoch) throw new Error('EIO: the power went out');
    };
    return {
      zeroed,
      file: {
        writeAt: async (data, position) => {
          alive();
          const end = position + data.length;
          if (end > i.data.length) i.data = Buffer.concat([i.data, Buffer.alloc(end - i.data.length)]);
          else i.data = Buffer.from(i.data);
          i.data.set(data, position);
        },
        datasync: async () => {
          alive();
          i.synced = Buffer.from(i.data);
          this.syncs++;
        },
        close: async () => undefined,
      },
    };
  }

  private dir(d: string, create = false): Dir {
    let dir = this.dirs.get(d);
    if (!dir) {
      if (!create) throw Object.assign(new Error(`ENOENT: ${d}`), { code: 'ENOENT' });
      dir = { cur: new Map(), durable: new Map() };
      this.dirs.set(d, dir);
    }
    return dir;
  }

  private inode(file: string): Inode | undefined {
    return this.dirs.get(path.dirname(file))?.cur.get(path.basename(file));
  }

  private handle(inode: Inode): FileHandleLike {
    const epoch = this.epoch;
    const alive = () => {
      if (epoch !== this.epoch) throw new Error('EIO: the power went out');
    };
    return {
      write: async (data) => {
        alive();
        inode.data = Buffer.concat([inode.data, Buffer.from(data)]);
      },
      datasync: async () => {
        alive();
        inode.synced = Buffer.from(inode.data);
        this.syncs++;
      },
      close: async () => undefined,
    };
  }

  async readFile(file: string): Promise<Buffer | null> {
    const i = this.inode(file);
    return i ? Buffer.from(i.data) : null;
  }

  async openAppend(file: string): Promise<FileHandleLike> {
    const d = this.dir(path.dirname(file));
    let i = d.cur.get(path.basename(file));
    if (!i) {
      i = { data: Buffer.alloc(0), synced: Buffer.alloc(0) };
      d.cur.set(path.basename(file), i);
    }
    return this.handle(i);
  }

  async createExclusive(file: string): Promise<FileHandleLike> {
    const d = this.dir(path.dirname(file));
    if (d.cur.has(path.basename(file))) throw Object.assign(new Error(`EEXIST: ${file}`), { code: 'EEXIST' });
    const i = { data: Buffer.alloc(0), synced: Buffer.alloc(0) };
    d.cur.set(path.basename(file), i);
    return this.handle(i);
  }

  async rename(from: string, to: string): Promise<void> {
    const i = this.inode(from);
    if (!i) throw Object.assign(new Error(`ENOENT: ${from}`), { code: 'ENOENT' });
    this.dir(path.dirname(from)).cur.delete(path.basename(from));
    this.dir(path.dirname(to)).cur.set(path.basename(to), i);
  }

  async syncDir(dir: string): Promise<void> {
    const d = this.dir(dir);
    d.durable = new Map(d.cur);
    this.syncs++;
  }

  async list(dir: string): Promise<string[]> {
    return [...(this.dirs.get(dir)?.cur.keys() ?? [])];
  }

  async size(file: string): Promise<number | null> {
    return this.inode(file)?.data.length ?? null;
  }

  async unlink(file: string): Promise<void> {
    this.dirs.get(path.dirname(file))?.cur.delete(path.basename(file));
  }

  async truncate(file: string, length: number): Promise<void> {
    const i = this.inode(file);
    if (!i) return;
    i.data = i.data.subarray(0, length);
    i.synced = i.synced.subarray(0, Math.min(length, i.synced.length));
  }

  async mkdirp(dir: string): Promise<void> {
    // Durable at once: nodeFs.mkdirp syncs the parent of every directory it makes.
    for (let d = dir; d !== path.dirname(d); d = path.dirname(d)) {
      if (!this.dirs.has(d)) {
        this.dir(d, true);
        const parent = this.dirs.get(path.dirname(d));
        void parent;
      }
    }
  }

  /** The power goes out. */
  crash(): void {
    this.epoch++;
    const kept = new Set<Inode>();
    for (const d of this.dirs.values()) {
      const names = new Set([...d.cur.keys(), ...d.durable.keys()]);
      const next = new Map<string, Inode>();
      for (const name of names) {
        const cur = d.cur.get(name);
        const dur = d.durable.get(name);
        const pick = cur === dur ? cur : this.rand() < 0.5 ? cur : dur;
        if (pick) next.set(name, pick);
      }
      d.cur = next;
      d.durable = new Map(next);
      for (const i of next.values()) kept.add(i);
    }
    for (const i of kept) {
      // what changed since the last sync starts at `from`: an append after the synced bytes, or a
      // write in place over them; a torn prefix of it may have reached the disk
      const from = firstDifference(i.synced, i.data);
      const changed = changedEnd(i.synced, i.data) - from;
      const torn = changed > 0 && from <= i.synced.length ? Math.floor(this.rand() * (changed + 1)) : 0;
      const out = Buffer.from(i.synced);
      const kept = torn > 0 ? i.data.subarray(from, from + torn) : Buffer.alloc(0);
      if (from + kept.length <= out.length) {
        out.set(kept, from);
        i.data = out;
      } else {
        i.data = Buffer.concat([out.subarray(0, from), kept]);
      }
      i.synced = Buffer.from(i.data);
    }
  }

  /** Damage a file in place (bit rot, a bad card), for corruption tests. */
  corrupt(file: string, fn: (b: Buffer) => Buffer): void {
    const i = this.inode(file);
    if (!i) throw new Error(`no file ${file}`);
    i.data = fn(Buffer.from(i.data));
    i.synced = Buffer.from(i.data);
  }
}

/** The first index where `b` differs from `a` (where one ends, if the other goes on). */
function firstDifference(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let k = 0; k < n; k++) if (a[k] !== b[k]) return k;
  return n;
}

/** One past the last byte where `b` differs from `a` (the end of `b` when it is the longer). */
function changedEnd(a: Buffer, b: Buffer): number {
  if (b.length > a.length) return b.length;
  for (let k = b.length - 1; k >= 0; k--) if (a[k] !== b[k]) return k + 1;
  return 0;
}
