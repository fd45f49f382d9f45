// Byte I/O with a printer device: /dev/usb/lp0 (usblp, bidirectional) or a serial port. Opened
// non-blocking so that a status query to a silent printer times out instead of parking a libuv
// thread forever in read(2); writes retry on EAGAIN while the printer's buffer is full.
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
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

function isAgain(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EAGAIN' || code === 'EWOULDBLOCK';
}

export class DeviceTransport implements PrinterTransport {
  private fh: FileHandle | null = null;

  constructor(
    private readonly path: string,
    private readonly opts: { baudRate?: number | undefined; writeTimeoutMs?: number } = {},
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
    this.fh = await open(this.path, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);
  }

  async write(bytes: Uint8Array): Promise<void> {
    const fh = this.need();
    const deadline = Date.now() + (this.opts.writeTimeoutMs ?? 30_000);
    let off = 0;
    while (off < bytes.length) {
      try {
        const { bytesWritten } = await fh.write(bytes, off, bytes.length - off);
        off += bytesWritten;
      } catch (err) {
        if (!isAgain(err)) throw err;
        if (Date.now() > deadline) throw new Error(`printer accepted ${off} of ${bytes.length} bytes and then stalled`);
        await sleep(10);
      }
    }
  }

  async query(command: readonly number[], timeoutMs: number): Promise<number | null> {
    const fh = this.need();
    const one = Buffer.alloc(64);
    // Drop stale answers so this one is not confused with an earlier, timed-out query's.
    for (let i = 0; i < 16; i++) {
      const n = await this.readSome(fh, one);
      if (n <= 0) break;
    }
    await this.write(Uint8Array.from(command));
    const deadline = Date.now() + timeoutMs;
    while (Date.now() <= deadline) {
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

  private need(): FileHandle {
    if (!this.fh) throw new Error(`${this.path} is not open`);
    return this.fh;
  }

  private async readSome(fh: FileHandle, buf: Buffer): Promise<number> {
    try {
      return (await fh.read(buf, 0, buf.length, null)).bytesRead;
    } catch (err) {
      if (isAgain(err)) return 0;
      throw err;
    }
  }
}
