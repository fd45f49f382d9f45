// Builds the TicketPrinter the config asks for. Nothing is opened here: open() does that.
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../../device/config/schema.ts';
import { healthy } from '../../device/ports/health.ts';
import type { PrinterStatus, TicketPrinter } from '../../device/ports/outputs.ts';
import { resolveTicketSecret } from '../ticket/ticket-url.ts';
import { EscposPrinter } from './escpos-printer.ts';
import { SimPrinter } from './sim-printer.ts';
import { DeviceTransport } from './transport.ts';

/** No printer attached (online-only tickets): always ready, prints nothing. */
class NoPrinter implements TicketPrinter {
  readonly kind = 'none';
  async open(): Promise<void> {}
  async status(): Promise<PrinterStatus> {
    return { online: true, paper: 'ok', ready: true, error: null };
  }
  async print(): Promise<void> {}
  async close(): Promise<void> {}
  health() {
    return healthy();
  }
}

export function createPrinter(config: Config, dataDir: string, logger: Logger): TicketPrinter {
  const p = config.outputs.printer;
  const log = logger.child({ component: 'printer' });
  switch (p.driver) {
    case 'sim':
      // a BEONHO_TICKET_SECRET too short to use stops the start here too, not every ticket
      resolveTicketSecret(config);
      return new SimPrinter(join(dataDir, 'sim', 'tickets'), log);
    case 'none':
      return new NoPrinter();
    case 'escpos':
      // Fail at start, not at the first press, when tickets could not carry a valid QR link.
      resolveTicketSecret(config);
      return new EscposPrinter(
        new DeviceTransport(p.device, { baudRate: p.baudRate }),
        { device: p.device, widthDots: p.widthDots, statusTimeoutMs: p.statusTimeoutMs, statusQuery: p.statusQuery },
        log,
      );
  }
}
