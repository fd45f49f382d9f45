import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Frame } from '../device/ports/outputs.ts';
import { Surface, drawCounterDisplay, prepareRenderer } from '../display/board/render.ts';
import { FramebufferSink, packRows, readFbGeometry } from '../display/sinks/framebuffer.ts';
import { changedRowRuns, convertRows, toRgba } from '../display/sinks/pixels.ts';
import { simdSwapper, swapModuleBytes } from '../display/sinks/swap-red-blue.ts';
import { morningModel } from '../bench/lib/board-morning.ts';

const logger = pino({ level: 'silent' });

function solid(width: number, height: number, rgba: [number, number, number, number]): Frame {
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < data.length; i += 4) data.set(rgba, i);
  return { width, height, data };
}

describe('pixel conversion', () => {
  it('RGB565 packs 5-6-5 little-endian', () => {
    const f = solid(2, 1, [0xff, 0x80, 0x10, 255]);
    const out = new Uint8Array(4);
    convertRows(f, 'rgb565', out, 4);
    const v = 0b11111_100000_00010; // r=31, g=0x80>>2=32, b=0x10>>3=2
    expect([...out]).toEqual([v & 0xff, v >> 8, v & 0xff, v >> 8]);
  });

  it('BGRA swaps red and blue, RGBA keeps the order; alpha becomes opaque', () => {
    const f = solid(1, 1, [1, 2, 3, 0]);
    const bgra = new Uint8Array(4);
    convertRows(f, 'bgra', bgra, 4);
    expect([...bgra]).toEqual([3, 2, 1, 255]);
    const rgba = new Uint8Array(4);
    convertRows(f, 'rgba', rgba, 4);
    expect([...rgba]).toEqual([1, 2, 3, 255]);
  });

  it('packs opaque rows as convertRows does, byte for byte, with one byte of scratch to spare', () => {
    const data = new Uint8Array(5 * 3 * 4);
    for (let i = 0; i < data.length; i++) data[i] = i % 4 === 3 ? 255 : (i * 37) & 0xff;
    const frame = { width: 5, height: 3, data };
    for (const format of ['bgra', 'rgba'] as const) {
      const want = new Uint8Array(data.length);
      convertRows(frame, format, want, 5 * 4);
      const scratch = new Uint8Array(data.length + 1);
      expect([...packRows(data, format, scratch)]).toEqual([...want]);
    }
    expect(() => packRows(data, 'bgra', new Uint8Array(data.length))).toThrow(RangeError);
  });

  it("the SIMD swapper gives convertRows' bytes exactly, for any length and alignment, a few rows or many", () => {
    const simd = simdSwapper();
    // node 20+ on x64 and arm64 has WebAssembly SIMD: the board's framebuffer takes this path
    expect(simd).not.toBeNull();
    for (const pixels of [1, 3, 4, 5, 17, 1920 * 70]) {
      const data = new Uint8Array(pixels * 4 + 1);
      for (let i = 0; i < data.length; i++) data[i] = (i * 131 + 7) & 0xff;
      // from offset 1: a view that is not on a 4-byte boundary (the swapper copies it in)
      const rgba = data.subarray(1);
      const want = new Uint8Array(pixels * 4);
      convertRows({ width: pixels, height: 1, data: rgba.slice() }, 'bgra', want, pixels * 4);
      const got = simd!.pack(rgba);
      expect(got.length).toBe(pixels * 4);
      expect(Buffer.compare(Buffer.from(got), Buffer.from(want)), `${pixels} pixels`).toBe(0);
    }
  });

  it('without WebAssembly SIMD the swapper is not there, and the framebuffer keeps to swap32', () => {
    expect(simdSwapper(null)).toBeNull();
    const noSimd = { ...WebAssembly, validate: () => false } as unknown as typeof WebAssembly;
    expect(simdSwapper(noSimd)).toBeNull();
    // the module is valid WebAssembly (with SIMD) as made
    expect(WebAssembly.validate(swapModuleBytes())).toBe(true);
  });

  it('honours a stride wider than the row and leaves the padding alone', () => {
    const f = solid(3, 2, [10, 20, 30, 255]);
    const stride = 16; // 12 bytes of pixels + 4 of padding
    const out = new Uint8Array(stride * 2).fill(0xee);
    convertRows(f, 'bgra', out, stride);
    expect([...out.subarray(12, 16)]).toEqual([0xee, 0xee, 0xee, 0xee]);
    expect([...out.subarray(16, 20)]).toEqual([30, 20, 10, 255]);
    expect([...toRgba(out, 3, 2, stride, 'bgra').subarray(0, 4)]).toEqual([10, 20, 30, 255]);
  });

  it('the unaligned path gives the same bytes as the aligned one', () => {
    const f = solid(5, 1, [200, 100, 50, 255]);
    const aligned = new Uint8Array(20);
    convertRows(f, 'bgra', aligned, 20);
    const backing = new Uint8Array(21);
    const unaligned = backing.subarray(1);
    convertRows(f, 'bgra', unaligned, 20);
    expect([...unaligned]).toEqual([...aligned]);
  });

  it("RGB565: the word-at-a-time path (aligned rows) gives the byte loop's bytes, for every channel value, odd widths and strides", () => {
    // every value of each channel, so each bit of the 5-6-5 packing is exercised
    const width = 257;
    const data = new Uint8Array(width * 3 * 4);
    for (let i = 0; i < data.length; i++) data[i] = (i * 97 + (i >> 2)) & 0xff;
    for (let v = 0; v < 256; v++) data.set([v, 255 - v, (v * 7) & 0xff, v], v * 4);
    const f = { width, height: 3, data };
    for (const stride of [width * 2, width * 2 + 2, width * 2 + 1]) {
      const aligned = new Uint8Array(stride * 3);
      convertRows(f, 'rgb565', aligned, stride);
      const unaligned = new Uint8Array(stride * 3 + 1).subarray(1);
      convertRows(f, 'rgb565', unaligned, stride);
      expect(Buffer.compare(Buffer.from(aligned), Buffer.from(unaligned)), `stride ${stride}`).toBe(0);
      for (let x = 0; x < width; x++) {
        const i = x * 4;
        const want = ((data[i]! & 0xf8) << 8) | ((data[i + 1]! & 0xfc) << 3) | (data[i + 2]! >> 3);
        expect(aligned[x * 2]! | (aligned[x * 2 + 1]! << 8)).toBe(want);
      }
    }
  });

  it('refuses a stride smaller than a row', () => {
    expect(() => convertRows(solid(4, 1, [0, 0, 0, 255]), 'bgra', new Uint8Array(64), 8)).toThrow(RangeError);
  });

  it('finds runs of changed rows', () => {
    const a = new Uint8Array(4 * 6);
    const b = a.slice();
    b[4 * 1] = 1;
    b[4 * 2] = 1;
    b[4 * 5] = 1;
    expect(changedRowRuns(a, b, 4, 6)).toEqual([
      [1, 3],
      [5, 6],
    ]);
    expect(changedRowRuns(null, b, 4, 6)).toEqual([[0, 6]]);
    expect(changedRowRuns(b, b, 4, 6)).toEqual([]);
  });
});

