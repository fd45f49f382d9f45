// RGBA frames (what canvas gives) to the byte layouts of Linux framebuffers. Pure functions over
// typed arrays, so the conversion and the stride handling are tested without a device.
import type { Frame } from '../../device/ports/outputs.ts';

/** bgra: 32-bit XRGB8888 as it sits in little-endian memory (B, G, R, X): the Pi's and most PCs'.
 * rgba: 32-bit XBGR8888. rgb565: 16-bit, little-endian, R in the high 5 bits. */
export type PixelFormat = 'bgra' | 'rgba' | 'rgb565';

export function bytesPerPixel(format: PixelFormat): 2 | 4 {
  return format === 'rgb565' ? 2 : 4;
}

/** Convert rows [y0, y1) of an RGBA frame into `dst`, whose rows are `stride` bytes apart (a
 * framebuffer's line length can exceed width * bytes-per-pixel: padding bytes are left alone);
 * only columns [x0, x1) when given. */
export function convertRows(
  frame: Frame,
  format: PixelFormat,
  dst: Uint8Array,
  stride: number,
  y0 = 0,
  y1 = frame.height,
  x0 = 0,
  x1 = frame.width,
): void {
  const { width, data } = frame;
  const bpp = bytesPerPixel(format);
  if (stride < width * bpp)
    throw new RangeError(`stride ${stride} is smaller than a row of ${width} pixels at ${bpp} bytes`);
  const src32 = new Uint32Array(data.buffer, data.byteOffset, (data.byteLength / 4) | 0);
  for (let y = y0; y < y1; y++) {
    const s = y * width;
    const d = y * stride;
    if (format === 'rgb565' && (dst.byteOffset + d) % 2 === 0) {
      // Aligned: one 16-bit word per pixel from one 32-bit read (0xAABBGGRR on little endian).
      const out = new Uint16Array(dst.buffer, dst.byteOffset + d, width);
      for (let x = x0; x < x1; x++) {
        const v = src32[s + x]!;
        out[x] = ((v & 0xf8) << 8) | ((v >>> 5) & 0x07e0) | ((v >>> 19) & 0x1f);
      }
    } else if (format === 'rgb565') {
      for (let x = x0; x < x1; x++) {
        const i = (s + x) * 4;
        const v = ((data[i]! & 0xf8) << 8) | ((data[i + 1]! & 0xfc) << 3) | (data[i + 2]! >> 3);
        dst[d + x * 2] = v & 0xff;
        dst[d + x * 2 + 1] = v >> 8;
      }
    } else if ((dst.byteOffset + d) % 4 === 0) {
      // Aligned: one 32-bit word per pixel. RGBA in memory reads as 0xAABBGGRR on little endian.
      const out = new Uint32Array(dst.buffer, dst.byteOffset + d, width);
      if (format === 'rgba') {
        for (let x = x0; x < x1; x++) out[x] = src32[s + x]! | 0xff000000;
      } else {
        for (let x = x0; x < x1; x++) {
          const v = src32[s + x]!;
          out[x] = (v & 0x0000ff00) | ((v & 0xff) << 16) | ((v >>> 16) & 0xff) | 0xff000000;
        }
      }
    } else {
      for (let x = x0; x < x1; x++) {
        const i = (s + x) * 4;
        const o = d + x * 4;
        const swap = format === 'bgra';
        dst[o] = data[swap ? i + 2 : i]!;
        dst[o + 1] = data[i + 1]!;
        dst[o + 2] = data[swap ? i : i + 2]!;
        dst[o + 3] = 0xff;
      }
    }
  }
}

/** Runs of consecutive rows that differ between two converted buffers: [first, end) pairs. */
export function changedRowRuns(
  prev: Uint8Array | null,
  next: Uint8Array,
  stride: number,
  height: number,
): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  let start = -1;
  for (let y = 0; y < height; y++) {
    const a = y * stride;
    const differs = prev === null || Buffer.compare(prev.subarray(a, a + stride), next.subarray(a, a + stride)) !== 0;
    if (differs && start < 0) start = y;
    if (!differs && start >= 0) {
      runs.push([start, y]);
      start = -1;
    }
  }
  if (start >= 0) runs.push([start, height]);
  return runs;
}

/** Decode a converted buffer back to RGBA: for tests and for reading a framebuffer dump. */
export function toRgba(
  buf: Uint8Array,
  width: number,
  height: number,
  stride: number,
  format: PixelFormat,
): Uint8Array {
  const out = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      if (format === 'rgb565') {
        const v = buf[y * stride + x * 2]! | (buf[y * stride + x * 2 + 1]! << 8);
        out[o] = ((v >> 11) & 0x1f) << 3;
        out[o + 1] = ((v >> 5) & 0x3f) << 2;
        out[o + 2] = (v & 0x1f) << 3;
      } else {
        const i = y * stride + x * 4;
        out[o] = buf[format === 'bgra' ? i + 2 : i]!;
        out[o + 1] = buf[i + 1]!;
        out[o + 2] = buf[format === 'bgra' ? i : i + 2]!;
      }
      out[o + 3] = 255;
    }
  }
  return out;
}
