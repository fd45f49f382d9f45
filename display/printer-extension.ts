// The ticket printer as a feature: opens it, asks for its status now and then, and reports a
// change (paper out, offline, back) on the bus as `healthChanged` for 'printer', with the Korean
// message the board shows. The dispenser prints through the same printer, over `ticketOutput()`:
// `status()` before issuing a kiosk ticket, `print(job)` once the ticket is durable. The
// composition root (device/app.ts) builds one per daemon and hands its ticket output to the
// dispenser.
import type { Logger } from 'pino';
import type { Extension, ExtensionContext } from '../device/extension.ts';
import type { PrinterStatus, TicketPrinter } from '../device/ports/outputs.ts';
import type { QueueService } from '../device/queue/service.ts';
import { prepareRenderer } from './board/render.ts';
import { printerRefusal } from './printer/messages.ts';
import { PrinterTicketOutput } from './printer/ticket-output.ts';

export class PrinterExtension implements Extension {
  readonly name = 'printer';
  private timer: ReturnType<typeof setInterval> | null = null;
  private last: PrinterStatus | null = null;
  private polling: Promise<PrinterStatus> | null = null;
  private readonly log: Logger;

  constructor(
    private readonly ctx: ExtensionContext,
    readonly printer: TicketPrinter,
  ) {
    this.log = ctx.logger.child({ component: 'printer' });
  }

  async start(): Promise<void> {
    // Tickets are rendered with the board's font and canvas: load them before the first press.
    await prepareRenderer();
    try {
      await this.printer.open();
    } catch (err) {
      // Not fatal: presses are refused with a message until the printer answers.
      this.log.error(
        { code: (err as { code?: string }).code ?? 'printer-open-failed', err: (err as Error).message },
        'printer not available',
      );
    }
    await this.pollLogged();
    this.timer = setInterval(() => void this.pollLogged(), this.ctx.config.outputs.printer.statusIntervalSec * 1000);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.polling?.catch(() => {});
    await this.printer.close().catch(() => {});
  }

  /** The dispenser's TicketOutput over this printer; statuses it sees are reported too. */
  ticketOutput(queue: Pick<QueueService, 'state'> | null = this.ctx.queue): PrinterTicketOutput {
    return new PrinterTicketOutput({
      config: this.ctx.config,
      printer: this.printer,
      queue,
      onStatus: (s) => this.report(s),
      onPrintFailed: () => this.printFailed(),
    });
  }

  /** A ticket issued but not printed: the citizen holds nothing. The device status shows it now
   * (it changes no ready/paper/error of its own, so report() would keep it to itself), and the
   * printer is asked at once, so the board tells the citizen to ask staff at this ticket rather
   * than at the next poll. */
  private printFailed(): void {
    this.emitHealth(this.last ?? { online: false, paper: 'unknown', ready: false, error: null });
    void this.pollLogged();
  }

  /** A poll nobody awaits: a printer whose status query throws (one handed in through the hardware
   * seam; ours answer a status) is logged, not an unhandled rejection that ends the daemon. */
  private pollLogged(): Promise<void> {
    return this.poll().then(
      () => undefined,
      (err: unknown) => {
        this.log.error({ code: 'printer-offline', err: (err as Error).message }, 'printer status failed');
      },
    );
  }

  /** The last status seen, without asking the printer. */
  lastStatus(): PrinterStatus | null {
    return this.last;
  }

  /** Ask the printer now and report a change. */
  poll(): Promise<PrinterStatus> {
    this.polling ??= this.printer
      .status()
      .then((s) => {
        this.report(s);
        return s;
      })
      .finally(() => {
        this.polling = null;
      });
    return this.polling;
  }

  /** Also call this with the status the dispenser flow got, so the board learns at once. */
  report(s: PrinterStatus): void {
    const prev = this.last;
    this.last = s;
    if (prev && prev.ready === s.ready && prev.paper === s.paper && prev.error === s.error) return;
    const refusal = printerRefusal(s);
    if (s.ready) this.log.info({ paper: s.paper }, 'printer ready');
    else this.log.warn({ code: refusal?.code, paper: s.paper, online: s.online }, 'printer cannot print');
    this.emitHealth(s);
  }

  private emitHealth(s: PrinterStatus): void {
    const refusal = printerRefusal(s);
    this.ctx.bus.emit('healthChanged', {
      component: 'printer',
      health: {
        ...this.printer.health(),
        ready: s.ready,
        paper: s.paper,
        online: s.online,
        message: refusal?.message ?? null,
      },
    });
  }
}

export function createPrinterExtension(ctx: ExtensionContext, printer: TicketPrinter): PrinterExtension {
  return new PrinterExtension(ctx, printer);
}
