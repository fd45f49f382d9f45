// A file system whose power goes out at a chosen step, for power-cut tests that must try every
// instant of a durable write, not a random few. It runs over a LossyFs (what survives a cut is
// that model's business) and counts each step that changes the disk: creating a file, a write, an
// fsync of a file or a directory, a rename, an unlink, a truncate. At step `cutAt` the step does not
// happen, the LossyFs crashes, and every later call fails, like the process that died.
import type { FileHandleLike, SlotFileLike, StoreFs } from '../../device/store/fs.ts';
import type { LossyFs } from '../helpers/lossy-fs.ts';

export class PowerCut extends Error {
  readonly code = 'EIO';
  constructor() {
    super('EIO: the power went out');
  }
}

export class CutFs implements StoreFs {
  /** steps taken so far (counted only while armed) */
  steps = 0;
  /** whether the power went out */
  cut = false;
  private armed: boolean;

  /** Present when the disk writes in place (a LossyFs with `preallocate`): opening, each write in
   * place and each fdatasync are steps. */
  openPreallocated?: (file: string, bytes: number) => Promise<{ file: SlotFileLike; zeroed: number }>;

  /** cutAt: the step (1-based) at which the power goes; armed: count from the start (else from arm()) */
  constructor(
    private readonly disk: LossyFs,
    private readonly cutAt: number,
    opts: { armed?: boolean } = {},
  ) {
    this.armed = opts.armed ?? true;
    const prealloc = disk.openPreallocated;
    if (prealloc)
      this.openPreallocated = (file, bytes) =>
        this.step(async () => {
          const opened = await prealloc(file, bytes);
          const f = opened.file;
          return {
            zeroed: opened.zeroed,
            file: {
              writeAt: (data, position) => this.step(() => f.writeAt(data, position)),
              datasync: () => this.step(() => f.datasync()),
              close: async () => {
                if (!this.cut) await f.close();
              },
            },
          };
        });
  }

  /** Start counting steps now (after a set-up that must not be cut). */
  arm(): void {
    this.armed = true;
  }

  /** The power goes out now, between steps: whatever still runs in the background (a snapshot
   * being written) fails from here on, as it would in the process that died. */
  powerOff(): void {
    if (this.cut) return;
    this.cut = true;
    this.disk.crash();
  }

  private alive(): void {
    if (this.cut) throw new PowerCut();
  }

  private async step<T>(op: () => Promise<T>): Promise<T> {
    this.alive();
    if (this.armed && ++this.steps === this.cutAt) {
      this.cut = true;
      this.disk.crash();
      throw new PowerCut();
    }
    return op();
  }

  private handle(fh: FileHandleLike): FileHandleLike {
    return {
      write: (data) => this.step(() => fh.write(data)),
      datasync: () => this.step(() => fh.datasync()),
      close: async () => {
        if (!this.cut) await fh.close();
      },
    };
  }

  async readFile(file: string): Promise<Buffer | null> {
    this.alive();
    return this.disk.readFile(file);
  }
  async openAppend(file: string): Promise<FileHandleLike> {
    this.alive();
    return this.handle(await this.disk.openAppend(file));
  }
  createExclusive(file: string): Promise<FileHandleLike> {
    return this.step(async () => this.handle(await this.disk.createExclusive(file)));
  }
  rename(from: string, to: string): Promise<void> {
    return this.step(() => this.disk.rename(from, to));
  }
  syncDir(dir: string): Promise<void> {
    return this.step(() => this.disk.syncDir(dir));
  }
  async list(dir: string): Promise<string[]> {
    this.alive();
    return this.disk.list(dir);
  }
  async size(file: string): Promise<number | null> {
    this.alive();
    return this.disk.size(file);
  }
  unlink(file: string): Promise<void> {
    return this.step(() => this.disk.unlink(file));
  }
  truncate(file: string, length: number): Promise<void> {
    return this.step(() => this.disk.truncate(file, length));
  }
  async mkdirp(dir: string): Promise<void> {
    this.alive();
    await this.disk.mkdirp(dir);
  }
}

/** The three ways the LossyFs settles what a cut leaves of unsynced changes: everything kept, as
 * little kept as it may (torn data, directory changes lost), and a seeded mix. */
export function cutModels(): Array<{ name: string; rand: () => number }> {
  let s = 12345;
  return [
    { name: 'unsynced changes kept', rand: () => 0 },
    { name: 'unsynced changes lost', rand: () => 0.99 },
    {
      name: 'a seeded mix',
      rand: () => {
        s = (s * 1103515245 + 12345) % 2 ** 31;
        return s / 2 ** 31;
      },
    },
  ];
}
