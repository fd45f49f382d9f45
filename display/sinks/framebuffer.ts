// The Linux framebuffer (/dev/fbN) as a display sink: geometry, line length and depth come from
// sysfs (/sys/class/graphics/fbN), frames are converted to the device's pixel format, and only what
// changed is written: the wall board's patches (a clock tick rewrites the header's ~120 of 1080
// rows), or the rows of a whole frame (a counter display) that differ from the last one.
// The wall board's sink also owns the virtual terminal shown on its screen (vt-console.ts): graphics
// mode while it is open, text mode again when it closes or fails to open.
import { writeSync } from 'node:fs';
import { type FileHandle, open, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Logger } from 'pino';
import type { DisplayErrorCode } from '../../device/error-codes.ts';
import type { ComponentHealth } from '../../device/ports/health.ts';
import type { DisplaySink, Frame, PatchFrame } from '../../device/ports/outputs.ts';
import { checkPatches, isPatchFrame, patchRow } from './patches.ts';
import { type RedBlueSwapper, simdSwapper } from './swap-red-blue.ts';
import { type PixelFormat, bytesPerPixel, changedRowRuns, convertRows } from './pixels.ts';
import type { VtConsole } from './vt-console.ts';

export interface FramebufferOptions {
  /** e.g. /dev/fb0 */
  device: string;
  /** e.g. /sys/class/graphics; tests point it at a fake tree */
  sysfsRoot: string;
  /** order of 32-bit pixels (sysfs does not tell it) */
  pixelOrder: 'bgra' | 'rgba';
  logger: Logger;
  /** the VT whose console draws on this framebuffer; null for a screen without one (fb1…) */
  console?: VtConsole | null;
}

export interface FbGeometry {
  width: number;
  height: number;
  /** bytes from one row to the next */
  stride: number;
  bitsPerPixel: number;
  format: PixelFormat;
}

export class DisplayError extends Error {
  constructor(
    readonly code: DisplayErrorCode,
    message: string,
  ) {
    super(message);
  }
}

async function sysfs(dir: string, name: string): Promise<string | null> {
  try {
    return (await readFile(join(dir, name), 'utf8')).trim();
  } catch {
    return null;
  }
}

/** Read a framebuffer's geometry from sysfs. The visible mode ("U:1920x1080p-0" in `modes`) wins
 * over `virtual_size`, which is taller when the driver double-buffers. */
export async function readFbGeometry(
  sysfsRoot: string,
  device: string,
  pixelOrder: 'bgra' | 'rgba',
): Promise<FbGeometry> {
  const dir = join(sysfsRoot, basename(device));
  const virt = await sysfs(dir, 'virtual_size');
  const bppText = await sysfs(dir, 'bits_per_pixel');
  if (virt === null || bppText === null) {
    throw new DisplayError(
      'display-fb-sysfs',
      `cannot read ${dir}/virtual_size or bits_per_pixel: is ${device} a framebuffer (is the display connected and the driver loaded)?`,
    );
  }
  let [width, height] = virt.split(',').map(Number) as [number, number];
  // `mode` is the mode shown; `modes` lists every mode the driver knows (a USB display's EDID
  // gives several), so its first line is only a guess, and a mode larger than the virtual screen
  // cannot be the one shown.
  const current = (await sysfs(dir, 'mode')) || (await sysfs(dir, 'modes'))?.split('\n')[0];
  const mode = current?.match(/(\d+)x(\d+)/);
  if (mode && Number(mode[1]) <= width && Number(mode[2]) <= height) {
    width = Number(mode[1]);
    height = Number(mode[2]);
  }
  const bitsPerPixel = Number(bppText);
  let format: PixelFormat;
  if (bitsPerPixel === 16) format = 'rgb565';
  else if (bitsPerPixel === 32) format = pixelOrder;
  else {
    throw new DisplayError(
      'display-fb-format',
      `${device} uses ${bitsPerPixel} bits per pixel; only 16 (RGB565) and 32 are supported: on a Pi with KMS (Pi OS Bookworm) add video=HDMI-A-1:${width}x${height}M-32@60 to the one line of /boot/firmware/cmdline.txt (HDMI-A-2 for the second HDMI port) and reboot; framebuffer_depth=32 in config.txt applies only without KMS`,
    );
  }
  const strideText = await sysfs(dir, 'stride');
  const stride = strideText ? Number(strideText) : width * bytesPerPixel(format);
  if (!(width > 0 && height > 0 && stride >= width * bytesPerPixel(format))) {
    throw new DisplayError(
      'display-fb-sysfs',
      `${dir} reports an impossible geometry ${width}x${height}, stride ${stride}`,
    );
  }
  return { width, height, stride, bitsPerPixel, format };
}

