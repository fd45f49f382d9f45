// Byte I/O with a printer device: /dev/usb/lp0 (usblp, bidirectional) or a serial port. Opened
// non-blocking so that a status query to a silent printer times out instead of parking a libuv
// thread forever in read(2); writes retry on EAGAIN while the printer's buffer is full.
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { promisify } from 'node:util';

export interface PrinterTransport {
  open(): Promise<void>;
  write(bytes: Uint8Array): Promise<void>;
  /** Send a real-time query and return the one-byte answer, or null when none came in time. */
  query(command: readonly number[], timeoutMs: number): Promise<number | null>;
  close(): Promise<void>;
  readonly isOpen: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What the transport does with an open device: a FileHandle's calls (tests hand in a printer). */
export interface DeviceHandle {
  write(buffer: Uint8Array, offset: number, length: number): Promise<{ bytesWritten: number }>;
  read(buffer: Buffer, offset: number, length: number, position: null): Promise<{ bytesRead: number }>;
  close(): Promise<void>;
}

export interface DeviceTransportOptions {
  baudRate?: number | undefined;
  /** a write fails when the printer has taken no byte for this long (default 30 s) */
  writeTimeoutMs?: number;
  /** opens the device; default: the file, read-write, non-blocking */
  openDevice?: (path: string) => Promise<DeviceHandle>;
}

const openFile = (path: string): Promise<DeviceHandle> =>
  open(path, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);

function isAgain(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EAGAIN' || code === 'EWOULDBLOCK';
}

class StalledError extends Error {
  constructor(accepted: number, total: number) {
    super(`printer accepted ${accepted} of ${total} bytes and then stalled`);
  }
}

export class DeviceTransport implements PrinterTransport {
  private fh: DeviceHandle | null = null;

  constructor(
    private readonly path: string,
    private readonly opts: DeviceTransportOptions = {},
  ) {}

  get isOpen(): boolean {
    return this.fh !== null;
  }

  async open(): Promise<void> {
    if (this.fh) return;
    if (this.opts.baudRate) {
      // Serial line settings: raw 8N1 without flow control, which is what ESC/POS printers expect.
      await promisify(execFile)('stty', [
        '-F',
        this.path,
        String(this.opts.baudRate),
        'raw',
        '-echo',
        'cs8',
        '-cstopb',
        '-parenb',
        '-ixon',
      ]);
    }
    this.fh = await (this.opts.openDevice ?? openFile)(this.path);
  }

  write(bytes: Uint8Array): Promise<void> {
    return this.send(bytes, this.opts.writeTimeoutMs ?? 30_000);
  }

  async query(command: readonly number[], timeoutMs: number): Promise<number | null> {
    const fh = this.need();
    const one = Buffer.alloc(64);
    // Drop stale answers so this one is not confused with an earlier, timed-out query's.
    for (let i = 0; i < 16; i++) {
      const n = await this.readSome(fh, one);
      if (n <= 0) break;
    }
    // A printer whose buffer is full takes no query either: that is no answer, in the query's own
    // time, not a ticket's stall time (a press waits for this).
    try {
      await this.send(Uint8Array.from(command), timeoutMs);
    } catch (err) {
      if (err instanceof StalledError) return null;
      throw err;
    }
    const deadline = performance.now() + timeoutMs;
    while (performance.now() <= deadline) {
      const n = await this.readSome(fh, one);
      if (n > 0) return one[n - 1]!;
      await sleep(10);
    }
    return null;
  }

  async close(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    await fh?.close();
  }

  /** Writes all of `bytes`, failing once the printer has taken nothing for `stallMs`. The time
   * counts from the last byte taken, not from the start: a serial line at 19200 baud needs ~38 s
   * for a ticket's 72 KB, and a whole-write deadline failed every ticket there. */
  private async send(bytes: Uint8Array, stallMs: number): Promise<void> {
    const fh = this.need();
    let deadline = performance.now() + stallMs;
    let off = 0;
    while (off < bytes.length) {
      let taken = 0;
      try {
        taken = (await fh.write(bytes, off, bytes.length - off)).bytesWritten;
      } catch (err) {
        if (!isAgain(err)) throw err;
      }
      if (taken > 0) {
        off += taken;
        deadline = performance.now() + stallMs;
        continue;
      }
      if (performance.now() > deadline) throw new StalledError(off, bytes.length);
      await sleep(10);
    }
  }

  private need(): DeviceHandle {
    if (!this.fh) throw new Error(`${this.path} is not open`);
    return this.fh;
  }

  private async readSome(fh: DeviceHandle, buf: Buffer): Promise<number> {
    try {
      return (await fh.read(buf, 0, buf.length, null)).bytesRead;
    } catch (err) {
      if (isAgain(err)) return 0;
      throw err;
    }
  }
}
