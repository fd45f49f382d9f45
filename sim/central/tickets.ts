// Central's own copy of an office's waiting lines, folded from the public events alone (the
// contract carries no list of waiting tickets, only counts): the citizen's page (/q/…) asks it for
// a ticket's live place. It follows the device's reducer: an issued ticket goes in at its `ahead`,
// a transfer to a service goes to the front behind earlier transfers, a transfer to a counter
// waits for that counter, a call takes it out. A copy started in the middle of a day (central
// came up late) only knows the tickets issued since: `complete` says whether it saw the day open.
import type { QueueEvent } from '../../device/queue/types.ts';

export type TicketPlace =
  | { status: 'waiting'; service: string; ahead: number; counter?: string }
  | { status: 'called'; service: string; counter: string }
  | { status: 'skipped'; service: string; counter: string }
  | { status: 'done' | 'cancelled'; service: string }
  | { status: 'unknown' };

interface Ticket {
  service: string;
  status: 'waiting' | 'called' | 'skipped' | 'done' | 'cancelled';
  counter?: string;
  /** sent to the front of its service by a transfer */
  front: boolean;
  /** waiting for one counter (transfer to a counter) */
  pin?: string;
  /** first heard of after its issue (this copy started mid-day) */
  unseen?: boolean;
}

/** a place held for a ticket issued before this copy started (not a ticket number: numbers have no `?`) */
const UNSEEN = '?';

export class TicketBook {
  day: string | null = null;
  open = false;
  /** true once this copy saw the day open (every ticket of the day is then known) */
  complete = false;
  private tickets = new Map<string, Ticket>();
  private waiting = new Map<string, string[]>();
  private pinned = new Map<string, string[]>();
  private unseen = 0;

  apply(ev: QueueEvent): void {
    switch (ev.type) {
      case 'day.opened':
        if (!ev.resumed || ev.day !== this.day) {
          this.tickets.clear();
          this.waiting.clear();
          this.pinned.clear();
          this.complete = true;
        }
        this.day = ev.day;
        this.open = true;
        return;
      case 'day.closed':
        this.day = ev.day;
        this.open = false;
        return;
      case 'ticket.issued': {
        const t = ev.ticket;
        this.tickets.set(t.number, { service: t.service, status: 'waiting', front: false });
        const list = this.list(t.service);
        // Started mid-day: people ahead this copy never saw issued hold their places as unknowns,
        // each leaving when a ticket this copy did not know is called or cancelled.
        while (list.length < t.ahead) list.push(`${UNSEEN}${++this.unseen}`);
        list.splice(t.ahead, 0, t.number);
        return;
      }
      case 'ticket.called': {
        const t = this.ticket(ev.ticket.number, ev.ticket.service);
        this.unlist(ev.ticket.number, t);
        t.status = 'called';
        t.counter = ev.counter;
        delete t.pin;
        return;
      }
      case 'ticket.skipped': {
        const t = this.ticket(ev.ticket.number, ev.ticket.service);
        t.status = 'skipped';
        t.counter = ev.counter;
        return;
      }
      case 'ticket.transferred': {
        const t = this.ticket(ev.ticket.number, ev.ticket.service);
        this.unlist(ev.ticket.number, t);
        t.status = 'waiting';
        t.front = true;
        delete t.counter;
        // held for a counter no more (sent on to a service, or back when that counter closed)
        delete t.pin;
        if (ev.toCounter !== undefined) {
          t.pin = ev.toCounter;
          const pinned = this.pinned.get(ev.toCounter) ?? [];
          pinned.push(ev.ticket.number);
          this.pinned.set(ev.toCounter, pinned);
        } else if (ev.toService !== undefined) {
          t.service = ev.toService;
          const list = this.list(ev.toService);
          let i = 0;
          while (i < list.length && this.tickets.get(list[i]!)?.front) i++;
          list.splice(i, 0, ev.ticket.number);
        }
        return;
      }
      case 'ticket.completed': {
        const t = this.ticket(ev.ticket.number, ev.ticket.service);
        t.status = 'done';
        return;
      }
      case 'ticket.cancelled': {
        const t = this.ticket(ev.ticket.number, ev.ticket.service);
        this.unlist(ev.ticket.number, t);
        t.status = 'cancelled';
        return;
      }
      default:
        return;
    }
  }

  place(number: string): TicketPlace {
    const t = this.tickets.get(number);
    if (!t) return { status: 'unknown' };
    switch (t.status) {
      case 'waiting':
        if (t.pin !== undefined) {
          const ahead = (this.pinned.get(t.pin) ?? []).indexOf(number);
          return { status: 'waiting', service: t.service, ahead: Math.max(0, ahead), counter: t.pin };
        }
        return { status: 'waiting', service: t.service, ahead: Math.max(0, this.list(t.service).indexOf(number)) };
      case 'called':
      case 'skipped':
        return { status: t.status, service: t.service, counter: t.counter ?? '' };
      default:
        return { status: t.status, service: t.service };
    }
  }

  private list(service: string): string[] {
    let list = this.waiting.get(service);
    if (!list) {
      list = [];
      this.waiting.set(service, list);
    }
    return list;
  }

  /** A ticket this copy never saw issued (it came up after): known from now on. */
  private ticket(number: string, service: string): Ticket {
    let t = this.tickets.get(number);
    if (!t) {
      t = { service, status: 'waiting', front: false, unseen: true };
      this.tickets.set(number, t);
    }
    return t;
  }

  private unlist(number: string, t: Ticket): void {
    const from = t.pin !== undefined ? this.pinned.get(t.pin) : this.waiting.get(t.service);
    const i = from?.indexOf(number) ?? -1;
    if (i >= 0) from!.splice(i, 1);
    else if (t.unseen) {
      // one of the unknowns ahead has left the line
      const j = from?.findIndex((n) => n.startsWith(UNSEEN)) ?? -1;
      if (j >= 0) from!.splice(j, 1);
    }
    delete t.unseen;
  }
}

/** Minutes until a ticket with `ahead` people before it is called, from the service's published
 * estimate for a new ticket (`estimatedWaitMin` for `waiting` people ahead): the device's rule is
 * linear in the people ahead, so the share is the same rule. */
export function estimateFor(ahead: number, service: { waiting: number; estimatedWaitMin: number }): number {
  if (ahead <= 0 || service.waiting <= 0) return 0;
  return Math.ceil((ahead * service.estimatedWaitMin) / service.waiting);
}
