// The simulator's printer: each ticket becomes <dataDir>/sim/tickets/<day>-<number>.png. Its paper
// can be taken away (setPaper('out')) to try the "용지 없음" path without hardware.
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ComponentHealth } from '../../device/ports/health.ts';
import type { PaperState, PrintJob, PrinterStatus, TicketPrinter } from '../../device/ports/outputs.ts';
import { encodePng, writeFileAtomic } from '../sinks/png.ts';

export class SimPrinter implements TicketPrinter {
  readonly kind = 'sim';
  private paper: PaperState = 'ok';
  private online = true;
  private printed = 0;

  constructor(
    readonly dir: string,
    private readonly logger: Logger,
  ) {}

  async open(): Promise<void> {}

  /** Simulate the paper running out or being refilled. */
  setPaper(state: PaperState): void {
    this.paper = state;
  }

  setOnline(online: boolean): void {
    this.online = online;
  }

  async status(): Promise<PrinterStatus> {
    const ready = this.online && this.paper !== 'out';
    const error = !this.online ? 'printer-offline' : this.paper === 'out' ? 'printer-paper-out' : null;
    return { online: this.online, paper: this.paper, ready, error };
  }

  async print(job: PrintJob): Promise<void> {
    const file = join(this.dir, `${safe(job.day)}-${safe(job.number)}.png`);
    await writeFileAtomic(file, await encodePng(job.image));
    this.printed++;
    this.logger.info({ day: job.day, number: job.number, file }, 'sim ticket printed');
  }

  async close(): Promise<void> {}

  health(): ComponentHealth {
    return {
      connected: this.online,
      lastError: this.paper === 'out' ? 'printer-paper-out' : null,
      lastErrorAt: null,
      printed: this.printed,
      paper: this.paper,
    };
  }
}

function safe(s: string): string {
  return s.replace(/[^A-Za-z0-9-]/g, '_');
}
