// What real offices configure, at the edges: long service and office names, three-digit waiting
// counts, a dozen counters. The texts the board draws are recorded with their fonts and measured,
// so a text drawn over another is caught without a golden image.
import { beforeAll, describe, expect, it } from 'vitest';
import { morningModel } from '../bench/lib/board-morning.ts';
import type { BoardModel } from '../display/board/model.ts';
import { REFERENCE, Surface, drawBoard, prepareRenderer } from '../display/board/render.ts';
import { type } from '../display/board/theme.ts';

beforeAll(async () => {
  await prepareRenderer();
});

interface Drawn {
  text: string;
  /** the font's size, px */
  px: number;
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

/** Every text a frame draws, with the box its glyphs cover (reference pixels: drawn at 1:1). */
function drawnTexts(m: BoardModel, layout: 'landscape' | 'portrait'): Drawn[] {
  const ref = REFERENCE[layout];
  const s = new Surface(ref.width, ref.height);
  const ctx = s.ctx;
  const out: Drawn[] = [];
  const fill = ctx.fillText.bind(ctx);
  ctx.fillText = (value: string, x: number, y: number) => {
    const t = ctx.measureText(value);
    const w = t.width;
    const left = ctx.textAlign === 'center' ? x - w / 2 : ctx.textAlign === 'right' ? x - w : x;
    out.push({
      text: value,
      px: Number(/([\d.]+)px/.exec(ctx.font)?.[1]),
      x0: left,
      x1: left + w,
      y0: y - t.actualBoundingBoxAscent,
      y1: y + t.actualBoundingBoxDescent,
    });
    fill(value, x, y);
  };
  drawBoard(s, m, layout);
  return out;
}

function overlaps(texts: Drawn[]): string[] {
  const found: string[] = [];
  texts.forEach((a, i) => {
    for (const b of texts.slice(i + 1)) {
      if (a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1) found.push(`${a.text} / ${b.text}`);
    }
  });
  return found;
}

/** A passport office's morning: a long service name with 150 people waiting. */
function busyModel(): BoardModel {
  const m = morningModel();
  m.snapshot.name = '의정부시 호원1동 행정복지센터';
  const s = m.snapshot.services[0]!;
  s.name = '가족관계등록부 등·초본 발급';
  s.waiting = 150;
  s.estimatedWaitMin = 240;
  m.snapshot.services[3]!.name = '여권 접수·교부';
  return m;
}

describe('board texts at the edges', () => {
  it('the sample morning draws no text over another (the check itself)', () => {
    for (const layout of ['landscape', 'portrait'] as const)
      expect(overlaps(drawnTexts(morningModel(), layout))).toEqual([]);
  });

  it('a long service name stops before a three-digit waiting count', () => {
    for (const layout of ['landscape', 'portrait'] as const) {
      for (const services of [2, 4]) {
        const m = busyModel();
        m.snapshot.services.length = services;
        const texts = drawnTexts(m, layout);
        expect(overlaps(texts), `${layout}, ${services} services`).toEqual([]);
        expect(texts.some((t) => t.text === '150명')).toBe(true);
      }
    }
  });

  it('a wait of hours, in hours and minutes, stays clear of the waiting count', () => {
    for (const layout of ['landscape', 'portrait'] as const) {
      for (const [min, words] of [
        [240, '4시간'],
        [130, '2시간 10분'],
        [1439, '23시간 59분'],
      ] as const) {
        const m = busyModel();
        m.snapshot.services[0]!.estimatedWaitMin = min;
        const texts = drawnTexts(m, layout);
        expect(overlaps(texts), `${layout}, ${min} min`).toEqual([]);
        expect(texts.some((t) => t.text === words)).toBe(true);
      }
    }
  });

  it("the called ticket's service keeps 75 % of its size, cut with an ellipsis when long", () => {
    for (const layout of ['landscape', 'portrait'] as const) {
      const m = busyModel();
      const long = '가족관계등록부 등·초본 발급 및 정정 신고 접수';
      m.snapshot.services[0]!.name = long;
      m.snapshot.recentCalls[0]!.service = m.snapshot.services[0]!.id;
      const texts = drawnTexts(m, layout).filter((t) => t.text.startsWith('가족관계'));
      expect(texts.length, layout).toBeGreaterThanOrEqual(2);
      for (const t of texts) expect(t.px, `${layout}: ${t.text}`).toBeGreaterThanOrEqual(type.label * 0.75);
      expect(overlaps(drawnTexts(m, layout)), layout).toEqual([]);
    }
  });
});
