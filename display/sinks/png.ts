// A PNG file as a display sink: the simulator's board (sim/board.png) and counter displays. The
// file is replaced atomically (temp file + rename), so the simulator page never reads half a frame.
// A file holds the whole picture, so the sink keeps it and paints the board's patches into it.
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ComponentHealth } from '../../device/ports/health.ts';
import type { DisplaySink, Frame, PatchFrame } from '../../device/ports/outputs.ts';
import { replaceFile } from '../../device/store/fs.ts';
import { loadCanvasBinding } from '../canvas-binding.ts';
import { WholeFrame } from './patches.ts';

/** Encode an RGBA frame as PNG with the canvas binding (off the main thread). */
export async function encodePng(frame: Frame): Promise<Buffer> {
  const { createCanvas, ImageData } = await loadCanvasBinding();
  const canvas = createCanvas(frame.width, frame.height);
  const data = new Uint8ClampedArray(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength);
  canvas.getContext('2d').putImageData(new ImageData(data, frame.width, frame.height), 0, 0);
  return canvas.encode('png');
}

/** Not fsync'd (a frame or a simulated ticket is worth nothing after a power cut); the temp file has
 * the store's pattern, so start-up removes one a cut left (device/store/fs.ts, replaceFile). */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await replaceFile(path, bytes);
}

export class PngSink implements DisplaySink {
  readonly kind = 'png';
  private state: ComponentHealth & { frames: number } = {
    connected: false,
    lastError: null,
    lastErrorAt: null,
    frames: 0,
  };

  private readonly picture = new WholeFrame();

  constructor(readonly path: string) {}

  async open(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    this.state.connected = true;
  }

  async write(frame: Frame | PatchFrame): Promise<void> {
    try {
      await writeFileAtomic(this.path, await encodePng(this.picture.update(frame)));
      this.state.frames++;
    } catch (err) {
      this.state.lastError = 'display-png-write';
      this.state.lastErrorAt = new Date().toISOString();
      throw err;
    }
  }

  async close(): Promise<void> {
    this.state.connected = false;
  }

  health(): ComponentHealth {
    return { ...this.state };
  }
}
