import { describe, expect, it } from 'vitest';
import { configSchema } from '../device/config/schema.ts';
import {
  DEMO_TICKET_SECRET,
  TOKEN_LENGTH,
  resolveTicketSecret,
  ticketToken,
  ticketUrl,
  verifyTicketToken,
} from '../display/ticket/ticket-url.ts';
import { issuedText } from '../display/ticket/render-ticket.ts';

const SECRET = 'test-secret-of-twenty-chars';
const TEMPLATE = 'https://q.example.go.kr/t/{office}/{day}/{number}?k={token}';

describe('signed ticket URL', () => {
  it('fills the template with a truncated base64url HMAC', () => {
    const url = ticketUrl(TEMPLATE, SECRET, 'yeoksam1', '2026-11-26', '1047');
    const m = url.match(/^https:\/\/q\.example\.go\.kr\/t\/yeoksam1\/2026-11-26\/1047\?k=([A-Za-z0-9_-]+)$/);
    expect(m).not.toBeNull();
    expect(m![1]).toHaveLength(TOKEN_LENGTH);
    expect(verifyTicketToken(SECRET, 'yeoksam1', '2026-11-26', '1047', m![1]!)).toBe(true);
  });

  it('a tampered number, day, office or secret invalidates the token', () => {
    const t = ticketToken(SECRET, 'yeoksam1', '2026-11-26', '1047');
    expect(verifyTicketToken(SECRET, 'yeoksam1', '2026-11-26', '1048', t)).toBe(false);
    expect(verifyTicketToken(SECRET, 'yeoksam1', '2026-11-27', '1047', t)).toBe(false);
    expect(verifyTicketToken(SECRET, 'yeoksam2', '2026-11-26', '1047', t)).toBe(false);
    expect(verifyTicketToken(`${SECRET}x`, 'yeoksam1', '2026-11-26', '1047', t)).toBe(false);
    expect(verifyTicketToken(SECRET, 'yeoksam1', '2026-11-26', '1047', t.slice(1))).toBe(false);
    // neighbouring numbers get unrelated tokens: no enumeration from one's own ticket
    expect(ticketToken(SECRET, 'yeoksam1', '2026-11-26', '1048')).not.toBe(t);
  });

  it('field boundaries cannot be shifted', () => {
    expect(ticketToken(SECRET, 'a', 'b\nc', '1')).not.toBe(ticketToken(SECRET, 'a\nb', 'c', '1'));
  });

  it('URL-encodes the values', () => {
    expect(ticketUrl('x/{number}', SECRET, 'o', 'd', 'A 1')).toBe('x/A%201');
  });
});

describe('ticket secret', () => {
  const base = {
    office: { id: 'o', name: '사무소' },
    services: [{ id: 's', name: '민원', numbers: { from: 1, to: 999 } }],
    counters: [{ id: '1', name: '1번 창구', services: ['s'] }],
  };

  it('env wins, then config, then the demo secret for the sim only', () => {
    const sim = configSchema.parse(base);
    expect(resolveTicketSecret(sim, {})).toBe(DEMO_TICKET_SECRET);
    expect(resolveTicketSecret(sim, { BEONHO_TICKET_SECRET: 'from-env-0123456789' })).toBe('from-env-0123456789');
    const cfg = configSchema.parse({
      ...base,
      outputs: { printer: { driver: 'escpos', ticketSecret: 'from-config-0123456' } },
    });
    expect(resolveTicketSecret(cfg, {})).toBe('from-config-0123456');
    const none = configSchema.parse({ ...base, outputs: { printer: { driver: 'escpos' } } });
    expect(() => resolveTicketSecret(none, {})).toThrow(
      expect.objectContaining({ code: 'printer-ticket-secret-missing' }),
    );
  });
});

describe('a ticket secret that would sign guessable links is refused', () => {
  const base = {
    office: { id: 'o', name: '사무소' },
    services: [{ id: 's', name: '민원', numbers: { from: 1, to: 999 } }],
    counters: [{ id: '1', name: '1번 창구', services: ['s'] }],
  };
  const weak = expect.objectContaining({ code: 'printer-ticket-secret-weak' });

  it('a short BEONHO_TICKET_SECRET is refused, not passed over for the config or the demo secret', () => {
    // It fell through silently: a sim printer then signed with the published demo secret, an escpos
    // one with the config's secret, while the admin believed the environment's was in force.
    const sim = configSchema.parse(base);
    expect(() => resolveTicketSecret(sim, { BEONHO_TICKET_SECRET: 'short' })).toThrow(weak);
    const cfg = configSchema.parse({
      ...base,
      outputs: { printer: { driver: 'escpos', ticketSecret: 'from-config-0123456' } },
    });
    expect(() => resolveTicketSecret(cfg, { BEONHO_TICKET_SECRET: '123456789012345' })).toThrow(weak);
    // an empty variable (systemd's `BEONHO_TICKET_SECRET=`) is no variable, as the installer reads it
    expect(resolveTicketSecret(cfg, { BEONHO_TICKET_SECRET: '' })).toBe('from-config-0123456');
  });

  it('the escpos printer refuses the published demo secret from either place', () => {
    const fromEnv = configSchema.parse({ ...base, outputs: { printer: { driver: 'escpos' } } });
    expect(() => resolveTicketSecret(fromEnv, { BEONHO_TICKET_SECRET: DEMO_TICKET_SECRET })).toThrow(weak);
    const fromConfig = configSchema.parse({
      ...base,
      outputs: { printer: { driver: 'escpos', ticketSecret: DEMO_TICKET_SECRET } },
    });
    expect(() => resolveTicketSecret(fromConfig, {})).toThrow(weak);
  });
});

describe('issued time', () => {
  it('shows the office wall time from the ISO offset, not the machine zone', () => {
    expect(issuedText('2026-11-26T09:05:00.000+09:00')).toBe('2026. 11. 26. 09:05 발행');
  });
});
