// The dispenser: a button press becomes a kiosk ticket, printed only after it is durable. A press
// while the printer cannot print issues no number: a citizen without a slip would lose their turn.
import type { Logger } from 'pino';
import type { Bus } from './bus.ts';
import type { Config } from './config/schema.ts';
import type { Extension } from './extension.ts';
import type { ButtonPress, ButtonSource } from './ports/buttons.ts';
import type { QueueService } from './queue/service.ts';
import type { TicketInfo } from './queue/types.ts';

/** What the dispenser needs from the printing side (display/ implements it over a TicketPrinter). */
export interface TicketOutput {
  /** null when a ticket can be printed now, else why not (code + Korean message for the board) */
  unavailable(): Promise<{ code: string; message: string } | null>;
  print(ticket: TicketInfo & { ahead: number; estimatedWaitMin: number }, issuedAt: string): Promise<void>;
}

export class Dispenser implements Extension {
  readonly name = 'dispenser';
  /** presses that arrive while one is being handled are served in order, never in parallel */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly config: Config,
    private readonly queue: QueueService,
    private readonly bus: Bus,
    private readonly buttons: ButtonSource,
    private readonly output: TicketOutput | null,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    await this.buttons.start((press) => {
      this.chain = this.chain
        .then(() => this.handle(press))
        .catch((err) => {
          this.logger.error({ err, button: press.button }, 'dispenser press failed');
        });
    });
  }

  async stop(): Promise<void> {
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
    if (blocked) {
      this.logger.warn({ button: button.id, code: blocked.code }, 'press refused: the ticket cannot be printed');
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
    try {
      await this.output.print(issued.ticket, issued.at);
    } catch (err) {
      // The number is durable and valid; the clerk can call it by number. Never re-issue it.
      this.logger.error(
        { err, ticket: issued.ticket.number },
        'ticket issued but printing failed (jam?); the number stays valid',
      );
    }
  }
}

/** What the board tells the citizen who pressed (the queue's own messages are for logs and central,
 * in English); the code stays the queue's. */
export function refusalForCitizens(code: string, serviceName: string, cutoff?: string): string {
  const who = serviceName ? `${serviceName} ` : '';
  switch (code) {
    case 'day-closed':
      return '오늘 업무가 끝났습니다 — 번호표를 발급하지 않습니다';
    case 'cutoff-passed':
      return `${who}발권이 마감되었습니다${cutoff ? ` (${cutoff} 마감)` : ''}`;
    case 'cap-reached':
    case 'range-exhausted':
      return `${who}오늘 발급할 수 있는 번호표가 모두 나갔습니다`;
    case 'not-accepting':
      return `${who}발권이 잠시 중지되었습니다 — 직원에게 문의하세요`;
    default:
      return '번호표를 발급할 수 없습니다 — 직원에게 문의하세요';
  }
}
