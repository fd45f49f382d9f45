// An estimated wait in Korean words: minutes under an hour, then hours and minutes, alike on the
// ticket, the board, the simulator's terminal and its browser pages (their own copies).
import { describe, expect, it } from 'vitest';
import { counterName as boardCounterName } from '../display/board/model.ts';
import { ticketWaitText, waitText } from '../display/wait-text.ts';
import {
  waitText as centralPages,
  counterName as centralCounterName,
  serviceWaitText as centralServiceWait,
  ticketWaitText as centralTicketWait,
} from '../sim/central/page/words.js';
import { serviceLine, waitText as simPage } from '../sim/page/words.js';

describe('an estimated wait in words', () => {
  it('counts minutes under an hour, then hours and minutes', () => {
    expect([0, 1, 59, 60, 61, 80, 120, 600, 605].map(waitText)).toEqual([
      '0분',
      '1분',
      '59분',
      '1시간',
      '1시간 1분',
      '1시간 20분',
      '2시간',
      '10시간',
      '10시간 5분',
    ]);
    expect(waitText(-3)).toBe('0분');
    expect(waitText(59.6)).toBe('1시간');
  });

  it('reads the same on the browser pages', () => {
    for (const m of [0, 7, 59, 60, 61, 125, 600, 1441, -1, 12.4])
      expect([simPage(m), centralPages(m)], String(m)).toEqual([waitText(m), waitText(m)]);
    expect(serviceLine({ accepting: true, waiting: 40, estimatedWaitMin: 130 })).toBe('대기 40명 · 약 2시간 10분');
  });

  // A ticket with nobody ahead is printed 곧 호출 and a service with nobody waiting is 바로 on the
  // board: the simulator's log and central's page said "약 0분" for the same ticket and service.
  it('says a ticket with no wait and a service with nobody waiting in words, not 약 0분', () => {
    expect([0, -1, 1, 75].map(ticketWaitText)).toEqual(['곧 호출', '곧 호출', '약 1분', '약 1시간 15분']);
    for (const m of [0, -1, 1, 75]) expect(centralTicketWait(m), String(m)).toBe(ticketWaitText(m));
    expect(centralServiceWait(0, 0)).toBe('바로');
    expect(centralServiceWait(3, 6)).toBe('약 6분');
  });
});

// Central's page named a counter by its id ("2번 창구") in the recent calls and the 알림톡 list,
// where the board and the ticket say its name ("여권 창구").
describe("central's page naming a counter", () => {
  const state = { counters: [{ id: '2', name: '여권 창구' }] };
  it('says its name from the office state, or "N번 창구" without one', () => {
    expect(centralCounterName(state, '2')).toBe('여권 창구');
    expect(centralCounterName(state, '3')).toBe('3번 창구');
    expect(centralCounterName(undefined, '3')).toBe('3번 창구');
    for (const id of ['2', '3'])
      expect(centralCounterName(state, id), id).toBe(
        boardCounterName(state as unknown as Parameters<typeof boardCounterName>[0], id),
      );
  });
});