/** Rows of a patch converted and written at a time. */
const WRITE_ROWS = 64;

export class FramebufferSink implements DisplaySink {
  readonly kind = 'framebuffer';
  private fh: FileHandle | null = null;
  private geo: FbGeometry | null = null;
  /** the last whole frame, to find the rows a whole frame changed */
  private prev: Uint8Array | null = null;
  /** the device's bytes, for whole frames (allocated on first use) */
  private buf: Uint8Array | null = null;
  /** rows converted for writePatches(), kept between frames: a fresh buffer each frame is a new
   * mapping whose pages fault in again */
  private scratch: Uint8Array | null = null;
  private state: ComponentHealth & { frames: number; rowsWritten: number } = {
    connected: false,
    lastError: null,
    lastErrorAt: null,
    frames: 0,
    rowsWritten: 0,
  };

  /** a write failed (the device gone: a USB or SPI display unplugged, its driver reloaded): the
   * descriptor is dropped and the next frame opens the device again */
  private lost = false;

  constructor(private readonly opts: FramebufferOptions) {}

  async open(): Promise<void> {
    const vt = this.opts.console;
    if (vt) {
      // Before the first frame: text drawn after it would stay until the next full repaint.
      const r = await vt.enterGraphics();
      this.state.console = r.ok ? 'graphics' : 'text';
      if (!r.ok) {
        this.state.lastError = r.code;
        this.state.lastErrorAt = new Date().toISOString();
      }
    }
    try {
      this.geo = await readFbGeometry(this.opts.sysfsRoot, this.opts.device, this.opts.pixelOrder);
      this.fh = await open(this.opts.device, 'r+');
    } catch (err) {
      // A board that cannot draw must not leave the console dark: the installer reads it.
      await vt?.restoreText();
      if (vt) this.state.console = 'text';
      const e =
        err instanceof DisplayError
          ? err
          : new DisplayError(
              'display-fb-open',
              `cannot open ${this.opts.device} (${(err as Error).message}): run as a member of the video group`,
            );
      this.fail(e);
      throw e;
    }
    this.buf = null;
    this.prev = null;
    this.state.connected = true;
    this.opts.logger.info({ device: this.opts.device, ...this.geo }, 'framebuffer opened');
  }

  /** The size frames must have; known after open(). */
  geometry(): FbGeometry | null {
    return this.geo;
  }

