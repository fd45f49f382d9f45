// The QR link printed on a ticket. It carries an HMAC of (office, day, number) so that the status
// page can check a link was printed here: knowing your own ticket's URL does not let you guess the
// next one's. Central verifies with the same secret (verifyTicketToken).
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Config } from '../../device/config/schema.ts';

/** 16 base64url characters = 96 bits: short enough for a small QR code, far beyond guessing. */
export const TOKEN_LENGTH = 16;

/** Used only by the sim printer when no secret is configured; documented in docs/display.md. A real
 * printer refuses to start without a secret of its own. */
export const DEMO_TICKET_SECRET = 'beonho-demo-secret-not-for-production';

/** The fewest characters a ticket secret may have (the config's schema says the same). */
export const MIN_SECRET_LENGTH = 16;

export class TicketSecretError extends Error {
  constructor(
    message: string,
    readonly code: 'printer-ticket-secret-missing' | 'printer-ticket-secret-weak' = 'printer-ticket-secret-missing',
  ) {
    super(message);
  }
}

export function ticketToken(secret: string, office: string, day: string, number: string): string {
  // JSON keeps the field boundaries: ("a|b", "c") and ("a", "b|c") sign differently. Central must
  // build the same message: JSON.stringify([office, day, number]).
  return createHmac('sha256', secret)
    .update(JSON.stringify([office, day, number]))
    .digest('base64url')
    .slice(0, TOKEN_LENGTH);
}

export function verifyTicketToken(secret: string, office: string, day: string, number: string, token: string): boolean {
  const want = Buffer.from(ticketToken(secret, office, day, number));
  const got = Buffer.from(token);
  return got.length === want.length && timingSafeEqual(got, want);
}

/** Fill the URL template: {office} {day} {number} {token}, each URL-encoded. */
export function ticketUrl(template: string, secret: string, office: string, day: string, number: string): string {
  const values: Record<string, string> = { office, day, number, token: ticketToken(secret, office, day, number) };
  return template.replace(/\{(office|day|number|token)\}/g, (_, key: string) => encodeURIComponent(values[key]!));
}

/** The secret in force: env BEONHO_TICKET_SECRET, then outputs.printer.ticketSecret, then (sim
 * printer only) the demo secret. */
export function resolveTicketSecret(config: Config, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.BEONHO_TICKET_SECRET;
  const real = config.outputs.printer.driver === 'escpos';
  // A secret that is set but too short is refused, never passed over: the next in line would sign
  // (the config's, or the published demo secret) while the admin believes this one does. Empty is
  // unset (systemd's `BEONHO_TICKET_SECRET=`), as the installer reads the environment file.
  if (fromEnv && fromEnv.length < MIN_SECRET_LENGTH)
    throw new TicketSecretError(
      `BEONHO_TICKET_SECRET is ${fromEnv.length} characters: the ticket QR secret needs ${MIN_SECRET_LENGTH} or more (e.g. openssl rand -hex 32), the same central checks the links with`,
      'printer-ticket-secret-weak',
    );
  const chosen = fromEnv || config.outputs.printer.ticketSecret;
  // the demo secret is in the docs and the source: anyone could sign a real printer's links with it
  if (real && chosen === DEMO_TICKET_SECRET)
    throw new TicketSecretError(
      `the ticket QR secret is the published demo secret (${fromEnv ? 'BEONHO_TICKET_SECRET' : 'outputs.printer.ticketSecret'}): set a secret of the office's own (e.g. openssl rand -hex 32), the same central checks the links with`,
      'printer-ticket-secret-weak',
    );
  if (chosen) return chosen;
  if (!real) return DEMO_TICKET_SECRET;
  throw new TicketSecretError(
    'the ticket QR secret is missing: set BEONHO_TICKET_SECRET (16+ characters) or outputs.printer.ticketSecret, the same secret central uses to check ticket links',
  );
}
