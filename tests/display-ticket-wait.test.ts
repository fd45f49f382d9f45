// The ticket's estimated wait, in hours and minutes past an hour (display/wait-text.ts), stays
// inside its half of the framed row whatever its length: "약 23시간 59분" at its 40 px ran into the
// divider.
import { beforeAll, describe, expect, it } from 'vitest';
import { prepareRenderer } from '../display/board/render.ts';
import { renderTicket } from '../display/ticket/render-ticket.ts';

const ticket = (estimatedWaitMin: number) =>
  renderTicket({
    officeName: '역삼1동 행정복지센터',
    serviceName: '여권',
    number: '2047',
    ahead: 180,
    estimatedWaitMin,
    issuedAt: '2026-11-26T10:42:05.123+09:00',
    qrUrl: 'https://q.example.go.kr/t/yeoksam1/2026-11-26/2047?k=abc',
  });

/** Ink (a dark pixel) anywhere in x0..x1 (exclusive), y0..y1 (exclusive). */
function inkIn(f: ReturnType<typeof ticket>, x0: number, x1: number, y0: number, y1: number): boolean {
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (f.data[(y * f.width + x) * 4]! < 128) return true;
  return false;
}

describe("the ticket's estimated wait", () => {
  beforeAll(() => prepareRenderer());

  it('stays inside its half of the framed row, between the divider and the frame', () => {
    for (const min of [9, 59, 130, 605, 1439]) {
      const f = ticket(min);
      // the frame is x 24..552, y 408..504, with the divider at x 288; the wait is drawn around
      // y 488 at x 420: the rows of its text, beside the divider and right of the frame
      expect(inkIn(f, 291, 300, 455, 500), `${min} min, at the divider`).toBe(false);
      expect(inkIn(f, 554, f.width, 455, 500), `${min} min, past the frame`).toBe(false);
      // and it is drawn
      expect(inkIn(f, 300, 540, 455, 500), `${min} min, drawn`).toBe(true);
    }
  });
});
