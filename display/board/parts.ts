// The queue's pieces of the wall board (the call, recent calls, services, counters), each drawn
// into a box; the header and footer are in chrome.ts. The layouts only arrange the boxes.
import type { CallSnapshot } from '../../device/queue/snapshot-types.ts';
import { type Box, type Ctx, arrow, closedIcon, fitPx, measure, pauseIcon, rect, strokeRect, text } from './draw.ts';
import { particleRoAfterName } from '../korean-particle.ts';
import { type BoardModel, closedReasonText, counterName, serviceName } from './model.ts';
import { DIGIT_HEIGHT, colors, type } from './theme.ts';
import { waitText } from '../wait-text.ts';

/** The newest call, large: "1035 → 3번 창구", highlighted while it is new. */
export function drawCallBand(ctx: Ctx, m: BoardModel, b: Box, stacked: boolean): void {
  // A closed office shows that it is closed, not the last call of the day.
  const call: CallSnapshot | null = m.snapshot.open ? (m.highlight ?? m.snapshot.recentCalls[0] ?? null) : null;
  const lit = m.snapshot.open && m.highlight !== null;
  const ink = lit ? colors.onAccent : colors.text;
  rect(ctx, b.x, b.y, b.w, b.h, lit ? colors.accent : colors.panel, 20);
  if (!lit) strokeRect(ctx, b.x, b.y, b.w, b.h, colors.panelLine, 3, 20);

  const pad = 40;
  const labelW = text(ctx, m.snapshot.open ? '지금 호출' : '안내', b.x + pad, b.y + pad + type.label * 0.9, {
    weight: 700,
    px: type.label,
    color: lit ? ink : colors.dim,
  });
  if (lit) {
    // The "new" badge says in words what the amber ground says in colour.
    const bw = measure(ctx, '새 호출', 700, type.label) + 40;
    const bx = stacked ? b.x + pad + labelW + 24 : b.x + pad;
    const by = stacked ? b.y + pad - type.label * 0.3 : b.y + pad + type.label * 1.3;
    rect(ctx, bx, by, bw, type.label * 1.5, colors.onAccent, 12);
    text(ctx, '새 호출', bx + bw / 2, by + type.label * 1.1, {
      weight: 700,
      px: type.label,
      color: colors.accent,
      align: 'center',
    });
  }
  if (!call) {
    const msg = m.snapshot.open ? '곧 호출을 시작합니다' : '지금은 업무 시간이 아닙니다';
    text(ctx, msg, b.x + b.w / 2, b.y + b.h / 2 + type.callCounter * 0.35, {
      weight: 700,
      px: type.callCounter * 0.7,
      color: colors.dim,
      align: 'center',
      maxWidth: b.w - 2 * pad,
    });
    return;
  }
  const svc = serviceName(m.snapshot, call.service);
  const counter = counterName(m.snapshot, call.counter);
  const numColor = lit ? ink : colors.accent;
  if (stacked) {
    const numBase = b.y + b.h * 0.66;
    const numPx = fitPx(ctx, call.ticket, 900, type.callNumber * 1.05, b.w - 2 * pad);
    text(ctx, call.ticket, b.x + b.w / 2, numBase, { weight: 900, px: numPx, color: numColor, align: 'center' });
    const line = `${counter.trim()}${particleRoAfterName(counter)} 오십시오`;
    text(ctx, line, b.x + b.w / 2, b.y + b.h - pad - 10, {
      weight: 700,
      px: type.callCounter * 0.8,
      color: ink,
      align: 'center',
      maxWidth: b.w - 2 * pad,
    });
    text(ctx, svc, b.x + b.w - pad, b.y + pad + type.label * 0.9, {
      weight: 400,
      px: type.label,
      color: lit ? ink : colors.dim,
      align: 'right',
      maxWidth: b.w / 2,
      minPx: type.label * 0.75,
    });
    return;
  }
  // One line: number, arrow, counter; shrunk together when a long counter name would overflow.
  const labelCol = 300;
  const avail = b.w - labelCol - pad;
  const gap = 50;
  const arrowLen = 150;
  let numPx: number = type.callNumber;
  let ctrPx: number = type.callCounter;
  const total = (): number =>
    measure(ctx, call.ticket, 900, numPx) + gap * 2 + arrowLen + measure(ctx, counter, 700, ctrPx);
  const w = total();
  if (w > avail) {
    const k = avail / w;
    numPx *= k;
    ctrPx *= k;
  }
  const startX = b.x + labelCol + (avail - total()) / 2;
  const base = b.y + b.h / 2 + (numPx * DIGIT_HEIGHT) / 2;
  const nw = text(ctx, call.ticket, startX, base, { weight: 900, px: numPx, color: numColor });
  const midY = base - (numPx * DIGIT_HEIGHT) / 2;
  arrow(ctx, startX + nw + gap, midY, arrowLen * (numPx / type.callNumber), 22 * (numPx / type.callNumber), ink);
  text(ctx, counter, startX + nw + gap * 2 + arrowLen * (numPx / type.callNumber), midY + ctrPx * 0.36, {
    weight: 700,
    px: ctrPx,
    color: ink,
  });
  text(ctx, svc, b.x + pad, b.y + b.h - pad, {
    weight: 400,
    px: type.label,
    color: lit ? ink : colors.dim,
    maxWidth: labelCol - pad,
    // a long service name keeps a legible size and is cut with an ellipsis (docs/display.md)
    minPx: type.label * 0.75,
  });
}

