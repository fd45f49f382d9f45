// A realistic morning at a dong community centre, for the display benchmark and the board's golden
// images (the tests import it from here, so bench/ never imports tests/).
import type { BoardModel } from '../../display/board/model.ts';
import type { Snapshot } from '../../device/queue/snapshot-types.ts';

/** 2026-11-26 10:42:00 in Seoul */
export const FIXED_NOW = Date.parse('2026-11-26T10:42:00+09:00');

export function morningSnapshot(): Snapshot {
  return {
    v: 1,
    office: 'yeoksam1',
    name: '역삼1동 행정복지센터',
    seq: 812,
    at: '2026-11-26T10:42:00.000+09:00',
    day: '2026-11-26',
    open: true,
    services: [
      {
        id: 'resident',
        name: '주민등록 등·초본',
        waiting: 12,
        lastIssued: '1047',
        lastCalled: '1035',
        estimatedWaitMin: 18,
        accepting: true,
      },
      {
        id: 'seal',
        name: '인감증명',
        waiting: 4,
        lastIssued: '2012',
        lastCalled: '2008',
        estimatedWaitMin: 9,
        accepting: true,
      },
      {
        id: 'welfare',
        name: '복지 상담',
        waiting: 3,
        lastIssued: '3006',
        lastCalled: '3003',
        estimatedWaitMin: 25,
        accepting: false,
        closedReason: 'cutoff',
      },
      {
        id: 'passport',
        name: '여권 접수',
        waiting: 0,
        lastIssued: null,
        lastCalled: null,
        estimatedWaitMin: 0,
        accepting: true,
      },
    ],
    counters: [
      { id: '1', name: '1번 창구', status: 'serving', ticket: '1034', services: ['resident'] },
      { id: '2', name: '2번 창구', status: 'serving', ticket: '2008', services: ['seal', 'resident'] },
      { id: '3', name: '3번 창구', status: 'serving', ticket: '1035', services: ['resident'] },
      { id: '4', name: '4번 창구', status: 'paused', ticket: null, services: ['welfare'] },
      { id: '5', name: '5번 창구', status: 'closed', ticket: null, services: ['passport'] },
    ],
    recentCalls: [
      { ticket: '1035', service: 'resident', counter: '3', at: '2026-11-26T10:41:55.000+09:00' },
      { ticket: '2008', service: 'seal', counter: '2', at: '2026-11-26T10:40:10.000+09:00' },
      { ticket: '1034', service: 'resident', counter: '1', at: '2026-11-26T10:39:02.000+09:00' },
      { ticket: '1033', service: 'resident', counter: '3', at: '2026-11-26T10:35:40.000+09:00' },
    ],
    notice: '오늘 복지 상담은 오후 3시에 접수를 마감합니다.',
  };
}

export function morningModel(overrides: Partial<BoardModel> = {}): BoardModel {
  const snapshot = morningSnapshot();
  return {
    snapshot,
    now: FIXED_NOW,
    timeZone: 'Asia/Seoul',
    highlight: snapshot.recentCalls[0] ?? null,
    online: true,
    alert: null,
    ...overrides,
  };
}

/** The same office after closing time: every service closed for the day, every counter closed. */
export function closedModel(): BoardModel {
  const m = morningModel({ highlight: null });
  m.snapshot.open = false;
  for (const s of m.snapshot.services) {
    s.accepting = false;
    s.closedReason = 'day-closed';
    s.waiting = 0;
  }
  for (const c of m.snapshot.counters) {
    c.status = 'closed';
    c.ticket = null;
  }
  m.snapshot.notice = '내일 오전 9시에 다시 문을 엽니다.';
  return m;
}
