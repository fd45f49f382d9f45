// ESC/POS bytes of a ticket: the bitmap as raster (GS v 0) then a feed and a cut, encoded by
// @point-of-sale/receipt-printer-encoder. Korean text is part of the bitmap, so printer code pages
// never matter. Also the status queries (DLE EOT n) and their answers.
import ReceiptPrinterEncoder from '@point-of-sale/receipt-printer-encoder';
import type { PrinterErrorCode } from '../../device/error-codes.ts';
import type { Frame, PaperState } from '../../device/ports/outputs.ts';

/** Rows a GS v 0 command carries: the encoder's limit, which printers with small buffers need. */
const RASTER_BAND_ROWS = 255;
/** A pixel prints (a black dot) when its luminance, flattened onto white paper, is below this. */
const THRESHOLD = 128;

/**
 * The ticket as GS v 0 raster commands, bands of up to 255 rows, one bit a dot (set: black). The
 * same bytes as the encoder's `image(…, 'threshold', 128)` (tests/display-printer.test.ts checks
 * it), made in one pass into one buffer: the encoder copies the 2.3 MB of RGBA several times and
 * builds its output in plain arrays, tens of megabytes of garbage a ticket on a 512 MB board.
 * Most of a ticket is paper: a row of white is skipped by one native comparison, and in the other
 * rows opaque white and opaque black pixels are told from one 32-bit read; only the rest
 * (antialiased edges, translucency) is weighed channel by channel. Four byte reads and a weighted
 * sum for each of the 576,000 pixels cost 2.1 ms a ticket here once V8 had optimised the loop and
 * 23 ms before (a Pi's first tickets after a start, or node without its optimising compiler);
 * now 0.95 and 8.7 ms. Comparing 32-pixel stretches natively within a row cost more than it saved.
 */
export function rasterCommands(image: Frame): Uint8Array {
  const { width, height, data } = image;
  // the encoder pads both sides to whole bytes of dots (8); padding is white
  const w = Math.ceil(width / 8) * 8;
  const h = Math.ceil(height / 8) * 8;
  const rowBytes = w / 8;
  const bands = Math.ceil(h / RASTER_BAND_ROWS);
  const out = new Uint8Array(bands * 8 + rowBytes * h);
  // a view of the pixels as words, where their bytes allow one (a frame from the canvas does)
  const words = data.byteOffset % 4 === 0 ? new Uint32Array(data.buffer, data.byteOffset, width * height) : null;
  // a row of white paper is skipped whole by one native comparison
  const bytes = Buffer.from(data.buffer, data.byteOffset, width * height * 4);
  const paperRow = Buffer.alloc(width * 4, 0xff);
  let at = 0;
  for (let y0 = 0; y0 < h; y0 += RASTER_BAND_ROWS) {
    const rows = Math.min(RASTER_BAND_ROWS, h - y0);
    out.set([0x1d, 0x76, 0x30, 0, rowBytes & 0xff, rowBytes >> 8, rows & 0xff, rows >> 8], at);
    at += 8;
    for (let y = y0; y < y0 + rows; y++, at += rowBytes) {
      if (y >= height || paperRow.compare(bytes, y * width * 4, (y + 1) * width * 4) === 0) continue;
      for (let x = 0, p = y * width; x < width; x++, p++) {
        if (words) {
          const word = words[p]!;
          if (word === WHITE) continue;
          if (word === BLACK) {
            out[at + (x >> 3)]! |= 0x80 >> (x & 7);
            continue;
          }
        }
        if (isDark(data, p * 4)) out[at + (x >> 3)]! |= 0x80 >> (x & 7);
      }
    }
  }
  return out;
}

/** Opaque white and opaque black RGBA as a word in this machine's byte order. */
const WHITE = 0xffffffff;
const BLACK = new Uint32Array(Uint8Array.of(0, 0, 0, 255).buffer)[0]!;

/** Whether the pixel at byte `i` prints: its luminance, flattened onto white paper, below the
 * threshold. */
