// What the citizen at the dispenser is told, in Korean, when a press issues no number. The queue's
// own messages are English, for logs and central; the code stays the queue's. The printer's own
// refusals (paper out, cover open) are the printer's: display/printer/messages.ts.

/** The board's line for a refused press, from the queue's error code. */
export function refusalForCitizens(code: string, serviceName: string, cutoff?: string): string {
  const who = serviceName ? `${serviceName} ` : '';
  switch (code) {
    case 'day-closed':
      return '오늘 업무가 끝났습니다 — 번호표를 발급하지 않습니다';
    case 'cutoff-passed':
      return `${who}발권이 마감되었습니다${cutoff ? ` (${cutoff} 마감)` : ''}`;
    case 'cap-reached':
    case 'range-exhausted':
      return `${who}오늘 발급할 수 있는 번호표가 모두 나갔습니다`;
    case 'not-accepting':
      return `${who}발권이 잠시 중지되었습니다 — 직원에게 문의하세요`;
    default:
      return '번호표를 발급할 수 없습니다 — 직원에게 문의하세요';
  }
}
