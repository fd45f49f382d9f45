// From an issued ticket to a PrintJob, for the dispenser flow: renders the bitmap with the signed
// QR link. The caller prints it only once the ticket is durable.
import type { Config } from '../../device/config/schema.ts';
import type { PrintJob } from '../../device/ports/outputs.ts';
import { priorityHonoured } from '../../device/queue/priority.ts';
import { localTime } from '../../device/util/time.ts';
import { renderTicket } from './render-ticket.ts';
import { resolveTicketSecret, ticketUrl } from './ticket-url.ts';

export interface IssuedTicket {
  number: string;
  service: string;
  priority?: boolean;
  ahead: number;
  estimatedWaitMin: number;
}

/** Needs prepareRenderer() (display/board/render.ts) to have been awaited once. */
/** `issuedAt`: the ISO time of the ticket.issued event (office-local, with offset). */
export function ticketJob(config: Config, ticket: IssuedTicket, day: string, issuedAt: string): PrintJob {
  const office = config.office;
  const service = config.services.find((s) => s.id === ticket.service);
  const image = renderTicket({
    officeName: office.name,
    serviceName: service?.name ?? ticket.service,
    number: ticket.number,
    ahead: ticket.ahead,
    estimatedWaitMin: ticket.estimatedWaitMin,
    issuedAt: /[+-]\d\d:\d\d$/.test(issuedAt) ? issuedAt : localTime(Date.parse(issuedAt), office.timeZone).iso,
    qrUrl: ticketUrl(config.outputs.printer.ticketUrl, resolveTicketSecret(config), office.id, day, ticket.number),
    // The queue's priority, not the button's: a ticket must not promise what the queue won't do.
    priority: (ticket.priority ?? false) && service !== undefined && priorityHonoured(config.policy, service),
    widthDots: config.outputs.printer.widthDots,
  });
  return { image, day, number: ticket.number };
}