function isDark(data: Frame['data'], i: number): boolean {
  let r = data[i]!;
  let g = data[i + 1]!;
  let b = data[i + 2]!;
  const a = data[i + 3]!;
  if (a !== 255) {
    // composited onto white paper, each channel rounded to a byte first, as the encoder does
    const paper = (255 - a) * 255;
    r = Math.round((a * r + paper) / 255);
    g = Math.round((a * g + paper) / 255);
    b = Math.round((a * b + paper) / 255);
  }
  // ITU-R 601 luminance, the encoder's
  return 0.299 * r + 0.587 * g + 0.114 * b < THRESHOLD;
}

export function encodeTicket(image: Frame, widthDots: number): Uint8Array {
  if (image.width > widthDots) throw new RangeError(`ticket image is ${image.width} dots wide, the paper ${widthDots}`);
  // The encoder knows a few column counts only (font A is 12 dots wide).
  const columns = [48, 44, 42, 35, 32].find((c) => c * 12 <= widthDots) ?? 32;
  const encoder = new ReceiptPrinterEncoder({ language: 'esc-pos', imageMode: 'raster', columns, feedBeforeCut: 4 });
  // The commands around the image are the encoder's; the image's bytes are ours (rasterCommands),
  // laid out as the encoder's image() lays out its own: centred, then a line feed and left again.
  const head = encoder.initialize().encode();
  const tail = new ReceiptPrinterEncoder({ language: 'esc-pos', columns, feedBeforeCut: 4 }).cut('partial').encode();
  const raster = rasterCommands(image);
  const parts = [head, ESC_ALIGN_CENTER, raster, NEWLINE, ESC_ALIGN_LEFT, tail];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const ESC_ALIGN_CENTER = Uint8Array.of(0x1b, 0x61, 1);
const ESC_ALIGN_LEFT = Uint8Array.of(0x1b, 0x61, 0);
/** the encoder's newline ("\n\r") */
const NEWLINE = Uint8Array.of(0x0a, 0x0d);

/** DLE EOT n: real-time status. 1 printer, 2 offline cause, 4 roll paper sensor. */
export const STATUS_QUERY = {
  printer: [0x10, 0x04, 0x01],
  offline: [0x10, 0x04, 0x02],
  paper: [0x10, 0x04, 0x04],
} as const;

/** Every status byte has bit 1 set, bit 4 set, bits 0 and 7 clear (ESC/POS application note). */
export function isStatusByte(b: number): boolean {
  return (b & 0b10010011) === 0b00010010;
}

export interface DecodedStatus {
  online: boolean;
  paper: PaperState;
  coverOpen: boolean;
  error: PrinterErrorCode | null;
}

/** Decode the answers to DLE EOT 1, 2 and 4 (null when the printer did not answer one). */
export function decodeStatus(printer: number | null, offline: number | null, paper: number | null): DecodedStatus {
  if (printer === null || !isStatusByte(printer)) {
    return { online: false, paper: 'unknown', coverOpen: false, error: 'printer-no-answer' };
  }
  const isOffline = (printer & 0x08) !== 0;
  const coverOpen = offline !== null && isStatusByte(offline) && (offline & 0x04) !== 0;
  const mechError = offline !== null && isStatusByte(offline) && (offline & 0x40) !== 0;
  let paperState: PaperState = 'unknown';
  if (paper !== null && isStatusByte(paper)) {
    if ((paper & 0x60) === 0x60) paperState = 'out';
    else if ((paper & 0x0c) === 0x0c) paperState = 'near-end';
    else paperState = 'ok';
  }
  // The "paper end stopped printing" bit of DLE EOT 2 means out even when sensor 4 is absent.
  if (offline !== null && isStatusByte(offline) && (offline & 0x20) !== 0) paperState = 'out';
  let error: PrinterErrorCode | null = null;
  if (paperState === 'out') error = 'printer-paper-out';
  else if (coverOpen) error = 'printer-cover-open';
  else if (mechError) error = 'printer-error';
  else if (isOffline) error = 'printer-offline';
  return { online: !isOffline, paper: paperState, coverOpen, error };
}
