// The dispenser: a button press becomes a kiosk ticket, printed only after it is durable. A press
// while the printer cannot print issues no number: a citizen without a slip would lose their turn.
import type { Logger } from 'pino';
import type { Bus } from './bus.ts';
import type { Config } from './config/schema.ts';
import type { Extension } from './extension.ts';
import { refusalForCitizens } from './messages-ko.ts';
import type { ButtonPress, ButtonSource } from './ports/buttons.ts';
import type { TicketOutput } from './ports/outputs.ts';
import type { QueueService } from './queue/service.ts';

export interface DispenserOptions {
  config: Config;
  queue: QueueService;
  bus: Bus;
  buttons: ButtonSource;
  /** how a ticket gets printed; null: nobody prints (headless, online tickets only) */
  output: TicketOutput | null;
  logger: Logger;
}

/** Longer than a ticket takes on a healthy printer (about a second on USB), as long as the drivers'
 * default rate limit between two tickets of one button. */
const SLOW_PRINT_MS = 1500;

export class Dispenser implements Extension {
  readonly name = 'dispenser';
  /** presses that arrive while one is being handled are served in order, never in parallel */
  private chain: Promise<void> = Promise.resolve();
  /** the printer outage that refuses presses now, and how many it refused: warned once, counted after */
  private refusedSince: { code: string; presses: number } | null = null;
  /** buttons with a press queued or being served */
  private readonly serving = new Set<string>();
  /** when the ticket being sent to the printer started (performance.now()), null when none is */
  private printingSince: number | null = null;
  private readonly config: Config;
  private readonly queue: QueueService;
  private readonly bus: Bus;
  private readonly buttons: ButtonSource;
  private readonly output: TicketOutput | null;
  private readonly logger: Logger;

  constructor(opts: DispenserOptions) {
    this.config = opts.config;
    this.queue = opts.queue;
    this.bus = opts.bus;
    this.buttons = opts.buttons;
    this.output = opts.output;
    this.logger = opts.logger;
  }

  async start(): Promise<void> {
    // A printer that can print again ends the outage: the next one's first turned-away press is a
    // warning again, though no press went through between them.
    this.bus.on('healthChanged', this, ({ component, health }) => {
      if (component === 'printer' && health.ready === true) this.refusedSince = null;
    });
    await this.buttons.start((press) => {
      // While a ticket has been printing for longer than a print takes, a press of a button that
      // already has one queued or printing is not another ticket: a printer taking 30 s over a
      // slip (a stall, a slow serial line) left the citizen pressing again, and each press queued
      // became a ticket once it printed. Another button's first press is someone else: it waits
      // its turn. Presses while prints go at their pace are kept (the drivers' rate limit already
      // spaces a real button's; the simulator's may come faster).
      if (this.printingSlowly() && this.serving.has(press.button)) {
        this.logger.info(
          { button: press.button },
          'press while a slow print is under way and this button is served; not another ticket',
        );
        return;
      }
      this.serving.add(press.button);
      this.chain = this.chain
        .then(() => this.handle(press))
        .catch((err) => {
          this.logger.error({ err, button: press.button }, 'dispenser press failed');
        })
        .finally(() => this.serving.delete(press.button));
    });
  }

  private printingSlowly(): boolean {
    return this.printingSince !== null && performance.now() - this.printingSince >= SLOW_PRINT_MS;
  }

  async stop(): Promise<void> {
    this.bus.removeListeners(this);
    await this.buttons.stop();
    await this.chain;
  }

  /** Resolves when the press has been fully handled (tests and the simulator wait on it). */
  idle(): Promise<void> {
    return this.chain;
  }

  private async handle(press: ButtonPress): Promise<void> {
    const button = this.config.dispenser?.buttons.find((b) => b.id === press.button);
    if (!button) {
      this.logger.warn({ button: press.button }, 'press of a button that is not in dispenser.buttons; ignored');
      return;
    }
    const blocked = this.output ? await this.output.unavailable() : null;
    // The printer's own line says the outage; the first press it turns away is worth a warning (a
    // citizen went without a ticket), every other press of the same outage only a count.
    if (!blocked) this.refusedSince = null;
    if (blocked) {
      const first = this.refusedSince?.code !== blocked.code;
      if (first) this.refusedSince = { code: blocked.code, presses: 0 };
      const streak = this.refusedSince!;
      streak.presses++;
      this.logger[first ? 'warn' : 'info'](
        { button: button.id, code: blocked.code, pressesRefused: streak.presses },
        'press refused: the ticket cannot be printed',
      );
      this.bus.emit('dispenserRefused', { button: button.id, ...blocked });
      return;
    }
    const result = await this.queue.execute(
      { type: 'ticket.issue', service: button.service, channel: 'kiosk', priority: button.priority },
      { source: `button:${button.id}` },
    );
    if (!result.ok) {
      const service = this.config.services.find((sv) => sv.id === button.service);
      const message = refusalForCitizens(result.error.code, service?.name ?? '', service?.cutoff);
      this.bus.emit('dispenserRefused', { button: button.id, code: result.error.code, message });
      return;
    }
    const issued = result.events.find((e) => e.type === 'ticket.issued');
    if (issued?.type !== 'ticket.issued') return;
    this.logger.info(
      { ticket: issued.ticket.number, service: issued.ticket.service, ahead: issued.ticket.ahead },
      'ticket issued',
    );
    if (!this.output) return;
    this.printingSince = performance.now();
    try {
      await this.output.print(issued.ticket, issued.at);
    } catch (err) {
      // The number is durable and valid; the clerk can call it by number. Never re-issue it.
      this.logger.error(
        { err, ticket: issued.ticket.number },
        'ticket issued but printing failed (jam?); the number stays valid',
      );
    } finally {
      this.printingSince = null;
    }
  }
}