  async write(frame: Frame | PatchFrame): Promise<void> {
    // The board repaints in full after a failed write, so this frame covers the whole screen.
    if (this.lost) await this.reopen();
    const { fh, geo } = this;
    if (!fh || !geo) throw new DisplayError('display-fb-closed', 'framebuffer sink written before open()');
    if (frame.width !== geo.width || frame.height !== geo.height) {
      throw new DisplayError(
        'display-frame-size',
        `frame ${frame.width}x${frame.height} does not match ${this.opts.device} ${geo.width}x${geo.height}`,
      );
    }
    if (isPatchFrame(frame)) {
      try {
        this.writePatches(frame, fh, geo);
      } catch (err) {
        if ((err as DisplayError).code === 'display-fb-write') await this.drop(fh);
        throw err;
      }
      return;
    }
    // Canvas hands out a Uint8ClampedArray; compare and copy through a plain byte view.
    const rgba = new Uint8Array(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength);
    const runs = changedRowRuns(this.prev, rgba, frame.width * 4, frame.height);
    this.buf ??= new Uint8Array(geo.stride * geo.height);
    const buf = this.buf;
    try {
      for (const [y0, y1] of runs) {
        const simd = geo.format === 'bgra' && geo.stride === frame.width * 4 ? bgrxSwapper() : null;
        if (simd) {
          const row = geo.stride;
          for (let y = y0; y < y1; y += WRITE_ROWS) {
            const end = Math.min(y1, y + WRITE_ROWS);
            buf.set(simd.pack(rgba.subarray(y * row, end * row)), y * row);
          }
        } else {
          convertRows(frame, geo.format, buf, geo.stride, y0, y1);
        }
        const start = y0 * geo.stride;
        const len = (y1 - y0) * geo.stride;
        await fh.write(buf, start, len, start);
        this.state.rowsWritten += y1 - y0;
      }
    } catch (err) {
      const e = new DisplayError('display-fb-write', `writing ${this.opts.device} failed: ${(err as Error).message}`);
      this.prev = null; // the device may hold half a frame: repaint all of the next one
      this.fail(e);
      await this.drop(fh);
      throw e;
    }
    if (!this.prev || this.prev.length !== rgba.length) this.prev = new Uint8Array(rgba.length);
    this.prev.set(rgba);
    this.state.frames++;
  }

  /** Converts and writes each patch's rows, keeping no copy of the screen: whole rows (a patch as
   * wide as the screen) a few at a time, a narrower patch row by row, each row where it goes.
   * Written synchronously: a framebuffer is memory, a write is a copy into it (~1 ms for a call's
   * rows), and the thread pool's round trip for each write cost more than the copy
   * (bench/display.ts: p50 6.2 -> 4.6 ms, when a call took 9 writes). */
  private writePatches(frame: PatchFrame, fh: FileHandle, geo: FbGeometry): void {
    try {
      checkPatches(frame);
    } catch (err) {
      throw new DisplayError('display-frame-size', (err as Error).message);
    }
    // a later whole frame must not be compared with a copy that these writes made stale
    this.prev = null;
    const bpp = bytesPerPixel(geo.format);
    // one byte more than the rows: the byte-swapping path of packRows writes from offset 1. Made
    // only for a path that uses it (the SIMD conversion has its own memory), then kept.
    const size = geo.stride * Math.min(WRITE_ROWS, frame.height) + 4;
    const scratch = (): Uint8Array => {
      if (this.scratch?.length !== size) this.scratch = new Uint8Array(size);
      return this.scratch;
    };
    const packed = geo.format === 'rgb565' ? null : geo.format;
    try {
      for (const p of frame.patches) {
        if (p.x === 0 && p.w === frame.width && p.stride === p.w * 4) {
          for (let y = 0; y < p.h; y += WRITE_ROWS) {
            const n = Math.min(WRITE_ROWS, p.h - y);
            const at = (p.y + y) * geo.stride;
            const rows = new Uint8Array(p.data.buffer, p.data.byteOffset + p.offset + y * p.stride, n * p.stride);
            if (packed && geo.stride === p.stride) {
              writeSync(fh.fd, pack(rows, packed, scratch), 0, rows.length, at);
            } else {
              const out = scratch();
              convertRows({ width: p.w, height: n, data: aligned(rows) }, geo.format, out, geo.stride);
              writeSync(fh.fd, out, 0, n * geo.stride, at);
            }
          }
        } else {
          for (let row = 0; row < p.h; row++) {
            const src = patchRow(p, row);
            const at = (p.y + row) * geo.stride + p.x * bpp;
            if (packed) {
              writeSync(fh.fd, pack(src, packed, scratch), 0, src.length, at);
            } else {
              const out = scratch();
              convertRows({ width: p.w, height: 1, data: aligned(src) }, geo.format, out, p.w * bpp);
              writeSync(fh.fd, out, 0, p.w * bpp, at);
            }
          }
        }
        this.state.rowsWritten += p.h;
      }
    } catch (err) {
      const e = new DisplayError('display-fb-write', `writing ${this.opts.device} failed: ${(err as Error).message}`);
      this.fail(e);
      throw e;
    }
    this.state.frames++;
  }

