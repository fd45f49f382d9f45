// The frame around the queue's pieces: header (office name, date, clock) and footer (notice or
// alert, link mark).
import { type Box, type Ctx, linkMark, measure, rect, text, textLines, warnIcon } from './draw.ts';
import { type BoardModel, clockTexts } from './model.ts';
import { DIGIT_HEIGHT, colors, type } from './theme.ts';

export function drawHeader(ctx: Ctx, m: BoardModel, b: Box, twoLine = false): void {
  rect(ctx, b.x, b.y, b.w, b.h, colors.header);
  const base = b.y + b.h / 2 + (type.clock * DIGIT_HEIGHT) / 2;
  const clock = clockTexts(m.now, m.timeZone);
  const timeW = text(ctx, clock.time, b.x + b.w - 48, base, {
    weight: 700,
    px: type.clock,
    color: colors.text,
    align: 'right',
  });
  const nameRoom = b.w - 48 * 2 - timeW - 60;
  if (twoLine) {
    // Portrait: the name on top, the date under it, both left of the clock.
    const top = b.y + b.h * 0.2;
    text(ctx, m.snapshot.name, b.x + 48, top + type.header * 0.85, {
      weight: 700,
      px: type.header,
      color: colors.text,
      maxWidth: nameRoom,
      minPx: type.header * 0.75,
    });
    text(ctx, clock.date, b.x + 48, top + type.header * 0.85 + type.label * 1.25, {
      weight: 400,
      px: type.label,
      color: colors.dim,
    });
    return;
  }
  const dateW = measure(ctx, clock.date, 400, type.label) + 28;
  // A long office name keeps its size; the date gives way first.
  const showDate = measure(ctx, m.snapshot.name, 700, type.header) <= nameRoom - dateW;
  if (showDate) {
    text(ctx, clock.date, b.x + b.w - 48 - timeW - 28, base, {
      weight: 400,
      px: type.label,
      color: colors.dim,
      align: 'right',
    });
  }
  text(ctx, m.snapshot.name, b.x + 48, base, {
    weight: 700,
    px: type.header,
    color: colors.text,
    maxWidth: showDate ? nameRoom - dateW : nameRoom,
    minPx: type.header * 0.75,
  });
}

/** The notice line, replaced by an alert when there is one, and the link mark. */
export function drawFooter(ctx: Ctx, m: BoardModel, b: Box): void {
  const markW = m.online === null ? 0 : 280;
  if (m.alert) {
    rect(ctx, b.x, b.y, b.w, b.h, colors.accent);
    const px = Math.min(type.notice * 1.1, b.h * 0.6);
    warnIcon(ctx, b.x + 40 + px / 2, b.y + b.h / 2, px * 1.1, colors.onAccent, colors.accent);
    textLines(
      ctx,
      m.alert,
      b.x + 70 + px,
      b.y + b.h / 2,
      { weight: 900, px, color: colors.onAccent, maxWidth: b.w - 110 - px - markW, minPx: Math.min(px * 0.75, 40) },
      b.h,
    );
  } else {
    rect(ctx, b.x, b.y, b.w, b.h, colors.header);
    if (m.snapshot.notice) {
      textLines(
        ctx,
        m.snapshot.notice,
        b.x + 48,
        b.y + b.h / 2,
        { weight: 700, px: type.notice, color: colors.text, maxWidth: b.w - 96 - markW, minPx: type.notice * 0.75 },
        b.h,
      );
    }
  }
  if (m.online !== null) {
    const ink = m.alert ? colors.onAccent : colors.dim;
    const label = m.online ? '중앙 연결' : '오프라인 운영';
    const r = type.small * 0.32;
    const cy = b.y + b.h / 2;
    const right = b.x + b.w - 40;
    const lw = measure(ctx, label, 400, type.small);
    linkMark(ctx, right - lw - 2 * r - 12, cy, m.online, r, ink);
    text(ctx, label, right, cy + type.small * 0.36, { weight: 400, px: type.small, color: ink, align: 'right' });
  }
}
