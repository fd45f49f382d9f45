// Board frames: the landscape and portrait wall layouts and the small counter display. Each layout
// is drawn at a reference size and scaled uniformly to the target resolution (letterboxed), so a
// 1280x720 or 3840x2160 panel shows the same picture.
import type { Canvas } from '@napi-rs/canvas';
import type { Frame, Patch, PatchFrame } from '../../device/ports/outputs.ts';
import { loadCanvasBinding } from '../canvas-binding.ts';
import { patchRow } from '../sinks/patches.ts';
import { loadFonts } from '../fonts/fonts.ts';
import { type Box, type Ctx, closedIcon, fitPx, pauseIcon, rect, text } from './draw.ts';
import { type BoardModel, clockTexts, counterCall, counterName, counterStatusText, serviceName } from './model.ts';
import { drawFooter, drawHeader } from './chrome.ts';
import { counterTiles, drawCallBand, drawCounters, drawRecent, drawServices, serviceRows } from './parts.ts';
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
  canvasModule ??= await loadCanvasBinding();
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
    private cols: number,
    private rows: number,
  ) {
    this.canvas = newCanvas(cols, rows);
    this.ctx = this.canvas.getContext('2d');
  }

  get width(): number {
    return this.cols;
  }

  get height(): number {
    return this.rows;
  }

  /** A fresh, empty bitmap `height` rows tall and `width` wide (also when the size stays), the
   * drawing state reset. The painter's reads cost less on a canvas just sized: see BoardPainter. */
  resize(height: number, width = this.cols): void {
    // Each of the binding's size setters makes a new bitmap at once: a new width at the old height
    // would be a whole bitmap made only to be dropped by the height's (~0.17 ms at 1920x391). One
    // row wide is next to nothing.
    if (width !== this.cols) {
      this.canvas.height = 1;
      this.canvas.width = width;
    }
    this.canvas.height = height;
    this.cols = width;
    this.rows = height;
  }

  frame(): Frame {
    const img = this.ctx.getImageData(0, 0, this.width, this.height);
    return { width: this.width, height: this.height, data: img.data };
  }

  /** Fit a reference-size drawing into this surface, centred, and run `draw` in reference units.
   * `view`: this canvas holds only a window of a larger target (the painter's bands): the target's
   * size and where the window's top-left corner is in it. The offset is in whole device pixels,
   * so each pixel is drawn exactly as on a canvas of the target's full size. */
  drawScaled(refW: number, refH: number, draw: (ctx: Ctx) => void, view?: View): void {
    const ctx = this.ctx;
    const W = view?.width ?? this.width;
    const H = view?.height ?? this.height;
    ctx.setTransform(1, 0, 0, 1, -(view?.x ?? 0), -(view?.y ?? 0));
    rect(ctx, 0, 0, W, H, colors.ground);
    const k = Math.min(W / refW, H / refH);
    ctx.translate((W - refW * k) / 2, (H - refH * k) / 2);
    ctx.scale(k, k);
    draw(ctx);
    ctx.setTransform(1, 0, 0, 1, 0, 0);
  }
}

