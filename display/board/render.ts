// Board frames: the landscape and portrait wall layouts and the small counter display. Each layout
// is drawn at a reference size and scaled uniformly to the target resolution (letterboxed), so a
// 1280x720 or 3840x2160 panel shows the same picture.
import type { Canvas } from '@napi-rs/canvas';
import type { Frame } from '../../device/ports/outputs.ts';
import { loadFonts } from '../fonts/fonts.ts';
import { type Ctx, closedIcon, fitPx, pauseIcon, rect, text } from './draw.ts';
import { type BoardModel, counterStatusText } from './model.ts';
import { drawFooter, drawHeader } from './chrome.ts';
import { drawCallBand, drawCounters, drawRecent, drawServices } from './parts.ts';
import { DIGIT_HEIGHT, colors } from './theme.ts';

export type BoardLayout = 'landscape' | 'portrait';

export const REFERENCE = {
  landscape: { width: 1920, height: 1080 },
  portrait: { width: 1080, height: 1920 },
  counter: { width: 800, height: 480 },
} as const;

let canvasModule: typeof import('@napi-rs/canvas') | null = null;

/** Load the canvas binding and the font; call once before rendering. */
export async function prepareRenderer(): Promise<void> {
  canvasModule ??= await import('@napi-rs/canvas');
  await loadFonts();
}

function newCanvas(width: number, height: number): Canvas {
  if (!canvasModule) throw new Error('prepareRenderer() must be awaited before rendering');
  return canvasModule.createCanvas(width, height);
}

/** A reusable drawing surface: one canvas per output, so a frame does not allocate 8 MB anew. */
export class Surface {
  readonly canvas: Canvas;
  readonly ctx: Ctx;
  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.canvas = newCanvas(width, height);
    this.ctx = this.canvas.getContext('2d');
  }

  frame(): Frame {
    const img = this.ctx.getImageData(0, 0, this.width, this.height);
    return { width: this.width, height: this.height, data: img.data };
  }

  /** Fit a reference-size drawing into this surface, centred, and run `draw` in reference units. */
  drawScaled(refW: number, refH: number, draw: (ctx: Ctx) => void): void {
    const ctx = this.ctx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    rect(ctx, 0, 0, this.width, this.height, colors.ground);
    const k = Math.min(this.width / refW, this.height / refH);
    ctx.translate((this.width - refW * k) / 2, (this.height - refH * k) / 2);
    ctx.scale(k, k);
    draw(ctx);
    ctx.setTransform(1, 0, 0, 1, 0, 0);
  }
}

export function drawBoard(surface: Surface, m: BoardModel, layout: BoardLayout): void {
  const ref = REFERENCE[layout];
  surface.drawScaled(ref.width, ref.height, (ctx) => {
    rect(ctx, 0, 0, ref.width, ref.height, colors.ground);
    if (layout === 'landscape') {
      drawHeader(ctx, m, { x: 0, y: 0, w: 1920, h: 110 });
      drawCallBand(ctx, m, { x: 40, y: 135, w: 1840, h: 340 }, false);
      drawRecent(ctx, m, { x: 40, y: 495, w: 900, h: 385 }, 3);
      drawServices(ctx, m, { x: 980, y: 495, w: 900, h: 385 });
      drawCounters(ctx, m, { x: 40, y: 893, w: 1840, h: 100 });
      drawFooter(ctx, m, { x: 0, y: 1005, w: 1920, h: 75 });
    } else {
      drawHeader(ctx, m, { x: 0, y: 0, w: 1080, h: 150 }, true);
      drawCallBand(ctx, m, { x: 30, y: 175, w: 1020, h: 540 }, true);
      drawRecent(ctx, m, { x: 30, y: 735, w: 1020, h: 450 }, 3);
      drawServices(ctx, m, { x: 30, y: 1200, w: 1020, h: 410 });
      drawCounters(ctx, m, { x: 30, y: 1628, w: 1020, h: 130 });
      drawFooter(ctx, m, { x: 0, y: 1775, w: 1080, h: 145 });
    }
  });
}

/** The small display above one counter: its name, the number it serves, and its state. */
export function drawCounterDisplay(surface: Surface, m: BoardModel, counterId: string): void {
  const ref = REFERENCE.counter;
  const c = m.snapshot.counters.find((x) => x.id === counterId);
  const lit = m.highlight?.counter === counterId && c?.ticket === m.highlight.ticket;
  surface.drawScaled(ref.width, ref.height, (ctx) => {
    rect(ctx, 0, 0, ref.width, ref.height, lit ? colors.accent : colors.ground);
    const ink = lit ? colors.onAccent : colors.text;
    rect(ctx, 0, 0, ref.width, 100, lit ? colors.onAccent : colors.header);
    text(ctx, c?.name ?? counterId, ref.width / 2, 72, {
      weight: 700,
      px: 64,
      color: lit ? colors.accent : colors.text,
      align: 'center',
      maxWidth: ref.width - 40,
    });
    if (!c || !m.snapshot.open || c.status === 'closed') {
      closedIcon(ctx, ref.width / 2, 230, 60, colors.muted);
      text(ctx, '업무 종료', ref.width / 2, 400, { weight: 700, px: 72, color: colors.text, align: 'center' });
      return;
    }
    if (c.status === 'paused') {
      pauseIcon(ctx, ref.width / 2 - 50, 170, 100, colors.text);
      text(ctx, '잠시 자리 비움', ref.width / 2, 400, { weight: 700, px: 72, color: colors.text, align: 'center' });
      return;
    }
    if (!c.ticket) {
      text(ctx, '대기 중', ref.width / 2, 300, { weight: 700, px: 80, color: colors.dim, align: 'center' });
      return;
    }
    const px = fitPx(ctx, c.ticket, 900, 250, ref.width - 80);
    const base = 120 + (280 + px * DIGIT_HEIGHT) / 2;
    text(ctx, c.ticket, ref.width / 2, base, { weight: 900, px, color: lit ? ink : colors.accent, align: 'center' });
    const status = lit ? '호출 중 — 이 창구로 오십시오' : counterStatusText(c);
    text(ctx, status, ref.width / 2, 455, {
      weight: 700,
      px: 52,
      color: ink,
      align: 'center',
      maxWidth: ref.width - 40,
    });
  });
}
