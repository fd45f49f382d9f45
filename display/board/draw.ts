// Small drawing helpers shared by the board layouts and the ticket.
import type { SKRSContext2D } from '@napi-rs/canvas';
import { type FontWeight, font } from '../fonts/fonts.ts';

export type Ctx = SKRSContext2D;

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface TextStyle {
  weight: FontWeight;
  px: number;
  color: string;
  align?: 'left' | 'center' | 'right';
  /** shrink the font until the text fits this width */
  maxWidth?: number;
  /** never shrink below this size: cut the text with an ellipsis instead (legibility first) */
  minPx?: number;
}

/** Draw text on an alphabetic baseline; returns the width drawn. */
export function text(ctx: Ctx, value: string, x: number, y: number, style: TextStyle): number {
  let px = style.maxWidth ? fitPx(ctx, value, style.weight, style.px, style.maxWidth) : style.px;
  if (style.maxWidth && style.minPx && px < style.minPx) {
    px = style.minPx;
    value = ellipsize(ctx, value, style.weight, px, style.maxWidth);
  }
  const f = font(style.weight, px);
  ctx.font = f;
  ctx.fillStyle = style.color;
  ctx.textAlign = style.align ?? 'left';
  ctx.textBaseline = 'alphabetic';
  ctx.fillText(value, x, y);
  return widthOf(ctx, f, value);
}

/** Widths of text already measured, by font and text. A call on the board measures ~50 texts, most
 * of them the same as last time (labels, names, numbers still shown), and each measureText() shapes
 * the text anew in the canvas binding (~0.2 ms a frame). Every context draws with the same
 * registered fonts, so a width does not depend on the context. */
const widths = new Map<string, number>();
const WIDTHS_KEPT = 4096;

/** The width of `value` in font `f`, remembered; sets the context's font only to measure. */
function widthOf(ctx: Ctx, f: string, value: string): number {
  const key = `${f}\n${value}`;
  let w = widths.get(key);
  if (w === undefined) {
    ctx.font = f;
    w = ctx.measureText(value).width;
    // a day's changing texts (numbers, clock) would grow it without end: start over instead
    if (widths.size >= WIDTHS_KEPT) widths.clear();
    widths.set(key, w);
  }
  return w;
}

/** The largest size up to `px` at which `value` is at most `maxWidth` wide. */
export function fitPx(ctx: Ctx, value: string, weight: FontWeight, px: number, maxWidth: number): number {
  const w = widthOf(ctx, font(weight, px), value);
  if (w <= maxWidth || w === 0) return px;
  return Math.max(8, Math.floor((px * maxWidth) / w));
}

/** Cut `value` so that it and a trailing ellipsis fit `maxWidth`. */
export function ellipsize(ctx: Ctx, value: string, weight: FontWeight, px: number, maxWidth: number): string {
  const chars = [...value];
  while (chars.length > 1 && measure(ctx, `${chars.join('').trimEnd()}…`, weight, px) > maxWidth) chars.pop();
  return `${chars.join('').trimEnd()}…`;
}

/** The width of `value` at this weight and size (the context's font is left undefined: text() sets
 * its own). */
export function measure(ctx: Ctx, value: string, weight: FontWeight, px: number): number {
  return widthOf(ctx, font(weight, px), value);
}

export function rect(ctx: Ctx, x: number, y: number, w: number, h: number, color: string, radius = 0): void {
  ctx.fillStyle = color;
  ctx.beginPath();
  if (radius > 0) ctx.roundRect(x, y, w, h, radius);
  else ctx.rect(x, y, w, h);
  ctx.fill();
}

export function strokeRect(
  ctx: Ctx,
  x: number,
  y: number,
  w: number,
  h: number,
  color: string,
  lw: number,
  radius = 0,
): void {
  ctx.strokeStyle = color;
  ctx.lineWidth = lw;
  ctx.beginPath();
  if (radius > 0) ctx.roundRect(x + lw / 2, y + lw / 2, w - lw, h - lw, radius);
  else ctx.rect(x + lw / 2, y + lw / 2, w - lw, h - lw);
  ctx.stroke();
}