describe('framebuffer sink against a fake /dev/fb0 and sysfs', () => {
  let dir: string;
  let sysfs: string;
  let dev: string;

  function fakeFb(attrs: Record<string, string>, bytes: number): void {
    mkdirSync(join(sysfs, 'fb0'), { recursive: true });
    for (const [k, v] of Object.entries(attrs)) writeFileSync(join(sysfs, 'fb0', k), `${v}\n`);
    writeFileSync(dev, Buffer.alloc(bytes, 0xee));
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'beonho-fb-'));
    sysfs = join(dir, 'sys', 'class', 'graphics');
    dev = join(dir, 'fb0');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads geometry: the visible mode wins over a double-buffered virtual size', async () => {
    fakeFb({ virtual_size: '640,960', bits_per_pixel: '32', stride: '2624', modes: 'U:640x480p-60' }, 2624 * 960);
    expect(await readFbGeometry(sysfs, dev, 'bgra')).toEqual({
      width: 640,
      height: 480,
      stride: 2624,
      bitsPerPixel: 32,
      format: 'bgra',
    });
  });

  it('takes the mode shown (mode) over the list of modes, and never a mode larger than the virtual screen', async () => {
    // a USB display lists every mode of its EDID, the largest first, and shows another
    fakeFb(
      { virtual_size: '1280,720', bits_per_pixel: '32', stride: '5120', modes: 'U:1920x1080p-60\nU:1280x720p-60' },
      16,
    );
    expect(await readFbGeometry(sysfs, dev, 'bgra')).toMatchObject({ width: 1280, height: 720, stride: 5120 });
    fakeFb(
      {
        virtual_size: '1280,1440',
        bits_per_pixel: '32',
        stride: '5120',
        mode: 'U:1280x720p-60',
        modes: 'U:1024x768p-60\nU:1280x720p-60',
      },
      16,
    );
    expect(await readFbGeometry(sysfs, dev, 'bgra')).toMatchObject({ width: 1280, height: 720 });
  });

  it('falls back to width x bytes when sysfs has no stride; 16 bpp is RGB565', async () => {
    fakeFb({ virtual_size: '320,240', bits_per_pixel: '16' }, 320 * 240 * 2);
    expect(await readFbGeometry(sysfs, dev, 'bgra')).toMatchObject({ stride: 640, format: 'rgb565' });
  });

  it('refuses 24 bpp and a missing sysfs entry with stable codes', async () => {
    fakeFb({ virtual_size: '320,240', bits_per_pixel: '24' }, 10);
    await expect(readFbGeometry(sysfs, dev, 'bgra')).rejects.toMatchObject({ code: 'display-fb-format' });
    await expect(readFbGeometry(sysfs, join(dir, 'fb7'), 'bgra')).rejects.toMatchObject({ code: 'display-fb-sysfs' });
  });

  it("tells how to get 32 bpp under the Pi's KMS driver (the kernel command line), not config.txt's framebuffer_depth, which KMS ignores", async () => {
    fakeFb({ virtual_size: '1920,1080', bits_per_pixel: '24', modes: 'U:1920x1080p-60' }, 10);
    const err = (await readFbGeometry(sysfs, dev, 'bgra').catch((e: Error) => e)) as Error;
    expect(err).toMatchObject({ code: 'display-fb-format' });
    expect(err.message).toContain('video=HDMI-A-1:1920x1080M-32@60');
    expect(err.message).toContain('cmdline.txt');
    expect(err.message).not.toMatch(/set framebuffer_depth=32 in the Pi's config.txt$/);
  });

  it('writes a 32-bit frame at the device stride, then only the rows that changed', async () => {
    const width = 8;
    const height = 6;
    const stride = 40; // 32 bytes of pixels, 8 of padding
    fakeFb({ virtual_size: `${width},${height}`, bits_per_pixel: '32', stride: String(stride) }, stride * height);
    const sink = new FramebufferSink({ device: dev, sysfsRoot: sysfs, pixelOrder: 'bgra', logger });
    await sink.open();
    const f = solid(width, height, [0x11, 0x22, 0x33, 255]);
    await sink.write(f);
    let bytes = readFileSync(dev);
    expect([...bytes.subarray(0, 4)]).toEqual([0x33, 0x22, 0x11, 255]);
    // Whole lines are written in one go (padding included, invisible past the visible width).
    expect([...bytes.subarray(40, 44)]).toEqual([0x33, 0x22, 0x11, 255]);
    expect(toRgba(bytes, width, height, stride, 'bgra')).toEqual(
      Uint8Array.from(f.data.map((v, i) => (i % 4 === 3 ? 255 : v))),
    );
    expect(sink.health().rowsWritten).toBe(height);

    // Change row 4 only; scribble on row 1 of the "device" to prove row 1 is not rewritten.
    const g = { ...f, data: f.data.slice() };
    g.data.set([0xaa, 0xbb, 0xcc, 255], (4 * width + 2) * 4);
    const fd = readFileSync(dev);
    fd[stride * 1] = 0x99;
    writeFileSync(dev, fd);
    await sink.write(g);
    bytes = readFileSync(dev);
    expect(sink.health().rowsWritten).toBe(height + 1);
    expect([...bytes.subarray(4 * stride + 8, 4 * stride + 12)]).toEqual([0xcc, 0xbb, 0xaa, 255]);
    expect(bytes[stride]).toBe(0x99);

    // The same frame again writes nothing.
    await sink.write(g);
    expect(sink.health().rowsWritten).toBe(height + 1);
    await sink.close();
  });

  it('writes a whole frame of packed lines, taller than a batch of rows, as convertRows would', async () => {
    const width = 1920;
    const height = 150;
    fakeFb({ virtual_size: `${width},${height}`, bits_per_pixel: '32', stride: String(width * 4) }, width * 4 * height);
    const sink = new FramebufferSink({ device: dev, sysfsRoot: sysfs, pixelOrder: 'bgra', logger });
    await sink.open();
    const data = new Uint8Array(width * height * 4);
    for (let i = 0; i < data.length; i++) data[i] = (i * 29 + (i >> 13)) & 0xff;
    const frame = { width, height, data };
    await sink.write(frame);
    const want = new Uint8Array(width * 4 * height);
    convertRows(frame, 'bgra', want, width * 4);
    expect(Buffer.compare(readFileSync(dev), Buffer.from(want))).toBe(0);
    await sink.close();
  });

  it('writes RGB565 for a 16-bit framebuffer', async () => {
    fakeFb({ virtual_size: '4,2', bits_per_pixel: '16' }, 16);
    const sink = new FramebufferSink({ device: dev, sysfsRoot: sysfs, pixelOrder: 'bgra', logger });
    await sink.open();
    await sink.write(solid(4, 2, [0, 0, 0xff, 255]));
    const bytes = readFileSync(dev);
    expect([...bytes.subarray(0, 2)]).toEqual([0x1f, 0x00]);
    await sink.close();
  });

  it('takes a canvas frame (Uint8ClampedArray) and round-trips it through the device bytes', async () => {
    await prepareRenderer();
    fakeFb({ virtual_size: '800,480', bits_per_pixel: '32', stride: String(800 * 4 + 64) }, (800 * 4 + 64) * 480);
    const sink = new FramebufferSink({ device: dev, sysfsRoot: sysfs, pixelOrder: 'bgra', logger });
    await sink.open();
    const surface = new Surface(800, 480);
    drawCounterDisplay(surface, morningModel(), '3');
    const frame = surface.frame();
    expect(frame.data).toBeInstanceOf(Uint8ClampedArray);
    await sink.write(frame);
    const back = toRgba(readFileSync(dev), 800, 480, 800 * 4 + 64, 'bgra');
    expect(Buffer.compare(Buffer.from(back), Buffer.from(frame.data))).toBe(0);
    await sink.close();
  });

  it('writes a patch only in its own columns and rows, in each pixel format, from a window of a wider canvas', async () => {
    for (const [bits, order, stride] of [
      ['32', 'bgra', 40],
      ['32', 'bgra', 32],
      ['32', 'rgba', 32],
      ['16', 'bgra', 24],
    ] as const) {
      const width = 8;
      const height = 6;
      fakeFb({ virtual_size: `${width},${height}`, bits_per_pixel: bits, stride: String(stride) }, stride * height);
      const sink = new FramebufferSink({ device: dev, sysfsRoot: sysfs, pixelOrder: order, logger });
      await sink.open();
      // a window 7 pixels wide (the canvas reaches the patch's right edge), rows 1-4 of the screen;
      // the patch is its columns 2-6 of rows 2-3
      const window = solid(7, 4, [0xff, 0, 0, 255]);
      for (const row of [1, 2]) {
        for (let x = 2; x < 7; x++) window.data.set([0x11, 0x22, 0x33, 255], (row * 7 + x) * 4);
      }
      const patch = { x: 2, y: 2, w: 5, h: 2, data: window.data, offset: (1 * 7 + 2) * 4, stride: 7 * 4 };
      await sink.write({ width, height, patches: [patch] });
      const bytes = readFileSync(dev);
      const bpp = bits === '16' ? 2 : 4;
      const ink = bits === '16' ? [0x06, 0x11] : order === 'bgra' ? [0x33, 0x22, 0x11, 255] : [0x11, 0x22, 0x33, 255];
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const got = [...bytes.subarray(y * stride + x * bpp, y * stride + (x + 1) * bpp)];
          const inside = y >= 2 && y < 4 && x >= 2 && x < 7;
          expect(got, `${bits} ${order} ${stride}: pixel ${x},${y}`).toEqual(inside ? ink : Array(bpp).fill(0xee));
        }
      }
      expect(sink.health().rowsWritten).toBe(2);
      await sink.close();
    }
  });

  it('refuses a patch outside the screen or outside its own bytes, and writes nothing of that frame', async () => {
    fakeFb({ virtual_size: '4,2', bits_per_pixel: '32' }, 32);
    const sink = new FramebufferSink({ device: dev, sysfsRoot: sysfs, pixelOrder: 'bgra', logger });
    await sink.open();
    const data = new Uint8Array(4 * 2 * 4);
    const good = { x: 0, y: 0, w: 4, h: 1, data, offset: 0, stride: 16 };
    for (const bad of [
      { ...good, x: 1 },
      { ...good, y: 2 },
      { ...good, h: 3 },
      { ...good, offset: 20 },
      { ...good, stride: 8, h: 2 },
    ]) {
      await expect(sink.write({ width: 4, height: 2, patches: [good, bad] })).rejects.toMatchObject({
        code: 'display-frame-size',
      });
    }
    expect([...readFileSync(dev)]).toEqual(Array(32).fill(0xee));
    expect(sink.health().rowsWritten).toBe(0);
    await sink.close();
  });

  // /dev/full fails every write (ENOSPC), as a framebuffer whose display went away fails them
  // (ENODEV); the symlink is the device node, removed and made again as the display comes back.
  it('a device that fails a write is opened again when it is back, with its geometry read anew', async () => {
    fakeFb({ virtual_size: '4,2', bits_per_pixel: '32' }, 32);
    rmSync(dev);
    symlinkSync('/dev/full', dev);
    const sink = new FramebufferSink({ device: dev, sysfsRoot: sysfs, pixelOrder: 'bgra', logger });
    await sink.open();
    const frame = solid(4, 2, [0x11, 0x22, 0x33, 255]);
    await expect(sink.write(frame)).rejects.toMatchObject({ code: 'display-fb-write' });
    expect(sink.health()).toMatchObject({ connected: false, lastError: 'display-fb-write' });
    // a patch frame fails the same way, and drops the device too
    const row = { x: 0, y: 0, w: 4, h: 1, data: frame.data, offset: 0, stride: 16 };
    await expect(sink.write({ width: 4, height: 2, patches: [row] })).rejects.toMatchObject({
      code: 'display-fb-write',
    });

    // gone: each frame fails with the same code, nothing is written anywhere
    rmSync(dev);
    await expect(sink.write(frame)).rejects.toMatchObject({ code: 'display-fb-write' });
    expect(sink.health().connected).toBe(false);

    // back, in another mode (a display plugged back in): the board learns the new size from
    // geometry() after one refused frame, and the next frame is written whole
    fakeFb({ virtual_size: '8,6', bits_per_pixel: '16' }, 8 * 6 * 2);
    await expect(sink.write(frame)).rejects.toMatchObject({ code: 'display-frame-size' });
    expect(sink.geometry()).toMatchObject({ width: 8, height: 6, format: 'rgb565' });
    expect(sink.health().connected).toBe(true);
    await sink.write(solid(8, 6, [0, 0, 0xff, 255]));
    const bytes = readFileSync(dev);
    expect([...bytes.subarray(0, 2)]).toEqual([0x1f, 0x00]);
    expect([...bytes.subarray(94, 96)]).toEqual([0x1f, 0x00]);
    await sink.close();
  });

  it('rejects a frame of the wrong size', async () => {
    fakeFb({ virtual_size: '4,2', bits_per_pixel: '32' }, 32);
    const sink = new FramebufferSink({ device: dev, sysfsRoot: sysfs, pixelOrder: 'bgra', logger });
    await sink.open();
    await expect(sink.write(solid(2, 2, [0, 0, 0, 255]))).rejects.toMatchObject({ code: 'display-frame-size' });
    await sink.close();
  });
});
