// Ports: what citizens see, hear and take home. display/ and sim/ implement them.
import type { TicketInfo } from '../queue/types.ts';
import type { ComponentHealth } from './health.ts';

/** An RGBA frame, row-major, 4 bytes a pixel (what canvas getImageData gives). */
export interface Frame {
  width: number;
  height: number;
  data: Uint8Array | Uint8ClampedArray;
}

/** A rectangle of a screen and its pixels: `h` rows of `w` RGBA pixels, the first at byte `offset`
 * of `data`, each `stride` bytes after the one before (a window of a larger canvas). */
export interface Patch {
  x: number;
  y: number;
  w: number;
  h: number;
  data: Uint8Array | Uint8ClampedArray;
  offset: number;
  stride: number;
}

/** A change of a screen: the rectangles that may differ from the last frame given to the same
 * sink, each with its pixels, and nothing else of the screen (the wall board's painter keeps no
 * whole picture of it: 8.3 MB at 1080p). A first frame's patches cover the whole screen. The
 * pixels are valid until the producer's next frame; a sink that needs the whole picture keeps it
 * itself (display/sinks/patches.ts). */
export interface PatchFrame {
  width: number;
  height: number;
  patches: Patch[];
}

export interface DisplaySink {
  readonly kind: string;
  open(): Promise<void>;
  /** Write a whole frame (a sink may write only the rows that changed since the last one), or the
   * patches of a change. */
  write(frame: Frame | PatchFrame): Promise<void>;
  close(): Promise<void>;
  health(): ComponentHealth;
}

export type PaperState = 'ok' | 'near-end' | 'out' | 'unknown';

export interface PrinterStatus {
  online: boolean;
  paper: PaperState;
  /** true when a ticket can be printed now */
  ready: boolean;
  error: string | null;
}

export interface PrintJob {
  /** the rendered ticket, already a bitmap */
  image: Frame;
  /** for logs and simulator file names: day and number, never personal data */
  day: string;
  number: string;
}

export interface TicketPrinter {
  readonly kind: string;
  open(): Promise<void>;
  status(): Promise<PrinterStatus>;
  print(job: PrintJob): Promise<void>;
  close(): Promise<void>;
  health(): ComponentHealth;
}

export interface AudioOut {
  readonly kind: string;
  /** Play a WAV file's bytes to the end. Rejects when the device is missing; the caller logs it
   * and moves on: sound is never fatal. */
  play(wav: Uint8Array, label: string): Promise<void>;
  close(): Promise<void>;
  health(): ComponentHealth;
}

/** What the dispenser needs from the printing side (display/ implements it over a TicketPrinter). */
export interface TicketOutput {
  /** null when a ticket can be printed now, else why not (code + Korean message for the board) */
  unavailable(): Promise<{ code: string; message: string } | null>;
  print(ticket: TicketInfo & { ahead: number; estimatedWaitMin: number }, issuedAt: string): Promise<void>;
}
