// Which frames go where: the wall board and the counter displays, each a sink with its own size.
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../../device/config/schema.ts';
import type { DisplaySink } from '../../device/ports/outputs.ts';
import { FramebufferSink } from '../sinks/framebuffer.ts';
import { PngSink } from '../sinks/png.ts';
import { VtConsole } from '../sinks/vt-console.ts';
import { type BoardLayout, REFERENCE } from './render.ts';

export interface BoardOutput {
  sink: DisplaySink;
  /** the wall board, or the display above one counter */
  target: { kind: 'board'; layout: BoardLayout } | { kind: 'counter'; counterId: string };
  /** frame size when the sink does not dictate one (a framebuffer does, after open) */
  width: number;
  height: number;
}

/** The size a sink wants, once open: a framebuffer's own geometry, else the configured size. */
export function outputSize(o: BoardOutput): { width: number; height: number } {
  if (o.sink instanceof FramebufferSink) {
    const g = o.sink.geometry();
    if (g) return { width: g.width, height: g.height };
  }
  return { width: o.width, height: o.height };
}

export function buildOutputs(config: Config, dataDir: string, logger: Logger): BoardOutput[] {
  const b = config.outputs.board;
  const log = logger.child({ component: 'board' });
  const sim = join(dataDir, 'sim');
  const out: BoardOutput[] = [];
  const ref = REFERENCE[b.layout];
  const width = b.width ?? ref.width;
  const height = b.height ?? ref.height;
  const fb = (device: string, console: VtConsole | null = null) =>
    new FramebufferSink({ device, sysfsRoot: b.sysfsRoot, pixelOrder: b.pixelOrder, logger: log, console });
  if (b.driver === 'sim') {
    out.push({ sink: new PngSink(join(sim, 'board.png')), target: { kind: 'board', layout: b.layout }, width, height });
  } else if (b.driver === 'framebuffer') {
    // only the wall board owns a VT: the console is drawn on the first framebuffer (HDMI)
    const vt = b.vt === 'none' ? null : new VtConsole({ tty: b.vt, logger: log });
    out.push({ sink: fb(b.device, vt), target: { kind: 'board', layout: b.layout }, width, height });
  }
  const counterIds = new Set<string>();
  for (const d of b.counterDisplays) {
    counterIds.add(d.counter);
    const sink = d.driver === 'sim' ? new PngSink(join(sim, `counter-${d.counter}.png`)) : fb(d.device);
    out.push({ sink, target: { kind: 'counter', counterId: d.counter }, width: d.width, height: d.height });
  }
  if (b.driver === 'sim' && b.simCounterFrames) {
    for (const c of config.counters) {
      if (counterIds.has(c.id)) continue;
      out.push({
        sink: new PngSink(join(sim, `counter-${c.id}.png`)),
        target: { kind: 'counter', counterId: c.id },
        width: REFERENCE.counter.width,
        height: REFERENCE.counter.height,
      });
    }
  }
  return out;
}
