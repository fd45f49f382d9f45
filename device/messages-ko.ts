// What the citizen at the dispenser is told, in Korean, when a press issues no number, and what the
// clerk's counter display says when a key does nothing. The queue's
// own messages are English, for logs and central; the code stays the queue's. The printer's own
// refusals (paper out, cover open) are the printer's: display/printer/messages.ts.

/** The board's line for a refused press, from the queue's error code. */
export function refusalForCitizens(code: string, serviceName: string, cutoff?: string): string {
  const who = serviceName ? `${serviceName} ` : '';
  switch (code) {
    case 'day-closed':
      // Not "today's work is over": the day is also closed in the morning before it opens (central
      // owns the day with policy.autoOpen off, or the clock is not yet trusted). Worded as the
      // board's own closed band is, true at 08:50 and at 18:30 alike.
      return '지금은 업무 시간이 아닙니다 — 번호표를 발급하지 않습니다';
    case 'cutoff-passed':
      return `${who}발권이 마감되었습니다${cutoff ? ` (${cutoff} 마감)` : ''}`;
    case 'cap-reached':
    case 'range-exhausted':
      // The service's name first, then a clause of its own ("여권 오늘 발급할 수 있는 번호표가…")
      // read as two lines run together: the name belongs with 번호표.
      return `오늘 ${who}번호표가 모두 발급되었습니다`;
    case 'not-accepting':
      return `${who}발권이 잠시 중지되었습니다 — 직원에게 문의하세요`;
    default:
      return '번호표를 발급할 수 없습니다 — 직원에게 문의하세요';
  }
}

/** A counter display's line for a refused key, from the queue's error code: a few words for the
 * clerk (the main unit's own keypads and the satellites' alike). */
export function keyRefusalForClerks(code: string): string {
  switch (code) {
    case 'no-waiting':
      return '대기 없음';
    case 'counter-idle':
      return '호출 중인 번호 없음';
    case 'counter-closed':
      return '창구 업무 종료 상태';
    case 'day-closed':
    case 'clock-behind':
      return '업무 시간 아님';
    case 'unknown-ticket':
    case 'not-callable':
      return '호출할 수 없는 번호';
    case 'hold-expired':
      return '보류 시간이 지난 번호';
    case 'invalid-transfer':
      return '이관할 수 없음';
    case 'counter-not-bound':
      return '이 창구 권한 없음';
    case 'unknown-counter':
      return '없는 창구';
    case 'unknown-service':
      return '없는 업무';
    case 'rate-limited':
      return '키 입력이 너무 잦음 — 잠시 후 다시';
    default:
      return `처리 안 됨 (${code})`;
  }
}
