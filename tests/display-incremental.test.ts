// The board repaints only the parts that changed (BoardPainter) and hands its sinks only those boxes
// with their pixels (patches), keeping no picture of the whole board: the picture they make, frame
// after frame, must equal a full redraw of the same model, pixel for pixel, and the framebuffer must
// hold exactly what a full write would have put there.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Frame, PatchFrame } from '../device/ports/outputs.ts';
import type { BoardModel } from '../display/board/model.ts';
import {
  BoardPainter,
  type BoardLayout,
  drawBoard,
  PARTS,
  prepareRenderer,
  REFERENCE,
  Surface,
  sideBySideRows,
  wholeBands,
} from '../display/board/render.ts';
import { FramebufferSink } from '../display/sinks/framebuffer.ts';
import { WholeFrame } from '../display/sinks/patches.ts';
import { PngSink } from '../display/sinks/png.ts';
import { convertRows } from '../display/sinks/pixels.ts';
import { closedModel, FIXED_NOW, morningModel } from '../bench/lib/board-morning.ts';

beforeAll(async () => {
  await prepareRenderer();
});

/** A morning that touches every part of the board, one change at a time. */
function day(): Array<[string, BoardModel]> {
  const steps: Array<[string, BoardModel]> = [];
  let m = morningModel();
  const step = (what: string, change: (m: BoardModel) => BoardModel): void => {
    m = change(structuredClone(m));
    steps.push([what, m]);
  };
  steps.push(['first frame', m]);
  step('the highlight runs out', (x) => ({ ...x, highlight: null }));
  step('a ticket is issued', (x) => {
    x.snapshot.services[1]!.waiting++;
    x.snapshot.services[1]!.lastIssued = '2013';
    return x;
  });
  step('a call', (x) => {
    const call = { ticket: '1036', service: 'resident', counter: '1', at: '2026-11-26T10:42:30.000+09:00' };
    x.snapshot.recentCalls = [call, ...x.snapshot.recentCalls];
    x.snapshot.counters[0]!.ticket = '1036';
    x.snapshot.services[0]!.waiting--;
    return { ...x, highlight: call };
  });
  step('the clock turns a minute', (x) => ({ ...x, now: FIXED_NOW + 60_000 }));
  step('a counter steps away', (x) => {
    x.snapshot.counters[1]!.status = 'paused';
    x.snapshot.counters[1]!.ticket = null;
    return x;
  });
  step('a new notice', (x) => {
    x.snapshot.notice = '여권 접수는 2층 민원실에서 합니다. 신분증을 준비해 주십시오.';
    return x;
  });
  step('the printer runs out of paper', (x) => ({ ...x, alert: '용지 없음 — 직원에게 문의하세요' }));
  step('the link to central drops', (x) => ({ ...x, online: false }));
  step('a counter is renamed (names show in the call and the recent calls)', (x) => {
    x.snapshot.counters[0]!.name = '1번 창구 (민원)';
    return x;
  });
  step('a service reaches its cut-off', (x) => {
    x.snapshot.services[0]!.accepting = false;
    x.snapshot.services[0]!.closedReason = 'cutoff';
    return { ...x, alert: null };
  });
  step('closing time', () => closedModel());
  step('the next morning', () => morningModel({ now: FIXED_NOW + 86_400_000 }));
  return steps;
}

function fullFrame(width: number, height: number, m: BoardModel, layout: BoardLayout): Frame {
  const s = new Surface(width, height);
  drawBoard(s, m, layout);
  return s.frame();
}

/** The rows a change covers, counted once each. */
function rowsOf(f: PatchFrame): number {
  const rows = new Set<number>();
  for (const p of f.patches) for (let y = p.y; y < p.y + p.h; y++) rows.add(y);
  return rows.size;
}

/** A first frame: full-width bands, top to bottom, covering the screen once. */
function coversScreen(f: PatchFrame): boolean {
  let y = 0;
  for (const p of f.patches) {
    if (p.x !== 0 || p.w !== f.width || p.y !== y) return false;
    y += p.h;
  }
  return y === f.height;
}

function samePixels(a: Frame, b: Frame): number {
  const x = Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength);
  const y = Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength);
  if (x.equals(y)) return 0;
  let diff = 0;
  for (let i = 0; i < x.length; i += 4) if (x.readUInt32LE(i) !== y.readUInt32LE(i)) diff++;
  return diff;
}

/** Pixels that differ, and the largest difference of a channel. */
function pixelDiff(a: Frame, b: Frame): { pixels: number; level: number } {
  let pixels = 0;
  let level = 0;
  for (let i = 0; i < a.data.length; i += 4) {
    let d = 0;
    for (let c = 0; c < 4; c++) d = Math.max(d, Math.abs(a.data[i + c]! - b.data[i + c]!));
    if (d > 0) pixels++;
    level = Math.max(level, d);
  }
  return { pixels, level };
}