  /** The descriptor of a device that failed a write: a device that went away and came back is a
   * new one, which this descriptor would never reach. */
  private async drop(fh: FileHandle): Promise<void> {
    this.lost = true;
    this.fh = null;
    this.state.connected = false;
    await fh.close().catch(() => {});
  }

  /** Opens the device again after a failed write, with its geometry read anew (a display plugged
   * back in may have another mode). Logged once when it comes back, not at every failed try. */
  private async reopen(): Promise<void> {
    let geo: FbGeometry;
    let fh: FileHandle;
    try {
      geo = await readFbGeometry(this.opts.sysfsRoot, this.opts.device, this.opts.pixelOrder);
      fh = await open(this.opts.device, 'r+');
    } catch (err) {
      throw new DisplayError(
        'display-fb-write',
        `${this.opts.device} is still unavailable since a write failed: ${(err as Error).message}`,
      );
    }
    this.lost = false;
    this.fh = fh;
    this.geo = geo;
    this.buf = null;
    this.prev = null;
    this.state.connected = true;
    this.opts.logger.info({ device: this.opts.device, ...geo }, 'framebuffer back');
  }

  async close(): Promise<void> {
    this.lost = false;
    try {
      await this.fh?.close();
    } finally {
      this.fh = null;
      this.state.connected = false;
      if (this.opts.console?.inGraphics) {
        await this.opts.console.restoreText();
        this.state.console = 'text';
      }
    }
  }

  health(): ComponentHealth {
    return { ...this.state };
  }

  private fail(e: DisplayError): void {
    this.state.lastError = e.code;
    this.state.lastErrorAt = new Date().toISOString();
    this.opts.logger.error({ code: e.code, device: this.opts.device }, e.message);
  }
}

/** The WebAssembly SIMD swapper, made at the first frame that needs it (null: none on this CPU or
 * node, and swap32 it is). */
let swapper: RedBlueSwapper | null | undefined;

function bgrxSwapper(): RedBlueSwapper | null {
  if (swapper === undefined) swapper = simdSwapper();
  return swapper;
}

/** RGBA rows as a 32-bit framebuffer's bytes, valid until the next call: for `bgra`, four pixels at
 * a time with SIMD where there is SIMD (display/sinks/swap-red-blue.ts), else packRows. */
function pack(rgba: Uint8Array, format: 'bgra' | 'rgba', scratch: () => Uint8Array): Uint8Array {
  const simd = format === 'bgra' ? bgrxSwapper() : null;
  return simd ? simd.pack(rgba) : packRows(rgba, format, scratch());
}

/**
 * RGBA rows as a 32-bit framebuffer's bytes, without a loop over the pixels in JavaScript (~1.5 ms
 * for the million pixels of a call): `rgba` (XBGR8888) is the bytes as they are; `bgra`
 * (XRGB8888) is Buffer#swap32 (native), which turns each R,G,B,A into A,B,G,R, read one byte
 * later: B,G,R and then the next pixel's A. That 4th byte is X, which the display ignores (on
 * the board's opaque frames it is 255, as convertRows writes it). Returns the bytes to write.
 */
export function packRows(rgba: Uint8Array, format: 'bgra' | 'rgba', scratch: Uint8Array): Uint8Array {
  const n = rgba.length;
  if (scratch.length < n + 1) throw new RangeError(`scratch of ${scratch.length} bytes for ${n} bytes of rows`);
  scratch.set(rgba, 0);
  if (format === 'rgba') return scratch.subarray(0, n);
  Buffer.from(scratch.buffer, scratch.byteOffset, n).swap32();
  scratch[n] = 0xff;
  return scratch.subarray(1, n + 1);
}

/** `bytes` on a 4-byte boundary (convertRows reads pixels as 32-bit words): as it is, or copied. */
function aligned(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
}
