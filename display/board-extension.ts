// The number board as a feature of the daemon: it listens to the queue's events and the device's
// state, keeps the few things only the board knows (which call is still highlighted, a refused
// press's message, the printer's trouble, the link mark) and redraws a frame only when what it
// shows has changed: a burst of events renders once, and the clock redraws once a minute.
import type { Logger } from 'pino';
import type { Extension, FeatureContext } from '../device/extension.ts';
import type { ComponentHealth } from '../device/ports/health.ts';
import type { Frame, PatchFrame } from '../device/ports/outputs.ts';
import type { QueueService } from '../device/queue/service.ts';
import type { CallSnapshot, Snapshot } from '../device/queue/snapshot-types.ts';
import type { QueueEvent } from '../device/queue/types.ts';
import { MAIN_LINK_DOWN } from '../device/satellite/messages-ko.ts';
import { type BoardModel, counterKey } from './board/model.ts';
import { type BoardOutput, buildOutputs, outputSize } from './board/outputs.ts';
import { BoardPainter, Surface, drawCounterDisplay, prepareRenderer } from './board/render.ts';
import { collectFrameGarbage, nextTurn } from './pixel-garbage.ts';
import { CountsThrottle } from '../device/health-counts.ts';

export interface BoardExtensionOptions {
  /** replaces the outputs built from config (tests, benchmark) */
  outputs?: BoardOutput[];
  /** where the snapshot comes from when the daemon has no queue: a satellite's mirror of the main
   * unit (device/satellite/mirror.ts), which says `snapshotChanged` on the bus */
  snapshot?: () => Snapshot;
}

/** The main unit's queue, or nothing on a satellite (which hands `snapshot` in the options). */
export type BoardContext = FeatureContext & { queue?: Pick<QueueService, 'snapshot'> };

interface Live {
  out: BoardOutput;
  /** the wall board: repaints only the parts that changed */
  painter: BoardPainter | null;
  /** a counter display: small, drawn whole when its key changes */
  surface: Surface | null;
  lastKey: string | null;
  open: boolean;
  nextOpenAt: number;
  /** the code of the write failure under way (a display unplugged), null while frames are written */
  failing: string | null;
  /** no frame is drawn for this output before then while it fails */
  writeRetryAt: number;
}

const REOPEN_MS = 30_000;
/** A display whose writes fail is tried again this often, not at every clock tick: each try drew a
 * whole board and logged an error, every second of an outage. */
const WRITE_RETRY_MS = 5_000;

export class BoardExtension implements Extension {
  readonly name = 'board';
  private live: Live[] = [];
  private snapshot: Snapshot | null = null;
  private highlight: { call: CallSnapshot; until: number } | null = null;
  /** counter id -> its own newest call while highlighted (its display's, see BoardModel) */
  private counterHighlights = new Map<string, { call: CallSnapshot; until: number }>();
  private refusal: { message: string; until: number } | null = null;
  private printerAlert: string | null = null;
  private online: boolean | null = null;
  /** a satellite whose link to the main unit is down: what it shows may be old */
  private mainDown = false;
  /** counter id -> a short message on its display (a satellite's key result) */
  private notes = new Map<string, { message: string; until: number }>();
  private timers = new Set<ReturnType<typeof setTimeout>>();
  private clock: ReturnType<typeof setInterval> | null = null;
  private scheduled = false;
  private rendering: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private readonly log: Logger;
  /** frames written, for status and tests */
  framesWritten = 0;
  /** framesWritten alone reaches the status at most every HEALTH_COUNTS_EVERY_MS: the health was
   * sent only when a sink failed or came back, so the status kept the first frame's count all day */
  private readonly counts = new CountsThrottle(
    () => String(this.framesWritten),
    () => this.emitHealth(),
  );

  constructor(
    private readonly ctx: BoardContext,
    private readonly opts: BoardExtensionOptions = {},
  ) {
    this.log = ctx.logger.child({ component: 'board' });
  }

