// An issued-ticket event with a given seq, for tests of the journal that care only about order.
import type { QueueEvent } from '../../device/queue/types.ts';

export function issuedEvent(seq: number): QueueEvent {
  return {
    v: 1,
    office: 'test',
    seq,
    id: `e${seq}`,
    at: '2026-11-26T10:00:00.000+09:00',
    type: 'ticket.issued',
    ticket: { number: String(1000 + seq), service: 'resident', channel: 'kiosk', priority: false },
  } as unknown as QueueEvent;
}
