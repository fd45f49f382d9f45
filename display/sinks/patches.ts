// Patch frames (device/ports/outputs.ts): the wall board hands its sinks only the rectangles that
// changed. A sink that needs the whole picture (a PNG file, a test) keeps it here.
import type { Frame, Patch, PatchFrame } from '../../device/ports/outputs.ts';

export function isPatchFrame(frame: Frame | PatchFrame): frame is PatchFrame {
  return 'patches' in frame;
}

/** The bytes of a patch's row `row` (0 = its top row). */
export function patchRow(p: Patch, row: number): Uint8Array {
  const start = p.data.byteOffset + p.offset + row * p.stride;
  return new Uint8Array(p.data.buffer, start, p.w * 4);
}

/** Throws unless every patch lies inside the screen and inside its own data. */
export function checkPatches(frame: PatchFrame): void {
  for (const p of frame.patches) {
    const inside =
      p.x >= 0 && p.y >= 0 && p.w >= 0 && p.h >= 0 && p.x + p.w <= frame.width && p.y + p.h <= frame.height;
    const fits =
      p.h === 0 ||
      (p.offset >= 0 && p.stride >= p.w * 4 && p.offset + (p.h - 1) * p.stride + p.w * 4 <= p.data.byteLength);
    if (!inside || !fits) {
      throw new RangeError(
        `patch ${p.w}x${p.h} at ${p.x},${p.y} (offset ${p.offset}, stride ${p.stride}, ${p.data.byteLength} bytes) does not fit a ${frame.width}x${frame.height} screen`,
      );
    }
  }
}

/** The whole picture of a screen, kept from the frames given to a sink. */
export class WholeFrame {
  private data: Uint8Array | null = null;
  private width = 0;
  private height = 0;

  /** The screen after `frame`: a whole frame as it is, else the kept picture with the patches
   * copied in (a screen not seen before, or of another size, starts black). The frame returned is
   * the kept picture itself: the next update changes it. */
  update(frame: Frame | PatchFrame): Frame {
    const { width, height } = frame;
    if (!this.data || this.width !== width || this.height !== height) {
      this.data = new Uint8Array(width * height * 4);
      this.width = width;
      this.height = height;
    }
    const whole = this.data;
    if (!isPatchFrame(frame)) {
      whole.set(frame.data);
      return { width, height, data: whole };
    }
    checkPatches(frame);
    for (const p of frame.patches) {
      for (let row = 0; row < p.h; row++) whole.set(patchRow(p, row), ((p.y + row) * width + p.x) * 4);
    }
    return { width, height, data: whole };
  }
}