describe('an incremental board frame equals a full redraw', () => {
  // scaled sizes: how far the painter's bands may differ from one canvas (levels of 255, pixels)
  const sizes: Array<[BoardLayout, number, number, { level: number; pixels: number }?]> = [
    ['landscape', 1920, 1080],
    ['portrait', 1080, 1920],
    // not the reference size: the cells fall on fractional pixels
    ['landscape', 1280, 720, { level: 1, pixels: 10 }],
    // a 4K television (measured: 11-14 levels at 2-3 pixels, in the glyphs drawn as paths)
    ['landscape', 3840, 2160, { level: 16, pixels: 10 }],
    // a 1366x768 panel turned upright (measured: 6 levels at 16 pixels)
    ['portrait', 768, 1366, { level: 8, pixels: 32 }],
  ];
  for (const [layout, w, h, bound] of sizes) {
    it(`${layout} ${w}x${h}, through a whole day`, () => {
      const painter = new BoardPainter(w, h, layout);
      // the picture a sink makes of the patches it is given, frame after frame
      const wall = new WholeFrame();
      const atReference = w === REFERENCE[layout].width && h === REFERENCE[layout].height;
      for (const [what, m] of day()) {
        const change = painter.paint(m);
        expect(change, what).not.toBeNull();
        const frame = wall.update(change!);
        // a painter that never saw the day paints the same state whole
        const first = new BoardPainter(w, h, layout).paint(m)!;
        expect(coversScreen(first), what).toBe(true);
        const fresh = new WholeFrame().update(first);
        expect(samePixels(frame, fresh), `pixels differing from a whole paint after "${what}"`).toBe(0);
        const oneCanvas = fullFrame(w, h, m, layout);
        if (atReference) {
          expect(samePixels(frame, oneCanvas), `pixels differing from one canvas after "${what}"`).toBe(0);
        } else {
          // scaled: the painter's band windows shift the transform by whole pixels, which may change
          // its last bit and with it an antialiased pixel by one level (docs/display.md)
          const d = pixelDiff(frame, oneCanvas);
          expect(d.level, `largest difference from one canvas after "${what}"`).toBeLessThanOrEqual(bound!.level);
          expect(d.pixels, `pixels differing from one canvas after "${what}"`).toBeLessThanOrEqual(bound!.pixels);
        }
      }
    });
  }

  it('repaints only the parts that changed, and nothing when nothing did', () => {
    const painter = new BoardPainter(1920, 1080, 'landscape');
    const m = morningModel();
    expect(coversScreen(painter.paint(m)!)).toBe(true);
    expect(painter.paint(structuredClone(m))).toBeNull();
    // a service row's key changes with what the board does not draw (the last number issued):
    // repainted, compared with the rows kept, and nothing handed on
    const unseen = structuredClone(m);
    unseen.snapshot.services[1]!.lastIssued = '2999';
    expect(painter.paint(unseen)).toBeNull();
    const tick = painter.paint({ ...m, now: FIXED_NOW + 60_000 })!;
    // the header's rows, alone on them: whole rows, ground and all
    const header = painter.partRect('header');
    expect(tick.patches).toEqual([expect.objectContaining({ x: 0, y: header.y, w: 1920, h: header.h })]);
    expect(rowsOf(tick)).toBeLessThan(130);
    // a second within the same minute changes nothing on the wall
    expect(painter.paint({ ...m, now: FIXED_NOW + 61_000 })).toBeNull();
    // a ticket changes one waiting count: one row of the services table, right half of the board,
    // handed on as the whole rows of it that changed, from the rows the painter keeps
    const issued = structuredClone({ ...m, now: FIXED_NOW + 61_000 });
    issued.snapshot.services[1]!.waiting++;
    const row = painter.paint(issued)!;
    const services = painter.partRect('services');
    expect(rowsOf(row)).toBeGreaterThan(0);
    expect(rowsOf(row)).toBeLessThan(90);
    for (const p of row.patches) {
      expect(p).toMatchObject({ x: 0, w: 1920 });
      expect(p.y).toBeGreaterThanOrEqual(services.y);
      expect(p.y + p.h).toBeLessThanOrEqual(services.y + services.h);
    }
    // the window was cut to the row's box (from its band's top), not left as tall as the band
    const bottom = Math.max(...row.patches.map((p) => p.y + p.h));
    expect(painter.surface.height).toBeLessThan(services.h);
    expect(services.y + painter.surface.height).toBeGreaterThanOrEqual(bottom);
  });

  it('hands on whole rows: a part alone on its rows as drawn, a box beside another from the rows it keeps', () => {
    const painter = new BoardPainter(1920, 1080, 'landscape');
    const m = morningModel();
    painter.paint(m);
    const call = { ticket: '1036', service: 'resident', counter: '1', at: '2026-11-26T10:42:30.000+09:00' };
    const next = structuredClone(m);
    next.snapshot.recentCalls = [call, ...next.snapshot.recentCalls];
    const f = painter.paint({ ...next, highlight: call })!;
    const band = painter.partRect('call');
    const recent = painter.partRect('recent');
    // the call band: the ground on either side of its box is repainted with it, as whole rows
    expect(band.x).toBeGreaterThan(0);
    expect(f.patches).toContainEqual(expect.objectContaining({ x: 0, y: band.y, w: 1920, h: band.h }));
    // the recent calls share their rows with the services table: the rows of theirs that changed
    expect(f.patches.every((p) => p.x === 0 && p.w === 1920)).toBe(true);
    const recentRows = f.patches.filter((p) => p.y >= recent.y && p.y + p.h <= recent.y + recent.h);
    expect(recentRows.length).toBeGreaterThan(0);
    // every row handed on is the screen's row, the services beside the recent calls included
    const whole = new WholeFrame().update(
      new BoardPainter(1920, 1080, 'landscape').paint({ ...next, highlight: call })!,
    );
    for (const p of f.patches) {
      for (let y = 0; y < p.h; y++) {
        const got = Buffer.from(p.data.buffer, p.data.byteOffset + p.offset + y * p.stride, p.w * 4);
        const want = Buffer.from(whole.data.buffer, ((p.y + y) * 1920 + p.x) * 4, p.w * 4);
        if (!got.equals(want)) expect.fail(`row ${p.y + y} of the patch at ${p.x},${p.y}`);
      }
    }
  });

  it('keeps only the rows where boxes sit side by side, well under the whole board', () => {
    for (const [layout, w, h] of [
      ['landscape', 1920, 1080],
      ['portrait', 1080, 1920],
    ] as const) {
      const painter = new BoardPainter(w, h, layout);
      const rects = PARTS.map((p) => ({ part: p, r: painter.partRect(p) }));
      const kept = sideBySideRows(rects);
      // the services table and the counter tiles, and the recent calls beside the services
      for (const part of ['services', 'counters'] as const) {
        const r = painter.partRect(part);
        expect(
          kept.some((k) => k.y <= r.y && r.y + r.h <= k.y + k.h),
          `${layout}: ${part}`,
        ).toBe(true);
      }
      for (const part of ['header', 'call', 'footer'] as const) {
        const r = painter.partRect(part);
        expect(
          kept.some((k) => r.y < k.y + k.h && k.y < r.y + r.h),
          `${layout}: ${part}`,
        ).toBe(false);
      }
      expect(kept.reduce((a, k) => a + k.h, 0)).toBeLessThan(h / 2);
    }
  });

  it('draws on a window no taller than the tallest part, in bands that never cut a part', () => {
    for (const [layout, w, h] of [
      ['landscape', 1920, 1080],
      ['portrait', 1080, 1920],
      ['landscape', 1280, 720],
      ['landscape', 3840, 2160],
    ] as const) {
      const painter = new BoardPainter(w, h, layout);
      const parts = PARTS.map((p) => painter.partRect(p));
      const tallest = Math.max(...parts.map((r) => r.h));
      // the canvas binding's cost of a read-back grows with the canvas: never one of the whole board
      expect(painter.surface.width).toBeLessThanOrEqual(w);
      expect(painter.surface.height).toBeLessThanOrEqual(tallest);
      const bands = wholeBands(parts, h);
      let y = 0;
      for (const b of bands) {
        expect(b.y).toBe(y);
        expect(b.h).toBeGreaterThan(0);
        expect(b.h).toBeLessThanOrEqual(tallest);
        y += b.h;
        for (const r of parts)
          expect(r.y < b.y && b.y < r.y + r.h, `${layout} ${w}x${h}: band at ${b.y} cuts a part`).toBe(false);
      }
      expect(y).toBe(h);
    }
    // a band is ended early rather than cut a part: here a plain split at 100 would cut the second
    expect(
      wholeBands(
        [
          { x: 0, y: 10, w: 5, h: 60 },
          { x: 0, y: 80, w: 5, h: 100 },
        ],
        300,
      ),
    ).toEqual([
      { y: 0, h: 80 },
      { y: 80, h: 100 },
      { y: 180, h: 100 },
      { y: 280, h: 20 },
    ]);
  });

  it('cuts the window at the right edge of the box it repaints, never at its left', () => {
    const painter = new BoardPainter(1920, 1080, 'landscape');
    const m = morningModel();
    painter.paint(m);
    // the recent calls, left half: a window as wide as the box's right edge, not the board's
    const calls = structuredClone(m);
    calls.snapshot.recentCalls[1]!.counter = '1';
    const recent = painter.partRect('recent');
    const f = painter.paint(calls)!;
    expect(f.patches.every((p) => p.y >= recent.y && p.y + p.h <= recent.y + recent.h)).toBe(true);
    expect(painter.surface.width).toBe(recent.x + recent.w);
    expect(painter.surface.width).toBeLessThan(1920 / 2);
    // a shape moved sideways is antialiased differently: the window always starts at column 0, so
    // a repaint's pixels are the full paint's (the day's tests above compare them)
    expect(recent.x).toBeGreaterThan(0);
  });

  it('paints everything again after invalidate() (a sink that lost its pixels)', () => {
    const painter = new BoardPainter(1920, 1080, 'landscape');
    const m = morningModel();
    painter.paint(m);
    painter.invalidate();
    expect(coversScreen(painter.paint(m)!)).toBe(true);
  });
});

