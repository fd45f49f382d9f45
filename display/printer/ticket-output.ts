// The dispenser's printing side (the TicketOutput port, device/ports/outputs.ts) over a
// TicketPrinter: asks the printer before a number is issued, renders and prints the ticket after it
// is durable.
import type { Config } from '../../device/config/schema.ts';
import type { PrinterStatus, TicketOutput, TicketPrinter } from '../../device/ports/outputs.ts';
import type { QueueService } from '../../device/queue/service.ts';
import { prepareRenderer } from '../board/render.ts';
import { collectTicketGarbage } from '../pixel-garbage.ts';
import { ticketJob } from '../ticket/ticket-job.ts';
import { printerRefusal } from './messages.ts';

export interface PrinterTicketOutputOptions {
  config: Config;
  printer: TicketPrinter;
  /** the queue's day goes on the ticket; without a queue, the calendar day of issue */
  queue?: Pick<QueueService, 'state'> | null;
  /** told every status seen, so the board learns of paper-out at the press that found it */
  onStatus?: ((s: PrinterStatus) => void) | null;
  /** told when an issued ticket could not be printed (the error is still thrown to the caller) */
  onPrintFailed?: ((err: unknown) => void) | null;
}

export class PrinterTicketOutput implements TicketOutput {
  private readonly config: Config;
  private readonly printer: TicketPrinter;
  private readonly queue: Pick<QueueService, 'state'> | null;
  private readonly onStatus: ((s: PrinterStatus) => void) | null;
  private readonly onPrintFailed: ((err: unknown) => void) | null;

  constructor(opts: PrinterTicketOutputOptions) {
    this.config = opts.config;
    this.printer = opts.printer;
    this.queue = opts.queue ?? null;
    this.onStatus = opts.onStatus ?? null;
    this.onPrintFailed = opts.onPrintFailed ?? null;
  }

  async unavailable(): Promise<{ code: string; message: string } | null> {
    const s = await this.printer.status();
    this.onStatus?.(s);
    return printerRefusal(s);
  }

  async print(ticket: Parameters<TicketOutput['print']>[0], issuedAt: string): Promise<void> {
    // The queue's day, not the calendar's: a day opened before midnight keeps its date.
    const day = this.queue?.state().day ?? issuedAt.slice(0, 10);
    await prepareRenderer(); // a no-op once the printer feature has started
    try {
      await this.printer.print(ticketJob(this.config, ticket, day, issuedAt));
    } catch (err) {
      this.onPrintFailed?.(err);
      throw err;
    } finally {
      // the ticket's pixels (rendered, read back, encoded) are garbage now
      collectTicketGarbage();
    }
  }
}
