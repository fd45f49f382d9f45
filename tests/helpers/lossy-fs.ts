// An in-memory file system that forgets what was not made durable, for power-cut tests (the idea
// of SQLite's test VFS and Jepsen's LazyFS, without FUSE). On crash():
//  - a file keeps what was fdatasync'd, plus possibly a torn prefix of what was written after;
//  - a directory entry created, renamed or removed since the directory's last fsync may or may not
//    have reached the disk, independently of the file's data (a rename can land before the data).
// Handles opened before a crash fail afterwards, like the processes that held them.
import * as path from 'node:path';
import type { FileHandleLike, StoreFs } from '../../device/store/fs.ts';

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

  constructor(private rand: () => number = Math.random) {}

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
    // Directories are made once, at first start, and synced by mkdir's caller in real life.
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
      const extra = i.data.length - i.synced.length;
      const prefixOk = extra > 0 && i.data.subarray(0, i.synced.length).equals(i.synced);
      const torn = prefixOk ? Math.floor(this.rand() * (extra + 1)) : 0;
      i.data = Buffer.concat([
        i.synced,
        prefixOk ? i.data.subarray(i.synced.length, i.synced.length + torn) : Buffer.alloc(0),
      ]);
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