  async start(): Promise<void> {
    this.stopped = false;
    await prepareRenderer();
    const outputs = this.opts.outputs ?? buildOutputs(this.ctx.config, this.ctx.dataDir, this.ctx.logger);
    this.live = outputs.map((out) => ({
      out,
      painter: null,
      surface: null,
      lastKey: null,
      open: false,
      nextOpenAt: 0,
      failing: null,
      writeRetryAt: 0,
    }));
    for (const l of this.live) await this.openOutput(l);
    const bus = this.ctx.bus;
    bus.on('queueEvents', this, ({ events }) => this.onEvents(events));
    bus.on('linkChanged', this, ({ online }) => {
      this.online = online;
      this.schedule();
    });
    bus.on('dispenserRefused', this, ({ message }) => {
      this.refusal = { message, until: this.ctx.now() + this.ctx.config.outputs.board.alertSeconds * 1000 };
      this.after(this.ctx.config.outputs.board.alertSeconds * 1000);
      this.schedule();
    });
    bus.on('snapshotChanged', this, () => {
      this.snapshot = this.readSnapshot();
      this.schedule();
    });
    bus.on('mainLinkChanged', this, ({ online }) => {
      this.mainDown = !online;
      this.schedule();
    });
    bus.on('counterMessage', this, ({ counter, message, seconds }) => {
      this.notes.set(counter, { message, until: this.ctx.now() + seconds * 1000 });
      this.after(seconds * 1000);
      this.schedule();
    });
    bus.on('healthChanged', this, ({ component, health }) => {
      if (component !== 'printer') return;
      const msg = health.ready === false ? (health.message ?? null) : null;
      if (msg !== this.printerAlert) {
        this.printerAlert = msg;
        this.schedule();
      }
    });
    this.snapshot = this.readSnapshot();
    // Ticks are cheap when nothing changed: the frame key includes the minute, not the second.
    this.clock = setInterval(() => this.schedule(), 1000);
    this.schedule();
    await this.idle();
    this.emitHealth();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.ctx.bus.removeListeners(this);
    if (this.clock) clearInterval(this.clock);
    this.counts.stop();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await this.rendering;
    for (const l of this.live) if (l.open) await l.out.sink.close().catch(() => {});
    this.live = [];
  }

  /** Resolves once the frames asked for so far are written. */
  async idle(): Promise<void> {
    while (this.scheduled || this.rendering) {
      if (this.rendering) await this.rendering;
      else await Promise.resolve();
    }
  }

  private emitHealth(): void {
    this.counts.sent();
    this.ctx.bus.emit('healthChanged', { component: 'board', health: this.health() });
  }

  health(): ComponentHealth {
    const sinks = this.live.map((l) => ({ kind: l.out.sink.kind, ...l.out.sink.health() }));
    const bad = sinks.find((s) => s.lastError);
    return {
      connected: this.live.length > 0 && this.live.every((l) => l.open && l.failing === null),
      lastError: bad?.lastError ?? null,
      lastErrorAt: bad?.lastErrorAt ?? null,
      framesWritten: this.framesWritten,
      sinks,
    };
  }

  /** The model of the frame to show now. */
  model(): BoardModel | null {
    if (!this.snapshot) return null;
    const now = this.ctx.now();
    const refusal = this.refusal && now < this.refusal.until ? this.refusal.message : null;
    const notes: Record<string, string> = {};
    for (const [counter, n] of this.notes) if (now < n.until) notes[counter] = n.message;
    if (this.mainDown) for (const c of this.snapshot.counters) notes[c.id] ??= MAIN_LINK_DOWN;
    const counterCalls: Record<string, CallSnapshot> = {};
    for (const [counter, h] of this.counterHighlights) {
      if (now < h.until) counterCalls[counter] = h.call;
      else this.counterHighlights.delete(counter);
    }
    return {
      snapshot: this.snapshot,
      now,
      timeZone: this.ctx.config.office.timeZone,
      highlight: this.highlight && now < this.highlight.until ? this.highlight.call : null,
      online: this.online,
      alert: this.mainDown ? MAIN_LINK_DOWN : (refusal ?? this.printerAlert),
      ...(Object.keys(notes).length > 0 ? { counterNotes: notes } : {}),
      ...(Object.keys(counterCalls).length > 0 ? { counterCalls } : {}),
    };
  }

  private onEvents(events: QueueEvent[]): void {
    const holdMs = this.ctx.config.outputs.board.highlightSeconds * 1000;
    for (const e of events) {
      if (e.type === 'ticket.called' || e.type === 'ticket.recalled') {
        this.highlight = {
          call: { ticket: e.ticket.number, service: e.ticket.service, counter: e.counter, at: e.at },
          until: this.ctx.now() + holdMs,
        };
        this.counterHighlights.set(e.counter, this.highlight);
        this.after(holdMs);
      }
    }
    this.snapshot = this.readSnapshot();
    this.schedule();
  }

  private readSnapshot(): Snapshot | null {
    return this.opts.snapshot?.() ?? this.ctx.queue?.snapshot() ?? null;
  }

