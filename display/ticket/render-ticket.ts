// The printed ticket as a bitmap: office, service, the big number, people ahead, estimated wait,
// time issued, and the QR link. Black on white at the printer's width (576 dots = 80 mm paper at
// 203 dpi); the height follows the content. Drawn with the board's font, so Korean prints as-is
// whatever code pages the printer has.
import QRCode from 'qrcode';
import type { Frame } from '../../device/ports/outputs.ts';
import { type Ctx, fitPx, rect, text } from '../board/draw.ts';
import { Surface } from '../board/render.ts';
import { ticketWaitText } from '../wait-text.ts';

export interface TicketRenderInput {
  officeName: string;
  serviceName: string;
  number: string;
  ahead: number;
  estimatedWaitMin: number;
  /** ISO 8601 with the office's offset, e.g. 2026-11-26T10:42:05.123+09:00 */
  issuedAt: string;
  qrUrl: string;
  /** 교통약자 priority ticket */
  priority?: boolean;
  /** printable width in dots; default 576 */
  widthDots?: number;
}

const INK = '#000000';
const PAPER = '#FFFFFF';

/** "2026-11-26T10:42:05.123+09:00" -> "2026. 11. 26. 10:42" (the office's own wall time). */
export function issuedText(iso: string): string {
  const m = iso.match(/^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/);
  if (!m) return iso;
  return `${m[1]}. ${Number(m[2])}. ${Number(m[3])}. ${m[4]}:${m[5]} 발행`;
}

/** `k`: printer dots per layout unit (the layout is 576 units wide; 58 mm paper is 384 dots). */
function drawQr(ctx: Ctx, url: string, x: number, y: number, size: number, k: number): void {
  const qr = QRCode.create(url, { errorCorrectionLevel: 'M' });
  const n = qr.modules.size;
  const quiet = 4;
  // Whole printer dots per module, counted after the paper's scale: a fractional module blurs into
  // grey on a thermal head (7 layout units were 4.67 dots on 58 mm paper).
  const mod = Math.max(1, Math.floor((size * k) / (n + quiet * 2))) / k;
  const total = mod * (n + quiet * 2);
  const ox = Math.round((x + (size - total) / 2) * k) / k + quiet * mod;
  const oy = Math.round((y + (size - total) / 2) * k) / k + quiet * mod;
  ctx.fillStyle = INK;
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) if (qr.modules.get(r, c)) ctx.fillRect(ox + c * mod, oy + r * mod, mod, mod);
  }
}

export function renderTicket(input: TicketRenderInput): Frame {
  const w = input.widthDots ?? 576;
  const k = w / 576;
  const h = Math.round(1000 * k);
  const s = new Surface(w, h);
  const ctx = s.ctx;
  ctx.setTransform(k, 0, 0, k, 0, 0);
  rect(ctx, 0, 0, 576, 1000, PAPER);
  const mid = 288;
  const full = 576 - 48;
  text(ctx, input.officeName, mid, 54, { weight: 700, px: 34, color: INK, align: 'center', maxWidth: full });
  rect(ctx, 24, 78, 528, 4, INK);
  const svc = input.priority ? `${input.serviceName} (교통약자 우선)` : input.serviceName;
  text(ctx, svc, mid, 140, { weight: 700, px: 44, color: INK, align: 'center', maxWidth: full });
  text(ctx, '번호표', mid, 190, { weight: 400, px: 30, color: INK, align: 'center' });
  const numPx = fitPx(ctx, input.number, 900, 210, full);
  text(ctx, input.number, mid, 372, { weight: 900, px: numPx, color: INK, align: 'center' });
  // People ahead and the wait, in a framed row under the number.
  ctx.strokeStyle = INK;
  ctx.lineWidth = 3;
  ctx.strokeRect(24, 408, 528, 96);
  ctx.fillRect(288 - 1.5, 420, 3, 72);
  text(ctx, '앞 대기', 156, 444, { weight: 400, px: 26, color: INK, align: 'center' });
  text(ctx, `${input.ahead}명`, 156, 488, { weight: 900, px: 40, color: INK, align: 'center' });
  text(ctx, '예상 대기', 420, 444, { weight: 400, px: 26, color: INK, align: 'center' });
  const wait = ticketWaitText(input.estimatedWaitMin);
  // its half of the frame: "약 23시간 59분" at 40 px ran into the divider
  text(ctx, wait, 420, 488, { weight: 900, px: 40, color: INK, align: 'center', maxWidth: 240 });
  text(ctx, issuedText(input.issuedAt), mid, 550, { weight: 400, px: 28, color: INK, align: 'center' });
  drawQr(ctx, input.qrUrl, mid - 150, 570, 300, k);
  text(ctx, '휴대폰으로 찍으면 순서를 알려 드립니다', mid, 904, {
    weight: 400,
    px: 26,
    color: INK,
    align: 'center',
    maxWidth: full,
  });
  text(ctx, '번호를 부르면 해당 창구로 와 주세요', mid, 950, {
    weight: 700,
    px: 28,
    color: INK,
    align: 'center',
    maxWidth: full,
  });
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  return s.frame();
}