describe("the simulator's PNG sink keeps the whole picture", () => {
  it('its file after each change of the day equals a full redraw of the same state', async () => {
    const { PNG } = await import('pngjs');
    const dir = mkdtempSync(join(tmpdir(), 'beonho-png-incr-'));
    try {
      const file = join(dir, 'board.png');
      const sink = new PngSink(file);
      await sink.open();
      const painter = new BoardPainter(1920, 1080, 'landscape');
      for (const [what, m] of day().slice(0, 5)) {
        await sink.write(painter.paint(m)!);
        const png = PNG.sync.read(readFileSync(file));
        const want = fullFrame(1920, 1080, m, 'landscape');
        const got: Frame = { width: png.width, height: png.height, data: png.data };
        expect(samePixels(got, want), `pixels of board.png differing from a full redraw after "${what}"`).toBe(0);
      }
      await sink.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the framebuffer writes only the patches, and holds the full frame', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'beonho-fb-incr-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  // padded lines, as some drivers have (converted pixel by pixel), and packed ones, the Pi's (32-bit
  // rows copied and byte-swapped whole: packRows)
  const cases = [
    { format: 'bgra', pad: 64 },
    { format: 'bgra', pad: 0 },
    { format: 'rgba', pad: 0 },
    { format: 'rgb565', pad: 64 },
  ] as const;
  for (const { format, pad } of cases) {
    it(`${format}, ${pad ? 'padded' : 'packed'} lines: every frame of the day, written from its patches, equals a full conversion`, async () => {
      const W = 1920;
      const H = 1080;
      const bpp = format === 'rgb565' ? 2 : 4;
      const stride = W * bpp + pad;
      const sysfs = join(dir, `${format}-${pad}`, 'graphics');
      const dev = join(dir, `${format}-${pad}`, 'fb0');
      mkdirSync(join(sysfs, 'fb0'), { recursive: true });
      writeFileSync(join(sysfs, 'fb0', 'virtual_size'), `${W},${H}\n`);
      writeFileSync(join(sysfs, 'fb0', 'bits_per_pixel'), `${bpp * 8}\n`);
      writeFileSync(join(sysfs, 'fb0', 'stride'), `${stride}\n`);
      writeFileSync(dev, Buffer.alloc(stride * H));
      const sink = new FramebufferSink({
        device: dev,
        sysfsRoot: sysfs,
        pixelOrder: format === 'rgba' ? 'rgba' : 'bgra',
        logger: pino({ level: 'silent' }),
      });
      await sink.open();
      try {
        const painter = new BoardPainter(W, H, 'landscape');
        let rows = 0;
        for (const [what, m] of day()) {
          const frame = painter.paint(m)!;
          const before = sink.health().rowsWritten as number;
          await sink.write(frame);
          rows = (sink.health().rowsWritten as number) - before;
          const want = Buffer.alloc(stride * H);
          convertRows(fullFrame(W, H, m, 'landscape'), format, want, stride);
          const got = readFileSync(dev);
          // padding bytes are the device's; compare the pixels of each line
          for (let y = 0; y < H; y++) {
            const a = got.subarray(y * stride, y * stride + W * bpp);
            const b = want.subarray(y * stride, y * stride + W * bpp);
            if (!a.equals(b)) expect.fail(`row ${y} differs after "${what}"`);
          }
        }
        // the last step (a new morning) changes the whole board; a clock tick only the header's rows
        const tick = painter.paint({ ...morningModel({ now: FIXED_NOW + 86_400_000 }), now: FIXED_NOW + 86_460_000 })!;
        const before = sink.health().rowsWritten as number;
        await sink.write(tick);
        const tickRows = (sink.health().rowsWritten as number) - before;
        expect(tickRows).toBeGreaterThan(0);
        expect(tickRows).toBeLessThan(130);
        expect(rows).toBeGreaterThan(0);
      } finally {
        await sink.close();
      }
    });
  }
});