/** A window of a larger drawing target: its full size, and the window's offset in it. */
export interface View {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The parts of a wall board, in drawing order. */
export const PARTS = ['header', 'call', 'recent', 'services', 'counters', 'footer'] as const;
export type PartName = (typeof PARTS)[number];

/** Where each part draws. Every part stays inside its box and nothing outside the boxes ever
 * changes (the ground), so repainting the boxes of what changed, everything clipped to each in
 * turn, gives the pixels a full redraw gives. */
export const BOARD_LAYOUT: Record<BoardLayout, Record<PartName, { box: Box }>> = {
  landscape: {
    header: { box: { x: 0, y: 0, w: 1920, h: 110 } },
    call: { box: { x: 40, y: 135, w: 1840, h: 340 } },
    recent: { box: { x: 40, y: 495, w: 900, h: 385 } },
    services: { box: { x: 980, y: 495, w: 900, h: 385 } },
    counters: { box: { x: 40, y: 893, w: 1840, h: 100 } },
    footer: { box: { x: 0, y: 1005, w: 1920, h: 75 } },
  },
  portrait: {
    header: { box: { x: 0, y: 0, w: 1080, h: 150 } },
    call: { box: { x: 30, y: 175, w: 1020, h: 540 } },
    recent: { box: { x: 30, y: 735, w: 1020, h: 450 } },
    services: { box: { x: 30, y: 1200, w: 1020, h: 410 } },
    counters: { box: { x: 30, y: 1628, w: 1020, h: 130 } },
    footer: { box: { x: 0, y: 1775, w: 1080, h: 145 } },
  },
};

/** Reference pixels around a box repainted with it (antialiased edges). */
const MARGIN = 3;

/** Draw the board, or only `only` of its parts over the ground (enough under a clip to one part's
 * box: no part draws outside its own, so the others would draw nothing there); `item`: of that
 * part, only that service row or counter tile (under a clip to its box). */
export function drawBoard(
  surface: Surface,
  m: BoardModel,
  layout: BoardLayout,
  only?: PartName,
  view?: View,
  item?: number,
): void {
  const ref = REFERENCE[layout];
  const L = BOARD_LAYOUT[layout];
  const portrait = layout === 'portrait';
  const draws = (p: PartName): boolean => only === undefined || only === p;
  surface.drawScaled(
    ref.width,
    ref.height,
    (ctx) => {
      rect(ctx, 0, 0, ref.width, ref.height, colors.ground);
      if (draws('header')) drawHeader(ctx, m, L.header.box, portrait);
      if (draws('call')) drawCallBand(ctx, m, L.call.box, portrait);
      if (draws('recent')) drawRecent(ctx, m, L.recent.box, 3);
      if (draws('services')) drawServices(ctx, m, L.services.box, item);
      if (draws('counters')) drawCounters(ctx, m, L.counters.box, item);
      if (draws('footer')) drawFooter(ctx, m, L.footer.box);
    },
    view,
  );
}

/** What each part shows, as a key: equal keys, equal pixels in that part's box. Generous on
 * purpose (a spurious repaint costs a little time; a missed one leaves a stale part on the wall),
 * and checked against full redraws in tests/display-incremental.test.ts. */
export function partKeys(m: BoardModel): Record<PartName, string> {
  const s = m.snapshot;
  const call = s.open ? (m.highlight ?? s.recentCalls[0] ?? null) : null;
  const names = s.counters.map((c) => [c.id, c.name]);
  const clock = clockTexts(m.now, m.timeZone);
  return {
    header: JSON.stringify([s.name, clock.date, clock.time]),
    call: JSON.stringify([
      s.open,
      m.highlight,
      call,
      call ? serviceName(s, call.service) : null,
      call ? counterName(s, call.counter) : null,
    ]),
    recent: JSON.stringify([s.open, m.highlight?.ticket ?? s.recentCalls[0]?.ticket ?? null, s.recentCalls, names]),
    // (services and counters are keyed row by row and tile by tile: boardRegions)
    services: '',
    counters: '',
    footer: JSON.stringify([m.alert, s.notice, m.online]),
  };
}

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** A piece of the board repainted on its own: a part, or one service row or counter tile of it
 * (a ticket changes one waiting count, a call one tile). */
export interface Region {
  id: string;
  /** the part it belongs to (what draws it) */
  part: PartName;
  /** its index in that part (a service row, a counter tile); absent for the part itself */
  item?: number;
  key: string;
  box: Box;
}

export function boardRegions(m: BoardModel, layout: BoardLayout): Region[] {
  const L = BOARD_LAYOUT[layout];
  const keys = partKeys(m);
  const s = m.snapshot;
  const out: Region[] = [];
  for (const p of PARTS) {
    if (p === 'services') {
      // the headings, and where the rows go, depend on how many services there are
      out.push({ id: p, part: p, key: String(s.services.length), box: L[p].box });
      serviceRows(L[p].box, s.services.length).forEach((box, i) => {
        out.push({ id: `${p}.${i}`, part: p, item: i, key: JSON.stringify(s.services[i]), box });
      });
    } else if (p === 'counters') {
      out.push({ id: p, part: p, key: String(s.counters.length), box: L[p].box });
      counterTiles(L[p].box, s.counters.length).forEach((box, i) => {
        out.push({ id: `${p}.${i}`, part: p, item: i, key: JSON.stringify(s.counters[i]), box });
      });
    } else {
      out.push({ id: p, part: p, key: keys[p], box: L[p].box });
    }
  }
  return out;
}

interface PaintStep {
  /** the board's rectangle to repaint, in device pixels */
  r: Rect;
  /** the top row of the band it is drawn in */
  top: number;
  /** only this part (a first frame's bands draw them all) */
  part?: PartName;
  /** only this row or tile of the part */
  item?: number;
}

/** Rows of the board kept as the screen shows them (RGBA), and which of them changed this frame. */
interface KeptRows {
  y: number;
  h: number;
  data: Uint8Array;
  dirty: Uint8Array;
}

/** The parts repainted a service row or a counter tile at a time. */
const ITEMS: ReadonlySet<PartName> = new Set(['services', 'counters']);

/** The rows of the parts that may be repainted narrower than the board (those with items, and
 * those that share rows with another part), merged where they touch. */
export function sideBySideRows(parts: Array<{ part: PartName; r: Rect }>): Array<{ y: number; h: number }> {
  const spans = parts
    .filter(
      ({ part, r }) =>
        ITEMS.has(part) || parts.some((o) => o.part !== part && o.r.y < r.y + r.h && r.y < o.r.y + o.r.h),
    )
    .map(({ r }) => ({ y0: r.y, y1: r.y + r.h }))
    .sort((a, b) => a.y0 - b.y0);
  const merged: Array<{ y0: number; y1: number }> = [];
  for (const s of spans) {
    const last = merged.at(-1);
    if (last && s.y0 <= last.y1) last.y1 = Math.max(last.y1, s.y1);
    else merged.push({ ...s });
  }
  return merged.map(({ y0, y1 }) => ({ y: y0, h: y1 - y0 }));
}

interface PaintJob {
  keys: Map<string, string>;
  steps: PaintStep[];
}

/**
 * A wall board that repaints only what changed. Each frame, the parts whose key changed are
 * redrawn, each clipped to its box, on a scratch canvas the height of the tallest box (a window
 * onto the board: drawScaled's view), and the frame is whole rows of the board with their pixels
 * (patches, device/ports/outputs.ts), which a framebuffer writes 64 rows at a time. A part alone
 * on its rows (the call band, the header, the footer) is repainted as whole rows, ground and all,
 * and handed on as the canvas gives it back. A box beside another on its rows (the recent calls
 * beside the services, a service row, a counter tile) is copied into the rows the painter keeps
 * of those parts (~3.8 MB at 1080p landscape, not a picture of the whole board: 8.3 MB), and the
 * rows whose pixels changed are handed on from there: a box narrower than the board would cost a
 * write per row (~2 us each, ~0.5 ms a call more, bench/display.ts). The first frame is drawn the
 * same way, in full-width bands cut between the parts: a shape cut by a clip or a canvas edge is
 * antialiased differently all along its edges, not only at the cut, so no band edge may cross a
 * part. A frame's pixels are valid until the next paint (the kept rows change).
 *
 * Why a window and not a canvas of the whole board: the canvas binding pays for a read after a
 * draw in proportion to the canvas's area, not the area read (measured: 1.6 ms and a new 8.3 MB
 * bitmap for a 1080p canvas, kept by glibc's heap afterwards; likely a copy of the whole bitmap
 * that the binding's snapshot of it forces). A 1920x391 window costs about a third of that, and a
 * full-size canvas is never made. And the window is cut to each box before it is drawn: its top
 * stays the band's and its left edge the board's (the same transform: a shape moved sideways by
 * whole pixels is still antialiased differently, measured), its bottom and right edges are the
 * box's. The first read of a canvas just sized costs only what was drawn (a counter tile's box: a
 * 1920x113 window instead of 1920x391, and ~0.4 ms less for each box of a call; the recent calls,
 * on the left half, a window half as wide).
 */
export class BoardPainter {
  readonly surface: Surface;
  private keys: Map<string, string> | null = null;
  /** the first frame's bands, cut only where no part draws */
  private readonly bands: Array<{ y: number; h: number }>;
  /** the board's rows where boxes sit side by side, as the screen shows them (see the class) */
  private readonly kept: KeptRows[];

