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

export class TicketSecretError extends Error {
  readonly code = 'printer-ticket-secret-missing';
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
  if (fromEnv && fromEnv.length >= 16) return fromEnv;
  if (config.outputs.printer.ticketSecret) return config.outputs.printer.ticketSecret;
  if (config.outputs.printer.driver !== 'escpos') return DEMO_TICKET_SECRET;
  throw new TicketSecretError(
    'the ticket QR secret is missing: set BEONHO_TICKET_SECRET (16+ characters) or outputs.printer.ticketSecret, the same secret central uses to check ticket links',
  );
}
