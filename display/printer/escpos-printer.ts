// A real ESC/POS ticket printer behind the TicketPrinter port. One operation at a time on the
// device (status polls and prints would otherwise interleave their bytes), and every failure is a
// stable code in health() and in the thrown error.
import type { Logger } from 'pino';
import type { PrinterErrorCode } from '../../device/error-codes.ts';
import type { ComponentHealth } from '../../device/ports/health.ts';
import type { PrintJob, PrinterStatus, TicketPrinter } from '../../device/ports/outputs.ts';
import { STATUS_QUERY, decodeStatus, encodeTicket } from './escpos.ts';
import type { PrinterTransport } from './transport.ts';

export class PrinterError extends Error {
  constructor(
    readonly code: PrinterErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface EscposOptions {
  device: string;
  widthDots: number;
  statusTimeoutMs: number;
  /** false: never query, a printer whose device opens is ready (paper state unknown) */
  statusQuery?: boolean;
}

export class EscposPrinter implements TicketPrinter {
  readonly kind = 'escpos';
  private chain: Promise<unknown> = Promise.resolve();
  private last: PrinterStatus = { online: false, paper: 'unknown', ready: false, error: 'printer-not-open' };
  /** the last status query failed (said once, then at debug until one answers) */
  private queryFailing = false;
  private state: ComponentHealth & { printed: number; failed: number } = {
    connected: false,
    lastError: null,
    lastErrorAt: null,
    printed: 0,
    failed: 0,
    paper: 'unknown',
  };

  constructor(
    private readonly transport: PrinterTransport,
    private readonly opts: EscposOptions,
    private readonly logger: Logger,
  ) {}

  open(): Promise<void> {
    return this.serial(() => this.ensureOpen());
  }

  status(): Promise<PrinterStatus> {
    return this.serial(async () => {
      // A descriptor opened before the printer was unplugged (or switched off) and plugged back
      // stays dead (ENODEV, EIO) while the same device node, opened again, is the printer. Without
      // a query nothing would ever touch it before the next ticket's write: "ready", a number
      // issued, and the write failed. So the check is the open itself, each time.
      if (this.opts.statusQuery === false) await this.transport.close().catch(() => {});
      try {
        await this.ensureOpen();
      } catch {
        // not printer-offline: that code's advice is about status queries, and this printer is
        // unplugged, switched off, or not the daemon's to open (docs/errors.md)
        return this.record({ online: false, paper: 'unknown', ready: false, error: 'printer-open-failed' });
      }
      if (this.opts.statusQuery === false)
        return this.record({ online: true, paper: 'unknown', ready: true, error: null });
      let failure: unknown;
      try {
        return await this.query();
      } catch (err) {
        failure = err;
      }
      // The same dead descriptor, with queries: the first press after a replug was refused
      // (printer-offline) though the printer was back. Asked once more on a fresh open, it answers.
      await this.transport.close().catch(() => {});
      try {
        await this.ensureOpen();
        return await this.query();
      } catch (err) {
        failure = err;
      }
      await this.transport.close().catch(() => {});
      // Once per outage: the status is asked every statusIntervalSec (10 s), and a printer
      // failing the same way over a weekend wrote a line each time.
      this.logger[this.queryFailing ? 'debug' : 'warn'](
        { code: 'printer-offline', device: this.opts.device, err: (failure as Error).message },
        'printer status query failed',
      );
      this.queryFailing = true;
      return this.record({ online: false, paper: 'unknown', ready: false, error: 'printer-offline' });
    });
  }

  /** DLE EOT 1, 2 and 4 on the open device, decoded. */
  private async query(): Promise<PrinterStatus> {
    const t = this.opts.statusTimeoutMs;
    const printer = await this.transport.query(STATUS_QUERY.printer, t);
    // A printer that ignores DLE EOT 1 will ignore the others too: don't wait three times.
    const offline = printer === null ? null : await this.transport.query(STATUS_QUERY.offline, t);
    const paper = printer === null ? null : await this.transport.query(STATUS_QUERY.paper, t);
    this.queryFailing = false;
    const d = decodeStatus(printer, offline, paper);
    const ready = d.online && d.paper !== 'out' && d.error === null;
    return this.record({ online: d.online, paper: d.paper, ready, error: d.error });
  }

  print(job: PrintJob): Promise<void> {
    return this.serial(async () => {
      const bytes = encodeTicket(job.image, this.opts.widthDots);
      try {
        await this.ensureOpen();
        await this.transport.write(bytes);
        this.state.printed++;
        this.logger.info({ day: job.day, number: job.number, bytes: bytes.length }, 'ticket printed');
      } catch (err) {
        this.state.failed++;
        await this.transport.close().catch(() => {});
        const e = new PrinterError(
          'printer-write-failed',
          `ticket ${job.number} could not be sent to ${this.opts.device} (${(err as Error).message}); the number stays valid: check the printer and its cable`,
        );
        this.fail(e.code);
        this.logger.error({ code: e.code, day: job.day, number: job.number }, e.message);
        throw e;
      }
    });
  }

  close(): Promise<void> {
    return this.serial(async () => {
      await this.transport.close();
      this.state.connected = false;
    });
  }

  health(): ComponentHealth {
    return { ...this.state, ready: this.last.ready, paper: this.last.paper };
  }

  private async ensureOpen(): Promise<void> {
    if (this.transport.isOpen) return;
    try {
      await this.transport.open();
      this.state.connected = true;
    } catch (err) {
      this.fail('printer-open-failed');
      throw new PrinterError(
        'printer-open-failed',
        `cannot open ${this.opts.device} (${(err as Error).message}): is the printer on and plugged in, and is the daemon in the lp (USB) or dialout (serial) group?`,
      );
    }
  }

  private record(s: PrinterStatus): PrinterStatus {
    this.last = s;
    this.state.connected = s.online;
    if (s.error) this.fail(s.error);
    return s;
  }

  private fail(code: string): void {
    this.state.lastError = code;
    this.state.lastErrorAt = new Date().toISOString();
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => {});
    return run;
  }
}