  constructor(
    readonly width: number,
    readonly height: number,
    readonly layout: BoardLayout,
  ) {
    this.bands = wholeBands(
      PARTS.map((p) => this.partRect(p)),
      height,
    );
    this.surface = new Surface(width, Math.max(...this.bands.map((b) => b.h)));
    this.kept = sideBySideRows(PARTS.map((p) => ({ part: p, r: this.partRect(p) }))).map(({ y, h }) => ({
      y,
      h,
      data: new Uint8Array(width * h * 4),
      dirty: new Uint8Array(h),
    }));
  }

  /** Forget what is on screen: the next paint draws everything (a sink that lost its pixels). */
  invalidate(): void {
    this.keys = null;
  }

  /** The change for `m`: the rows of the boxes whose key changed (of a box beside another, only
   * the rows whose pixels changed), or every band of the board for the first frame; null when
   * nothing on the screen changes. */
  paint(m: BoardModel): PatchFrame | null {
    const job = this.plan(m);
    if (!job) return null;
    const patches: Patch[] = [];
    for (const step of job.steps) {
      const p = this.paintStep(m, step);
      const band = this.keptBand(p);
      if (band && p.w < this.width) {
        this.keep(band, p, false);
        continue;
      }
      // whole rows (a first frame's bands among them): as they are, and into the rows kept
      for (const k of this.kept) if (p.y < k.y + k.h && k.y < p.y + p.h) this.keep(k, p, true);
      patches.push(p);
    }
    for (const k of this.kept) patches.push(...this.changedRows(k));
    this.keys = job.keys;
    return patches.length > 0 ? { width: this.width, height: this.height, patches } : null;
  }

