// The 알림톡 ("your turn is near" messenger notes) central sends. A citizen opts in on the ticket's
// page (/q/…) with a phone number: the number stays here, in central's memory, keyed by office, day
// and ticket number; it never goes to the device, into a topic or into a log. Central matches the
// office's public `ticket.near` and `ticket.called` events to it. A ticket bought online carries
// central's opaque `ref` instead, which central maps to its own record (here: shown as is).
// Simulation: nothing is really sent; the list is what would be.
import type { QueueEvent } from '../../device/queue/types.ts';

export interface Talk {
  office: string;
  number: string;
  kind: 'near' | 'called';
  at: string;
  ahead?: number;
  counter?: string;
  channel: 'kiosk' | 'online';
  /** central's handle of an online ticket */
  ref: string | null;
  /** the opted-in phone, masked (010-****-5678) */
  to: string | null;
}

export class AlertError extends Error {
  constructor(
    readonly code: 'alert-bad-phone',
    message: string,
  ) {
    super(message);
  }
}

const MOBILE = /^01[016789]\d{7,8}$/;

/** A Korean mobile number as digits, or an AlertError. */
export function normalizePhone(input: unknown): string {
  const digits = typeof input === 'string' ? input.replace(/[\s-]/g, '') : '';
  if (!MOBILE.test(digits)) throw new AlertError('alert-bad-phone', 'expected a mobile number such as 010-1234-5678');
  return digits;
}

export function maskPhone(digits: string): string {
  return `${digits.slice(0, 3)}-****-${digits.slice(-4)}`;
}

const MAX_TALKS = 200;

export class AlertBook {
  private readonly phones = new Map<string, string>();
  /** newest first */
  readonly talks: Talk[] = [];

  subscribe(office: string, day: string, number: string, phone: unknown): string {
    const digits = normalizePhone(phone);
    this.phones.set(key(office, day, number), digits);
    return maskPhone(digits);
  }

  cancel(office: string, day: string, number: string): void {
    this.phones.delete(key(office, day, number));
  }

  /** The masked phone a ticket's alerts go to, or null. */
  subscribed(office: string, day: string, number: string): string | null {
    const p = this.phones.get(key(office, day, number));
    return p ? maskPhone(p) : null;
  }

  /** Every opt-in, for the test that no phone leaves central (never shown elsewhere). */
  count(): number {
    return this.phones.size;
  }

  /** An office's event, on the day the office's ticket book is on: the note it causes, if any. */
  onEvent(office: string, day: string | null, ev: QueueEvent): Talk | null {
    if (ev.type === 'day.opened' || ev.type === 'day.closed') {
      // A day's numbers are gone with the day: so are the phones kept for them, and the notes sent
      // to them (a real central's send log needs its own retention rule; this one keeps none).
      for (const k of [...this.phones.keys()]) {
        const [o, d] = k.split('/');
        if (o === office && (ev.type === 'day.closed' ? d === ev.day : d !== ev.day)) this.phones.delete(k);
      }
      for (let i = this.talks.length - 1; i >= 0; i--) if (this.talks[i]!.office === office) this.talks.splice(i, 1);
      return null;
    }
    if ((ev.type === 'ticket.completed' || ev.type === 'ticket.cancelled') && day) {
      // Served or cancelled: nothing more to tell, and the ticket's link (a slip left on a bench)
      // must not keep showing whose phone it was.
      this.phones.delete(key(office, day, ev.ticket.number));
      return null;
    }
    if (ev.type !== 'ticket.near' && ev.type !== 'ticket.called') return null;
    const phone = day ? this.phones.get(key(office, day, ev.ticket.number)) : undefined;
    // Called: only for who asked (the board and the voice call everyone else).
    if (ev.type === 'ticket.called' && !phone) return null;
    const talk: Talk = {
      office,
      number: ev.ticket.number,
      kind: ev.type === 'ticket.near' ? 'near' : 'called',
      at: ev.at,
      channel: ev.ticket.channel,
      ref: ev.ticket.ref ?? null,
      to: phone ? maskPhone(phone) : null,
      ...(ev.type === 'ticket.near' ? { ahead: ev.ahead } : { counter: ev.counter }),
    };
    this.talks.unshift(talk);
    if (this.talks.length > MAX_TALKS) this.talks.length = MAX_TALKS;
    return talk;
  }
}

function key(office: string, day: string, number: string): string {
  return `${office}/${day}/${number}`;
}
