// Compare a rendered frame with a committed golden PNG. UPDATE_GOLDEN=1 rewrites the goldens (look
// at them before committing). Font rasterisation differs a little between Skia builds (x64/arm64),
// hence a per-pixel threshold and a small share of pixels allowed to differ.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pixelmatch from 'pixelmatch';
import { PNG } from 'pngjs';
import type { Frame } from '../../device/ports/outputs.ts';

export const GOLDEN_DIR = dirname(fileURLToPath(import.meta.url));

export function framePng(frame: Frame): Buffer {
  const png = new PNG({ width: frame.width, height: frame.height });
  png.data = Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength);
  return PNG.sync.write(png);
}

export interface GoldenResult {
  diffPixels: number;
  ratio: number;
  /** where the diff image went, when there was a difference */
  diffPath: string | null;
}

/** `readOnly`: never (re)write the golden, for checks that compare a deliberately different frame. */
export function compareGolden(name: string, frame: Frame, readOnly = false): GoldenResult {
  const path = join(GOLDEN_DIR, `${name}.png`);
  if (!readOnly && (process.env.UPDATE_GOLDEN === '1' || !existsSync(path))) {
    if (process.env.CI && !existsSync(path))
      throw new Error(`golden ${path} is missing; run UPDATE_GOLDEN=1 locally and commit it`);
    writeFileSync(path, framePng(frame));
  }
  const golden = PNG.sync.read(readFileSync(path));
  if (golden.width !== frame.width || golden.height !== frame.height) {
    throw new Error(`golden ${name} is ${golden.width}x${golden.height}, frame ${frame.width}x${frame.height}`);
  }
  const diff = new PNG({ width: frame.width, height: frame.height });
  const diffPixels = pixelmatch(golden.data, frame.data, diff.data, frame.width, frame.height, { threshold: 0.15 });
  let diffPath: string | null = null;
  if (diffPixels > 0) {
    const dir = join(GOLDEN_DIR, '..', '..', 'node_modules', '.cache', 'golden-diff');
    mkdirSync(dir, { recursive: true });
    diffPath = join(dir, `${name}.diff.png`);
    writeFileSync(diffPath, PNG.sync.write(diff));
  }
  return { diffPixels, ratio: diffPixels / (frame.width * frame.height), diffPath };
}

/** The share of pixels two frames differ in (for "this change must show" checks). */
export function frameDiff(a: Frame, b: Frame): number {
  return pixelmatch(a.data, b.data, undefined, a.width, a.height, { threshold: 0.15 }) / (a.width * a.height);
}