  /** The rows kept that hold all of `p`, if any. */
  private keptBand(p: Rect): KeptRows | undefined {
    return this.kept.find((k) => k.y <= p.y && p.y + p.h <= k.y + k.h);
  }

  /** Copies the part of `p` on `k`'s rows into them; unless `whole` (the patch goes on as it is),
   * marks the rows whose pixels changed. */
  private keep(k: KeptRows, p: Patch, whole: boolean): void {
    const y0 = Math.max(p.y, k.y);
    const y1 = Math.min(p.y + p.h, k.y + k.h);
    const row = this.width * 4;
    for (let y = y0; y < y1; y++) {
      const at = (y - k.y) * row + p.x * 4;
      const src = patchRow(p, y - p.y);
      if (whole) {
        k.data.set(src, at);
      } else if (Buffer.compare(src, k.data.subarray(at, at + src.length)) !== 0) {
        k.data.set(src, at);
        k.dirty[y - k.y] = 1;
      }
    }
  }

  /** The kept rows marked changed since the last frame, as whole-row patches, and the marks cleared. */
  private changedRows(k: KeptRows): Patch[] {
    const out: Patch[] = [];
    const row = this.width * 4;
    for (let i = 0; i < k.h; ) {
      if (!k.dirty[i]) {
        i++;
        continue;
      }
      const start = i;
      while (i < k.h && k.dirty[i]) i++;
      out.push({ x: 0, y: k.y + start, w: this.width, h: i - start, data: k.data, offset: start * row, stride: row });
    }
    k.dirty.fill(0);
    return out;
  }

  /** What to repaint for `m`: whole bands for a first frame, else the boxes whose key changed. */
  private plan(m: BoardModel): PaintJob | null {
    const regions = boardRegions(m, this.layout);
    const keys = new Map(regions.map((r) => [r.id, r.key]));
    const prev = this.keys;
    const dirty = prev ? regions.filter((r) => prev.get(r.id) !== r.key) : regions;
    if (dirty.length === 0) return null;
    if (prev === null) {
      const steps = this.bands.map((band) => ({ r: { x: 0, y: band.y, w: this.width, h: band.h }, top: band.y }));
      return { keys, steps };
    }
    // a whole part repainted covers its rows and tiles: those are not painted again
    const whole = new Set(dirty.filter((r) => r.id === r.part).map((r) => r.part));
    const steps = dirty
      .filter((r) => r.id === r.part || !whole.has(r.part))
      .map((region) => {
        const r = this.toDevice(region.box);
        const rows = region.item === undefined && this.aloneOnRows(region.part, r) ? this.fullRows(r) : r;
        return { r: rows, top: this.bandTop(rows), part: region.part, item: region.item };
      });
    return { keys, steps };
  }

  /** Draws a step's rectangle and returns it with its pixels: the canvas's stored pixels as they
   * are (`data()`: the board is opaque, so its premultiplied pixels are its pixels, and
   * getImageData()'s conversion back from premultiplied, and its buffer per call, cost a call ~0.5
   * ms, bench/display.ts). The window starts at the board's left edge and at the band's top. */
  private paintStep(m: BoardModel, step: PaintStep): Patch {
    const { r, top } = step;
    this.drawWindow(m, r, top, step.part, step.item);
    const stride = this.surface.width * 4;
    return { ...r, data: this.surface.canvas.data(), offset: (r.y - top) * stride + r.x * 4, stride };
  }

  /** No other part draws on the rows of `r` (a part's rectangle): then the part is repainted as
   * whole rows, the ground beside it included, and a sink writes them as one run. */
  private aloneOnRows(part: PartName, r: Rect): boolean {
    return PARTS.every((p) => {
      if (p === part) return true;
      const o = this.partRect(p);
      return o.y + o.h <= r.y || r.y + r.h <= o.y;
    });
  }

