import { beforeAll, describe, expect, it } from 'vitest';
import { font } from '../display/fonts/fonts.ts';
import { fitPx, measure } from '../display/board/draw.ts';
import { particleRoAfterName as particleRo } from '../display/korean-particle.ts';
import { boardKey, clockTexts } from '../display/board/model.ts';
import { REFERENCE, Surface, drawBoard, drawCounterDisplay, prepareRenderer } from '../display/board/render.ts';
import { DIGIT_HEIGHT, HANGUL_HEIGHT, type } from '../display/board/theme.ts';
import { compareGolden, frameDiff } from './golden/compare.ts';
import { FIXED_NOW, closedModel, morningModel } from '../bench/lib/board-morning.ts';

const TOLERANCE = 0.001; // share of pixels allowed to differ: a changed digit of the called number moves ~0.3%

beforeAll(async () => {
  await prepareRenderer();
});

function board(layout: 'landscape' | 'portrait', m = morningModel()) {
  const ref = REFERENCE[layout];
  const s = new Surface(ref.width, ref.height);
  drawBoard(s, m, layout);
  return s.frame();
}

function counter(id: string, m = morningModel()) {
  const s = new Surface(800, 480);
  drawCounterDisplay(s, m, id);
  return s.frame();
}

describe('board frames match the goldens', () => {
  const cases: Array<[string, () => ReturnType<typeof board>]> = [
    ['board-landscape-call', () => board('landscape')],
    [
      'board-landscape-alert',
      () =>
        board('landscape', morningModel({ highlight: null, online: false, alert: '용지 없음 — 직원에게 문의하세요' })),
    ],
    ['board-portrait-call', () => board('portrait')],
    ['board-landscape-closed', () => board('landscape', closedModel())],
    ['counter-serving-call', () => counter('3')],
    ['counter-paused', () => counter('4')],
  ];
  for (const [name, make] of cases) {
    it(name, () => {
      const r = compareGolden(name, make());
      expect(r.ratio, `diff image: ${r.diffPath}`).toBeLessThan(TOLERANCE);
    });
  }

  it('a different call shows as a real difference (the comparison can fail)', () => {
    const m = morningModel();
    const other = morningModel({ highlight: { ...m.highlight!, ticket: '1036' } });
    other.snapshot.recentCalls[0]!.ticket = '1036';
    const r = compareGolden('board-landscape-call', board('landscape', other), true);
    expect(r.ratio).toBeGreaterThan(TOLERANCE);
  });

  it('the highlight changes the call band, not only a few pixels', () => {
    expect(frameDiff(board('landscape'), board('landscape', morningModel({ highlight: null })))).toBeGreaterThan(0.1);
  });

  it('scales to another resolution (letterboxed)', () => {
    const s = new Surface(1280, 720);
    drawBoard(s, morningModel(), 'landscape');
    expect(s.frame().data.length).toBe(1280 * 720 * 4);
  });
});

describe('legibility', () => {
  it('glyph heights at the reference resolution meet the documented minimums', () => {
    const s = new Surface(100, 100);
    const px = (weight: 400 | 700 | 900, size: number, sample: string) => {
      s.ctx.font = font(weight, size);
      const m = s.ctx.measureText(sample);
      return m.actualBoundingBoxAscent + m.actualBoundingBoxDescent;
    };
    // tier 1: read from 10 m
    expect(px(900, type.callNumber, '1035')).toBeGreaterThanOrEqual(200);
    expect(px(700, type.callCounter, '번창')).toBeGreaterThanOrEqual(130);
    // tier 2
    expect(px(900, type.recentNumber, '1035')).toBeGreaterThanOrEqual(75);
    // tier 3
    expect(px(700, type.serviceName, '인감')).toBeGreaterThanOrEqual(50);
    expect(px(700, type.notice, '안내')).toBeGreaterThanOrEqual(40);
    // the documented ratios hold for this font
    expect(px(900, 100, '1035') / 100).toBeCloseTo(DIGIT_HEIGHT, 1);
    expect(px(700, 100, '번') / 100).toBeCloseTo(HANGUL_HEIGHT, 1);
  });
});

describe('model', () => {
  it('the frame key changes with the minute, not the second', () => {
    const a = morningModel();
    expect(boardKey({ ...a, now: FIXED_NOW + 30_000 })).toBe(boardKey(a));
    expect(boardKey({ ...a, now: FIXED_NOW + 60_000 })).not.toBe(boardKey(a));
  });

  it('clock texts are in the office zone', () => {
    expect(clockTexts(FIXED_NOW, 'Asia/Seoul')).toMatchObject({ date: '11월 26일 (목)', time: '10:42' });
    expect(clockTexts(FIXED_NOW, 'UTC').time).toBe('01:42');
  });

  it('picks 로 or 으로 after a counter name', () => {
    expect(particleRo('3번 창구')).toBe('로');
    expect(particleRo('민원실')).toBe('로');
    expect(particleRo('상담석')).toBe('으로');
    expect(particleRo('창구 3')).toBe('으로');
    expect(particleRo('창구 7')).toBe('로');
    expect(particleRo('Desk A')).toBe('로');
    // a bracket at the end is left out, as written Korean does (the portrait band said 여권(2층)로)
    expect(particleRo('여권(2층)')).toBe('으로');
    expect(particleRo('민원실(2층)')).toBe('로');
    // a letter is read by its name, as the voice says it: 엠으로 (the band said 창구 M로)
    expect(particleRo('창구 M')).toBe('으로');
    expect(particleRo('창구 ３')).toBe('으로');
  });
});

describe('text widths', () => {
  it('are remembered per font and text, and equal what the canvas measures', () => {
    const ctx = new Surface(10, 10).ctx;
    const direct = (value: string, weight: 400 | 700 | 900, px: number): number => {
      ctx.font = font(weight, px);
      return ctx.measureText(value).width;
    };
    for (let pass = 0; pass < 2; pass++) {
      // the second pass is answered from what the first remembered
      for (const [value, weight, px] of [
        ['1234', 900, 250],
        ['1234', 400, 250],
        ['1234', 900, 120],
        ['주민등록 등·초본', 700, 48],
        ['주민등록 등·초본 ', 700, 48],
      ] as const) {
        expect(measure(ctx, value, weight, px)).toBe(direct(value, weight, px));
      }
    }
    expect(measure(ctx, '1234', 900, 250)).toBeGreaterThan(measure(ctx, '1234', 400, 250));
    expect(fitPx(ctx, '1234', 900, 250, measure(ctx, '1234', 900, 250) / 2)).toBeLessThan(130);
  });
});
