// The simulator page's event log in Korean: one short line per queue event, in the words a clerk
// would use. Counter changes are left out (the keypad panel shows them).
import type { QueueEvent } from '../device/queue/types.ts';
import { ticketWaitText } from '../display/wait-text.ts';

/** `counterName`: a counter by its configured name, as the board and the voice call it: the log
 * said "<id>번 창구", so a counter "민원실" (id 5) was "5번 창구" there and "민원실" on the board. */
export function eventText(
  ev: QueueEvent,
  serviceName: (id: string) => string,
  counterName: (id: string) => string,
): string | null {
  switch (ev.type) {
    case 'ticket.issued': {
      const t = ev.ticket;
      const how = t.channel === 'online' ? '온라인 발권' : '발권';
      return `${how} ${t.number}번 (${serviceName(t.service)}${t.priority ? ', 교통약자' : ''}) · 앞 ${t.ahead}명 · ${ticketWaitText(t.estimatedWaitMin)}`;
    }
    case 'ticket.called':
      return `호출 ${ev.ticket.number}번 → ${counterName(ev.counter)}`;
    case 'ticket.recalled':
      return `재호출 ${ev.ticket.number}번 → ${counterName(ev.counter)}`;
    case 'ticket.skipped':
      return `부재 ${ev.ticket.number}번 (${counterName(ev.counter)}, ${ev.holdUntil.slice(11, 16)}까지 재호출 가능)`;
    case 'ticket.transferred':
      return `이관 ${ev.ticket.number}번 → ${ev.toService ? serviceName(ev.toService) : counterName(ev.toCounter!)}`;
    case 'ticket.completed':
      return `완료 ${ev.ticket.number}번 (${counterName(ev.counter)})`;
    case 'ticket.cancelled':
      return `취소 ${ev.ticket.number}번${ev.reason === 'day-closed' ? ' (업무 마감)' : ''}`;
    case 'ticket.near':
      return `알림 ${ev.ticket.number}번 차례 임박 (앞 ${ev.ahead}명)`;
    case 'service.changed':
      return `${serviceName(ev.service.id)} 발권 ${ev.service.accepting ? '재개' : '중지'}`;
    case 'notice.changed':
      return ev.notice ? `공지 변경: ${ev.notice}` : '공지 삭제';
    case 'day.opened':
      return `업무 시작 ${ev.day}${ev.resumed ? ' (재개)' : ''}`;
    case 'day.closed':
      return `업무 마감 ${ev.day}: 발권 ${ev.issued} · 완료 ${ev.completed}`;
    default:
      return null;
  }
}
