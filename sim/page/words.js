// The page's Korean for what the board also shows, in the board's own words
// (display/board/model.ts): the counter card sat beside its display's frame saying another word
// for the same state (대기 / 대기 중, 상담 중 / 업무 중, 마감 / 업무 종료), and every stopped
// service read 발권 마감 where the board said 오늘 번호표 소진 or 발권 중지.
// tests/sim-units.test.ts holds the two together.

/** A counter's status, as its display and the board say it. */
export const COUNTER_STATUS = { idle: '대기 중', serving: '업무 중', paused: '잠시 자리 비움', closed: '업무 종료' };

/** Why a service takes no tickets, as the board says it. */
export function closedReasonText(reason) {
  switch (reason) {
    case 'cutoff':
    case 'day-closed':
      return '발권 마감';
    case 'cap':
    case 'exhausted':
      return '오늘 번호표 소진';
    default:
      return '발권 중지';
  }
}

/** An estimated wait, as the ticket and the board say it (display/wait-text.ts). */
export function waitText(minutes) {
  const m = Math.max(0, Math.round(minutes));
  if (m < 60) return `${m}분`;
  const h = Math.floor(m / 60);
  const r = m % 60;
  return r === 0 ? `${h}시간` : `${h}시간 ${r}분`;
}

/** The line under a dispenser button: the board's waiting count and wait (바로 for none). */
export function serviceLine(svc) {
  if (!svc.accepting) return closedReasonText(svc.closedReason);
  return `대기 ${svc.waiting}명 · ${svc.waiting === 0 ? '바로' : `약 ${waitText(svc.estimatedWaitMin)}`}`;
}

/** A counter as the board and the voice name it ("여권 창구"); "<id>번 창구" when the office's layout
 * does not know it. */
export function counterLabel(layout, id) {
  return layout?.counters.find((c) => c.id === id)?.name ?? `${id}번 창구`;
}

/** What a satellite's voice announces: its counters and services by name. */
export function voiceText(voice, layout) {
  if (!voice) return '안내 방송 없음';
  const service = (id) => layout?.services.find((s) => s.id === id)?.name ?? id;
  const parts = [...voice.counters.map((c) => counterLabel(layout, c)), ...voice.services.map(service)];
  return parts.length ? `안내 방송: ${parts.join(', ')}` : '안내 방송: 전체';
}
