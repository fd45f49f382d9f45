// The simulator's printer: each ticket becomes <dataDir>/sim/tickets/<day>-<number>.png. Its paper
// can be taken away (setPaper('out')) to try the "용지 없음" path without hardware. Only the newest
// `keep` tickets stay: it is the config's default printer, so a unit set up without one printed a
// file per ticket for as long as it ran (1,000 tickets a day filled a card within months).
import { readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ComponentHealth } from '../../device/ports/health.ts';
import type { PaperState, PrintJob, PrinterStatus, TicketPrinter } from '../../device/ports/outputs.ts';
import { encodePng, writeFileAtomic } from '../sinks/png.ts';

export class SimPrinter implements TicketPrinter {
  readonly kind = 'sim';
  private paper: PaperState = 'ok';
  private online = true;
  /** when the paper ran out (an ISO instant, as the drivers stamp their errors), null with paper */
  private paperOutAt: string | null = null;
  private printed = 0;
  /** the ticket files here, oldest first (null until the first print reads the directory) */
  private files: string[] | null = null;
  private pruning: Promise<void> = Promise.resolve();

  constructor(
    readonly dir: string,
    private readonly logger: Logger,
    /** how many of the newest ticket files to keep */
    private readonly keep = 200,
  ) {}

  async open(): Promise<void> {}

  /** Simulate the paper running out or being refilled. */
  setPaper(state: PaperState): void {
    if (state === 'out' && this.paper !== 'out') this.paperOutAt = new Date().toISOString();
    if (state !== 'out') this.paperOutAt = null;
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
    const name = `${safe(job.day)}-${safe(job.number)}.png`;
    const file = join(this.dir, name);
    const files = this.files ?? (await this.scan());
    await writeFileAtomic(file, await encodePng(job.image));
    this.printed++;
    this.logger.info({ day: job.day, number: job.number, file }, 'sim ticket printed');
    const at = files.indexOf(name);
    if (at >= 0) files.splice(at, 1);
    files.push(name);
    if (files.length > this.keep) {
      const old = files.splice(0, files.length - this.keep);
      // not in the press's way: a directory an older version filled takes a while to empty
      this.pruning = this.pruning.then(async () => {
        for (const n of old) await unlink(join(this.dir, n)).catch(() => undefined);
      });
    }
  }

  /** The ticket files already here, oldest first (by the time they were written). */
  private async scan(): Promise<string[]> {
    const names = (await readdir(this.dir).catch(() => [] as string[])).filter((n) => TICKET_FILE.test(n));
    const timed = await Promise.all(
      names.map(async (n) => ({
        n,
        t: await stat(join(this.dir, n)).then(
          (s) => s.mtimeMs,
          () => 0,
        ),
      })),
    );
    timed.sort((a, b) => a.t - b.t || a.n.localeCompare(b.n));
    this.files = timed.map((x) => x.n);
    return this.files;
  }

  async close(): Promise<void> {
    await this.pruning;
  }

  health(): ComponentHealth {
    return {
      connected: this.online,
      lastError: this.paper === 'out' ? 'printer-paper-out' : null,
      lastErrorAt: this.paper === 'out' ? this.paperOutAt : null,
      printed: this.printed,
      paper: this.paper,
    };
  }
}

const TICKET_FILE = /^[A-Za-z0-9_-]+\.png$/;

function safe(s: string): string {
  return s.replace(/[^A-Za-z0-9-]/g, '_');
}
