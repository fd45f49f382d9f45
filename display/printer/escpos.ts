// ESC/POS bytes of a ticket: the bitmap as raster (GS v 0) then a feed and a cut, encoded by
// @point-of-sale/receipt-printer-encoder. Korean text is part of the bitmap, so printer code pages
// never matter. Also the status queries (DLE EOT n) and their answers.
import ReceiptPrinterEncoder from '@point-of-sale/receipt-printer-encoder';
import type { PrinterErrorCode } from '../../device/error-codes.ts';
import type { Frame, PaperState } from '../../device/ports/outputs.ts';

/** Flatten RGBA onto white: the encoder thresholds luminance and ignores alpha. */
function opaque(frame: Frame): Uint8ClampedArray {
  const out = new Uint8ClampedArray(frame.data.length);
  const d = frame.data;
  for (let i = 0; i < d.length; i += 4) {
    const a = d[i + 3]! / 255;
    out[i] = d[i]! * a + 255 * (1 - a);
    out[i + 1] = d[i + 1]! * a + 255 * (1 - a);
    out[i + 2] = d[i + 2]! * a + 255 * (1 - a);
    out[i + 3] = 255;
  }
  return out;
}

export function encodeTicket(image: Frame, widthDots: number): Uint8Array {
  if (image.width > widthDots) throw new RangeError(`ticket image is ${image.width} dots wide, the paper ${widthDots}`);
  // The encoder knows a few column counts only (font A is 12 dots wide); the image size is explicit.
  const columns = [48, 44, 42, 35, 32].find((c) => c * 12 <= widthDots) ?? 32;
  const encoder = new ReceiptPrinterEncoder({ language: 'esc-pos', imageMode: 'raster', columns, feedBeforeCut: 4 });
  // A plain object {data, width, height} is what the encoder accepts from Node (no DOM ImageData).
  const input = { data: opaque(image), width: image.width, height: image.height };
  return encoder
    .initialize()
    .align('center')
    .image(input, image.width, image.height, 'threshold', 128)
    .cut('partial')
    .encode();
}

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