/** The calls before the newest one, newest first, each ticket once. */
export function drawRecent(ctx: Ctx, m: BoardModel, b: Box, rows: number): void {
  text(ctx, '최근 호출', b.x, b.y + type.label, { weight: 700, px: type.label, color: colors.dim });
  const newest = m.highlight?.ticket ?? m.snapshot.recentCalls[0]?.ticket;
  const seen = new Set<string>(newest ? [newest] : []);
  const list: CallSnapshot[] = [];
  for (const c of m.snapshot.open ? m.snapshot.recentCalls : []) {
    if (seen.has(c.ticket)) continue;
    seen.add(c.ticket);
    list.push(c);
    if (list.length === rows) break;
  }
  const top = b.y + type.label + 24;
  const rowH = (b.h - (top - b.y)) / rows;
  if (list.length === 0 && m.snapshot.open) {
    text(ctx, '이전 호출 없음', b.x + 30, top + rowH / 2 + type.serviceName * 0.36, {
      weight: 400,
      px: type.serviceName,
      color: colors.muted,
    });
  }
  list.forEach((c, i) => {
    const y = top + i * rowH;
    rect(ctx, b.x, y + 6, b.w, rowH - 12, i % 2 === 0 ? colors.panel : colors.ground, 12);
    const base = y + rowH / 2 + (type.recentNumber * DIGIT_HEIGHT) / 2;
    const numW = b.w * 0.42;
    text(ctx, c.ticket, b.x + 30, base, {
      weight: 900,
      px: type.recentNumber,
      color: colors.accent,
      maxWidth: numW - 40,
    });
    const midY = base - (type.recentNumber * DIGIT_HEIGHT) / 2;
    arrow(ctx, b.x + numW, midY, 70, 12, colors.dim);
    text(ctx, counterName(m.snapshot, c.counter), b.x + numW + 100, midY + type.recentCounter * 0.36, {
      weight: 700,
      px: type.recentCounter,
      color: colors.text,
      maxWidth: b.w - numW - 130,
    });
  });
}

/** Waiting people and the estimated wait of each service; cut-off shown in words. `only`: just
 * that row (the board repaints one row's box: the headings and the other rows draw nothing in it). */
export function drawServices(ctx: Ctx, m: BoardModel, b: Box, only?: number): void {
  const cols = { name: b.x + 24, waiting: b.x + b.w * 0.68, wait: b.x + b.w - 24 };
  if (only === undefined) {
    text(ctx, '대기 현황', b.x, b.y + type.label, { weight: 700, px: type.label, color: colors.dim });
    text(ctx, '대기', cols.waiting, b.y + type.label, {
      weight: 400,
      px: type.small,
      color: colors.dim,
      align: 'right',
    });
    text(ctx, '예상 대기', cols.wait, b.y + type.label, {
      weight: 400,
      px: type.small,
      color: colors.dim,
      align: 'right',
    });
  }
  const services = m.snapshot.services;
  const rows = serviceRows(b, services.length);
  const rowH = rows[0]?.h ?? 0;
  const scale = Math.min(1, rowH / 110);
  services.forEach((s, i) => {
    if (only !== undefined && i !== only) return;
    const y = rows[i]!.y;
    rect(ctx, b.x, y + 5, b.w, rowH - 10, colors.panel, 12);
    const base = y + rowH / 2 + (type.serviceFigure * scale * DIGIT_HEIGHT) / 2;
    const figure = `${s.waiting}명`;
    // The name's room ends where the count begins: 150 px holds "99명", but "150명" is wider and a
    // long name ran into it (the count is what the citizen reads there).
    const figureRoom = Math.max(150 * scale, measure(ctx, figure, 900, type.serviceFigure * scale) + 24 * scale);
    text(ctx, s.name, cols.name, base, {
      weight: 700,
      px: type.serviceName * scale,
      color: colors.text,
      maxWidth: cols.waiting - cols.name - figureRoom,
      minPx: type.serviceName * scale * 0.75,
    });
    text(ctx, figure, cols.waiting, base, {
      weight: 900,
      px: type.serviceFigure * scale,
      color: colors.accent,
      align: 'right',
    });
    if (s.accepting) {
      const wait = s.waiting === 0 ? '바로' : waitText(s.estimatedWaitMin);
      text(ctx, wait, cols.wait, base, {
        weight: 700,
        px: type.serviceFigure * scale * 0.85,
        color: colors.text,
        align: 'right',
      });
    } else {
      // Cut-off as an outlined word badge: readable without colour.
      const label = closedReasonText(s.closedReason);
      const px = type.serviceName * scale * 0.72;
      const bw = measure(ctx, label, 700, px) + 28;
      const bh = px * 1.5;
      const bx = cols.wait - bw;
      const by = y + (rowH - bh) / 2;
      strokeRect(ctx, bx, by, bw, bh, colors.text, 3, 10);
      text(ctx, label, bx + bw / 2, by + bh / 2 + px * 0.36, { weight: 700, px, color: colors.text, align: 'center' });
    }
  });
}

