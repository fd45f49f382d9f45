// An estimated wait in Korean words, as the ticket, the board and the simulator say it: minutes
// under an hour, then hours and minutes. A passport office's afternoon reached "약 600분" on a
// ticket, a sum for the citizen to do at the door. The simulator's browser pages keep copies
// (sim/page/words.js, sim/central/page/words.js); tests/wait-text.test.ts holds them together.

/** "25분", "1시간", "1시간 20분" (whole minutes; a negative estimate is 0분). */
export function waitText(minutes: number): string {
  const m = Math.max(0, Math.round(minutes));
  if (m < 60) return `${m}분`;
  const h = Math.floor(m / 60);
  const r = m % 60;
  return r === 0 ? `${h}시간` : `${h}시간 ${r}분`;
}

/** A ticket's estimated wait as the ticket prints it: "약 25분", or 곧 호출 with nobody ahead (the
 * simulator's log said "약 0분" beside a ticket that read 곧 호출). */
export function ticketWaitText(minutes: number): string {
  return minutes <= 0 ? '곧 호출' : `약 ${waitText(minutes)}`;
}