/** A right-pointing arrow drawn as a shape, so it never depends on a glyph in the font. */
export function arrow(ctx: Ctx, x: number, cy: number, len: number, thick: number, color: string): void {
  const head = thick * 2.2;
  ctx.fillStyle = color;
  ctx.beginPath();
  ctx.moveTo(x, cy - thick / 2);
  ctx.lineTo(x + len - head, cy - thick / 2);
  ctx.lineTo(x + len - head, cy - head / 1.4);
  ctx.lineTo(x + len, cy);
  ctx.lineTo(x + len - head, cy + head / 1.4);
  ctx.lineTo(x + len - head, cy + thick / 2);
  ctx.lineTo(x, cy + thick / 2);
  ctx.closePath();
  ctx.fill();
}

/** Pause mark (two bars) for a counter that stepped away: a shape, not a colour. */
export function pauseIcon(ctx: Ctx, x: number, y: number, size: number, color: string): void {
  const bar = size * 0.3;
  rect(ctx, x, y, bar, size, color, bar * 0.2);
  rect(ctx, x + size - bar, y, bar, size, color, bar * 0.2);
}

/** Closed mark: a circle with a bar across. */
export function closedIcon(ctx: Ctx, cx: number, cy: number, r: number, color: string): void {
  ctx.strokeStyle = color;
  ctx.lineWidth = r * 0.22;
  ctx.beginPath();
  ctx.arc(cx, cy, r * 0.85, 0, Math.PI * 2);
  ctx.stroke();
  rect(ctx, cx - r * 0.55, cy - r * 0.12, r * 1.1, r * 0.24, color);
}

/** Warning triangle with "!" for the alert banner. */
export function warnIcon(ctx: Ctx, cx: number, cy: number, size: number, color: string, ink: string): void {
  ctx.fillStyle = color;
  ctx.beginPath();
  ctx.moveTo(cx, cy - size / 2);
  ctx.lineTo(cx + size / 2, cy + size / 2.4);
  ctx.lineTo(cx - size / 2, cy + size / 2.4);
  ctx.closePath();
  ctx.fill();
  rect(ctx, cx - size * 0.05, cy - size * 0.2, size * 0.1, size * 0.34, ink);
  rect(ctx, cx - size * 0.05, cy + size * 0.2, size * 0.1, size * 0.1, ink);
}

/** The link-status mark: a filled dot when central is reachable, a ring with a slash when not. */
export function linkMark(ctx: Ctx, x: number, cy: number, online: boolean, r: number, color: string): void {
  ctx.strokeStyle = color;
  ctx.fillStyle = color;
  ctx.lineWidth = r * 0.3;
  ctx.beginPath();
  ctx.arc(x + r, cy, r, 0, Math.PI * 2);
  if (online) ctx.fill();
  else {
    ctx.stroke();
    ctx.beginPath();
    ctx.moveTo(x + r - r * 0.7, cy + r * 0.7);
    ctx.lineTo(x + r + r * 0.7, cy - r * 0.7);
    ctx.stroke();
  }
}

/** Text centred vertically on `cy` within a box `maxH` tall: one line when it fits at `minPx` or
 * more, else two lines split at the space nearest the middle (then cut with an ellipsis). */
export function textLines(
  ctx: Ctx,
  value: string,
  x: number,
  cy: number,
  style: TextStyle & { maxWidth: number; minPx: number },
  maxH: number,
): void {
  const one = fitPx(ctx, value, style.weight, style.px, style.maxWidth);
  if (one >= style.minPx || maxH < style.minPx * 2.3 || !value.includes(' ')) {
    const px = Math.max(one, style.minPx);
    text(ctx, value, x, cy + px * 0.36, { ...style, px });
    return;
  }
  // Greedy wrap: the largest size (down to minPx) at which two lines hold every word.
  const words = value.split(' ');
  const wrap = (px: number): [string, string] => {
    let i = 1;
    while (i < words.length && measure(ctx, words.slice(0, i + 1).join(' '), style.weight, px) <= style.maxWidth) i++;
    return [words.slice(0, i).join(' '), words.slice(i).join(' ')];
  };
  let px = Math.min(style.px, maxH / 2.3);
  let lines = wrap(px);
  while (px > style.minPx && lines.some((l) => measure(ctx, l, style.weight, px) > style.maxWidth)) {
    px = Math.max(style.minPx, px - 2);
    lines = wrap(px);
  }
  const first = cy - (px * 1.15) / 2 + px * 0.36;
  lines.forEach((l, i) => {
    text(ctx, l, x, first + i * px * 1.15, { ...style, px });
  });
}