  private fullRows(r: Rect): Rect {
    return { x: 0, y: r.y, w: this.width, h: r.h };
  }

  /** A part's box in device pixels, with its margin, grown to whole pixels. */
  partRect(part: PartName): Rect {
    return this.toDevice(BOARD_LAYOUT[this.layout][part].box);
  }

  /** The top row of the band that holds `r` (a part's rectangle, or one inside it). */
  private bandTop(r: Rect): number {
    const band = this.bands.find((b) => b.y <= r.y && r.y + r.h <= b.y + b.h);
    if (!band) throw new Error(`board rectangle ${JSON.stringify(r)} crosses a band edge`);
    return band.y;
  }

  /** Draws the board's rectangle `r` (device pixels) on the scratch canvas, which shows the band
   * starting at row `top`, with everything clipped to it. A pixel is always drawn in its own
   * band's window: at a scaled size the offset changes a transform's last bit, and with it, now
   * and then, an antialiased pixel by one level; the same offset gives the same pixel. One
   * rectangle a pass: Skia antialiases edges under a single rectangle clip exactly as with no
   * clip, but not under a union of rectangles. */
  private drawWindow(m: BoardModel, r: Rect, top: number, only?: PartName, item?: number): void {
    this.surface.resize(r.y + r.h - top, r.x + r.w);
    const ctx = this.surface.ctx;
    ctx.save();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.beginPath();
    ctx.rect(r.x, r.y - top, r.w, r.h);
    ctx.clip();
    drawBoard(this.surface, m, this.layout, only, { x: 0, y: top, width: this.width, height: this.height }, item);
    ctx.restore();
  }

  private toDevice(c: Box): Rect {
    const ref = REFERENCE[this.layout];
    const k = Math.min(this.width / ref.width, this.height / ref.height);
    const ox = (this.width - ref.width * k) / 2;
    const oy = (this.height - ref.height * k) / 2;
    const x0 = Math.max(0, Math.floor(ox + (c.x - MARGIN) * k));
    const y0 = Math.max(0, Math.floor(oy + (c.y - MARGIN) * k));
    const x1 = Math.min(this.width, Math.ceil(ox + (c.x + c.w + MARGIN) * k));
    const y1 = Math.min(this.height, Math.ceil(oy + (c.y + c.h + MARGIN) * k));
    return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
  }
}

/** Full-width bands that cover rows 0..height, none taller than the tallest part, each edge
 * outside every part's rectangle (a row where only the ground is drawn, or a part's first row). */
export function wholeBands(parts: Rect[], height: number): Array<{ y: number; h: number }> {
  const limit = Math.max(1, ...parts.map((r) => r.h));
  // a cut inside a part moves up to where that part starts (it is no taller than the limit)
  const cut = (y: number): number => parts.find((r) => r.y < y && y < r.y + r.h)?.y ?? y;
  const bands: Array<{ y: number; h: number }> = [];
  for (let y = 0; y < height; ) {
    let end = Math.min(height, y + limit);
    if (end < height) end = cut(end);
    // parts overlapping each other could leave no room: then cut where the limit falls
    if (end <= y) end = Math.min(height, y + limit);
    bands.push({ y, h: end - y });
    y = end;
  }
  return bands;
}

/** The small display above one counter: its name, the number it serves, and its state. */
export function drawCounterDisplay(surface: Surface, m: BoardModel, counterId: string): void {
  const ref = REFERENCE.counter;
  const c = m.snapshot.counters.find((x) => x.id === counterId);
  const call = counterCall(m, counterId);
  const lit = call !== null && c?.ticket === call.ticket;
  const note = m.counterNotes?.[counterId];
  surface.drawScaled(ref.width, ref.height, (ctx) => {
    drawCounterBody(ctx, m, counterId, c, lit);
    // A satellite's word on the last key, or its lost link: a band over the foot of the display.
    if (note) {
      rect(ctx, 0, ref.height - 96, ref.width, 96, colors.text);
      text(ctx, note, ref.width / 2, ref.height - 28, {
        weight: 700,
        px: 56,
        color: colors.onAccent,
        align: 'center',
        maxWidth: ref.width - 40,
      });
    }
  });
}

function drawCounterBody(
  ctx: Ctx,
  m: BoardModel,
  counterId: string,
  c: BoardModel['snapshot']['counters'][number] | undefined,
  lit: boolean,
): void {
  const ref = REFERENCE.counter;
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
}