  /** Redraw once `ms` from now (a highlight or message running out). */
  private after(ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.schedule();
    }, ms + 1);
    this.timers.add(t);
  }

  private schedule(): void {
    if (this.stopped) return;
    if (this.rendering) {
      this.again = true;
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    // Coalesce: every event emitted in the same turn lands in one frame (a microtask, so fake
    // timers in tests do not hold the render back).
    queueMicrotask(() => {
      this.scheduled = false;
      this.rendering = this.renderAll().finally(() => {
        this.rendering = null;
        if (this.again) {
          this.again = false;
          this.schedule();
        }
      });
    });
  }

  private async renderAll(): Promise<void> {
    const m = this.model();
    if (!m) return;
    for (const l of this.live) {
      if (!l.open && !(await this.openOutput(l))) continue;
      if (l.failing !== null && this.ctx.now() < l.writeRetryAt) continue;
      const t = l.out.target;
      const size = outputSize(l.out);
      let frame: Frame | PatchFrame | null;
      let key: string | null = null;
      if (t.kind === 'board') {
        if (!l.painter || l.painter.width !== size.width || l.painter.height !== size.height) {
          l.painter = new BoardPainter(size.width, size.height, t.layout);
          this.checkOrientation(t.layout, size, l.out.sink.kind);
        }
        frame = l.painter.paint(m);
      } else {
        key = counterKey(m, t.counterId);
        if (key === l.lastKey) continue;
        if (!l.surface || l.surface.width !== size.width || l.surface.height !== size.height) {
          l.surface = new Surface(size.width, size.height);
        }
        drawCounterDisplay(l.surface, m, t.counterId);
        frame = l.surface.frame();
      }
      if (!frame) continue;
      try {
        await l.out.sink.write(frame);
        l.lastKey = key;
        this.framesWritten++;
        this.counts.changed();
        if (l.failing !== null) {
          l.failing = null;
          this.log.info({ sink: l.out.sink.kind }, 'board frames written again');
          this.emitHealth();
        }
        // What was read back from the canvas for this frame is garbage now. The canvas binding
        // frees its buffers in finalizers that run on a later turn of the event loop: one turn per
        // frame, or a burst of frames with nothing else to wait for piles them all up.
        collectFrameGarbage();
        await nextTurn();
      } catch (err) {
        l.lastKey = null;
        l.painter?.invalidate();
        const code = (err as { code?: string }).code ?? 'display-write';
        l.writeRetryAt = this.ctx.now() + WRITE_RETRY_MS;
        // Said once per outage (and per change of cause), then tried quietly every WRITE_RETRY_MS:
        // a display unplugged over a weekend must not write a log line every few seconds.
        const news = l.failing !== code;
        l.failing = code;
        this.log[news ? 'error' : 'debug'](
          { code, sink: l.out.sink.kind, err: (err as Error).message },
          news ? `board frame not written; trying again every ${WRITE_RETRY_MS / 1000} s` : 'board frame not written',
        );
        if (news) this.emitHealth();
      }
    }
  }

  /** A layout across the screen's orientation is drawn small in its middle (a portrait board on a
   * 1920x1080 framebuffer: a TV hung on its side, whose Pi still gives a landscape /dev/fb0, since
   * the KMS driver does not rotate it). Said once for each screen size, with what to do. */
  private checkOrientation(
    layout: 'landscape' | 'portrait',
    size: { width: number; height: number },
    sink: string,
  ): void {
    const portraitScreen = size.height > size.width;
    if (size.width === size.height || (layout === 'portrait') === portraitScreen) return;
    this.log.warn(
      { code: 'display-layout-orientation', layout, width: size.width, height: size.height, sink },
      `outputs.board.layout is ${layout} but the screen is ${size.width}x${size.height} (${portraitScreen ? 'portrait' : 'landscape'}): the board is drawn small in its middle; set layout: ${portraitScreen ? 'portrait' : 'landscape'}, or give the board a screen of its orientation (a Raspberry Pi's framebuffer is not rotated with a TV hung on its side: docs/display.md)`,
    );
  }

  private async openOutput(l: Live): Promise<boolean> {
    const now = this.ctx.now();
    if (now < l.nextOpenAt) return false;
    try {
      await l.out.sink.open();
      l.open = true;
      // a device (re)opened shows nothing of ours yet: the next frame is a whole one
      l.lastKey = null;
      l.painter?.invalidate();
      // A display that came back after failing: tell the device status.
      if (l.nextOpenAt > 0) this.emitHealth();
      l.nextOpenAt = 0;
      return true;
    } catch (err) {
      // Never fatal: the queue runs without a board; retry now and then (a monitor switched on late).
      // Said at the first try only: a board missing for a week is one line, not one every 30 s.
      const first = l.nextOpenAt === 0;
      l.nextOpenAt = now + REOPEN_MS;
      this.log[first ? 'error' : 'debug'](
        { code: (err as { code?: string }).code ?? 'display-open', sink: l.out.sink.kind, err: (err as Error).message },
        first ? `board output not available; trying again every ${REOPEN_MS / 1000} s` : 'board output not available',
      );
      if (first) this.emitHealth();
      return false;
    }
  }
}

export function createBoardExtension(ctx: BoardContext, opts: BoardExtensionOptions = {}): BoardExtension {
  return new BoardExtension(ctx, opts);
}
