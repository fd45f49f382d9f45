// The ticket-link keys central verifies the printed QR links with (display/ticket/ticket-url.ts):
// one secret per office, the same the office's device signs with (BEONHO_TICKET_SECRET). They are
// provisioned with the office, out of band, never over MQTT. A city can keep one master key and
// derive each office's secret from it (deriveTicketSecret): a stolen device then signs links for
// its own office only. The simulator's offices sign with the demo secret unless told otherwise.
import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { DEMO_TICKET_SECRET } from '../../display/ticket/ticket-url.ts';

/** An office's ticket secret from the city's master key: HMAC-SHA256(master, "beonho-ticket:" + office), base64url. */
export function deriveTicketSecret(master: string, office: string): string {
  return createHmac('sha256', master).update(`beonho-ticket:${office}`).digest('base64url');
}

const keysFile = z.strictObject({
  /** derive each office's secret from this master key */
  master: z.string().min(16).optional(),
  /** or name them one by one (wins over the master key) */
  offices: z.record(z.string().regex(/^[a-z0-9-]{1,40}$/), z.string().min(16)).default({}),
});

/** The office's secret, or null when central has none for it (its links are refused). */
export type TicketKeys = (office: string) => string | null;

/** The simulator's default: every office signs with the demo secret (docs/display.md). */
export const demoKeys: TicketKeys = () => DEMO_TICKET_SECRET;

export async function readTicketKeys(file: string): Promise<TicketKeys> {
  const parsed = keysFile.safeParse(parseYaml(await readFile(file, 'utf8')));
  if (!parsed.success)
    throw Object.assign(
      new Error(`${file}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`),
      { code: 'central-keys-invalid' },
    );
  const { master, offices } = parsed.data;
  return (office) => offices[office] ?? (master ? deriveTicketSecret(master, office) : null);
}