/** The rows of the services table: where drawServices draws each service, and what the board
 * repaints when only that service changed. */
export function serviceRows(b: Box, count: number): Box[] {
  const top = b.y + type.label + 24;
  const rowH = Math.min(120, (b.h - (top - b.y)) / Math.max(1, count));
  return Array.from({ length: count }, (_, i) => ({ x: b.x, y: top + i * rowH, w: b.w, h: rowH }));
}

/** The counters' tiles, side by side: drawn by drawCounters, repainted one at a time. */
export function counterTiles(b: Box, count: number): Box[] {
  const gap = 16;
  const tileW = (b.w - gap * (count - 1)) / count;
  return Array.from({ length: count }, (_, i) => ({ x: b.x + i * (tileW + gap), y: b.y, w: tileW, h: b.h }));
}

/** One tile per counter: the number it serves, or that it stepped away / closed. `only`: just
 * that tile (the board repaints one tile's box). */
export function drawCounters(ctx: Ctx, m: BoardModel, b: Box, only?: number): void {
  const list = m.snapshot.counters;
  if (list.length === 0) return;
  const tiles = counterTiles(b, list.length);
  const tileW = tiles[0]!.w;
  const px = Math.min(type.counterTile, b.h * 0.44);
  list.forEach((c, i) => {
    if (only !== undefined && i !== only) return;
    const x = tiles[i]!.x;
    const away = c.status === 'paused' || c.status === 'closed';
    rect(ctx, x, b.y, tileW, b.h, away ? colors.ground : colors.panel, 14);
    strokeRect(ctx, x, b.y, tileW, b.h, away ? colors.muted : colors.panelLine, 3, 14);
    text(ctx, c.name, x + tileW / 2, b.y + 10 + px * 0.7, {
      weight: 700,
      px: px * 0.72,
      color: colors.dim,
      align: 'center',
      maxWidth: tileW - 20,
    });
    const base = b.y + b.h - 12;
    if (c.status === 'paused' || c.status === 'closed') {
      const label = c.status === 'paused' ? '자리 비움' : '업무 종료';
      // Narrow tiles (many counters in portrait) keep the word and drop the mark.
      const iconW = tileW < 180 ? 0 : px * 0.8;
      const lpx = fitPx(ctx, label, 700, px * 0.85, tileW - iconW - 34);
      const gap = iconW > 0 ? 14 : 0;
      const lw = measure(ctx, label, 700, lpx);
      const x0 = x + (tileW - lw - iconW - gap) / 2;
      if (iconW > 0 && c.status === 'paused') pauseIcon(ctx, x0, base - px * 0.7, iconW, colors.text);
      else if (iconW > 0) closedIcon(ctx, x0 + iconW / 2, base - px * 0.32, iconW / 2, colors.text);
      text(ctx, label, x0 + iconW + gap, base, { weight: 700, px: lpx, color: colors.text });
    } else if (c.ticket) {
      text(ctx, c.ticket, x + tileW / 2, base, {
        weight: 900,
        px: px * 1.15,
        color: colors.accent,
        align: 'center',
        maxWidth: tileW - 20,
      });
    } else {
      text(ctx, '대기 중', x + tileW / 2, base, { weight: 400, px: px * 0.85, color: colors.dim, align: 'center' });
    }
  });
}
