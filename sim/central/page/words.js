// The central pages' Korean for an estimated wait, as the ticket and the board say it
// (display/wait-text.ts; tests/wait-text.test.ts holds the copies together), and for a counter.

/** "25분", "1시간", "1시간 20분" (whole minutes; a negative estimate is 0분). */
export function waitText(minutes) {
  const m = Math.max(0, Math.round(minutes));
  if (m < 60) return `${m}분`;
  const h = Math.floor(m / 60);
  const r = m % 60;
  return r === 0 ? `${h}시간` : `${h}시간 ${r}분`;
}

/** A ticket's wait as the printed ticket says it: 곧 호출 with nobody ahead, else "약 …". */
export function ticketWaitText(minutes) {
  return minutes <= 0 ? '곧 호출' : `약 ${waitText(minutes)}`;
}

/** A service's wait as the board says it: 바로 with nobody waiting, else "약 …". */
export function serviceWaitText(waiting, minutes) {
  return waiting === 0 ? '바로' : `약 ${waitText(minutes)}`;
}

/** A counter as the board names it ("여권 창구"), from an office's state; "3번 창구" when the state
 * has not come yet or does not list it. The browser's copy of display/board/model.ts counterName
 * (tests/wait-text.test.ts holds them together). */
export function counterName(state, id) {
  return state?.counters?.find((c) => c.id === id)?.name ?? `${id}번 창구`;
}
