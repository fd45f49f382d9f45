import pino from 'pino';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { Bus } from '../device/bus.ts';
import { configSchema } from '../device/config/schema.ts';
import type { ExtensionContext } from '../device/extension.ts';
import { healthy } from '../device/ports/health.ts';
import type { DisplaySink, Frame, PatchFrame } from '../device/ports/outputs.ts';
import type { QueueService } from '../device/queue/service.ts';
import type { Snapshot } from '../device/queue/snapshot-types.ts';
import type { QueueEvent } from '../device/queue/types.ts';
import { HEALTH_COUNTS_EVERY_MS } from '../device/health-counts.ts';
import { BoardExtension } from '../display/board-extension.ts';
import { prepareRenderer } from '../display/board/render.ts';
import { WholeFrame } from '../display/sinks/patches.ts';
import { FIXED_NOW, morningSnapshot } from '../bench/lib/board-morning.ts';

class MemorySink implements DisplaySink {
  readonly kind = 'memory';
  /** the picture after each frame */
  frames: Frame[] = [];
  private picture = new WholeFrame();
  failOpen = 0;
  async open() {
    if (this.failOpen > 0) {
      this.failOpen--;
      throw Object.assign(new Error('no display'), { code: 'display-fb-open' });
    }
  }
  async write(f: Frame | PatchFrame) {
    const whole = this.picture.update(f);
    this.frames.push({ ...whole, data: whole.data.slice() });
  }
  async close() {}
  health() {
    return healthy({ frames: this.frames.length });
  }
}

const config = configSchema.parse({
  office: { id: 'yeoksam1', name: '역삼1동 행정복지센터' },
  services: [{ id: 'resident', name: '주민등록 등·초본', numbers: { from: 1001, to: 1999 } }],
  counters: [{ id: '3', name: '3번 창구', services: ['resident'] }],
  outputs: { board: { highlightSeconds: 8, alertSeconds: 20 } },
});

function called(ticket: string, counter: string, at: string): QueueEvent {
  return {
    v: 1,
    office: 'yeoksam1',
    seq: 900,
    id: `e-${ticket}`,
    at,
    type: 'ticket.called',
    ticket: { number: ticket, service: 'resident', channel: 'kiosk', priority: false },
    counter,
  };
}

describe('board extension', () => {
  let snap: Snapshot;
  let bus: Bus;
  let board: MemorySink;
  let counter: MemorySink;
  let ext: BoardExtension;
  let snapshotCalls = 0;

  beforeAll(async () => {
    await prepareRenderer();
  });

  beforeEach(async () => {
    vi.useFakeTimers({ now: FIXED_NOW });
    snap = morningSnapshot();
    bus = new Bus();
    board = new MemorySink();
    counter = new MemorySink();
    snapshotCalls = 0;
    const queue = {
      snapshot: () => {
        snapshotCalls++;
        return structuredClone(snap);
      },
    } as unknown as QueueService;
    const ctx: ExtensionContext = {
      config,
      bus,
      queue,
      logger: pino({ level: 'silent' }),
      dataDir: '/nonexistent',
      now: () => Date.now(),
    };
    ext = new BoardExtension(ctx, {
      outputs: [
        { sink: board, target: { kind: 'board', layout: 'landscape' }, width: 960, height: 540 },
        { sink: counter, target: { kind: 'counter', counterId: '3' }, width: 400, height: 240 },
      ],
    });
    const started = ext.start();
    await vi.advanceTimersByTimeAsync(0);
    await started;
  });

  afterEach(async () => {
    await ext.stop();
    vi.useRealTimers();
  });

  async function settle(ms = 0): Promise<void> {
    await vi.advanceTimersByTimeAsync(ms);
    await ext.idle();
  }

  it('draws the first frame at start, then nothing while nothing changes (seconds tick by)', async () => {
    expect(board.frames).toHaveLength(1);
    expect(counter.frames).toHaveLength(1);
    await settle(15_000); // 10:42:00 -> 10:42:15: same minute
    expect(board.frames).toHaveLength(1);
    expect(snapshotCalls).toBe(1); // the clock does not recompute the queue's snapshot
  });

  it('collects the young generation (the read-back pixels) once a frame is written, not before', async () => {
    const asked: number[] = [];
    // node --expose-gc's gc(), as the unit runs it; records how many frames were written by then
    vi.stubGlobal(
      'gc',
      vi.fn((options: { type?: string }) => {
        expect(options).toEqual({ type: 'minor' });
        asked.push(board.frames.length);
      }),
    );
    try {
      await settle(60_000);
      expect(board.frames).toHaveLength(2);
      expect(asked).toEqual([2]);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('sends its frames written to the status at most every HEALTH_COUNTS_EVERY_MS, not once a frame', async () => {
    const sent: number[] = [];
    bus.on('healthChanged', sent, ({ component, health }) => {
      if (component === 'board') sent.push(health.framesWritten as number);
    });
    try {
      // the minute turns: the clock's frame is written, and no status for it yet
      const atStart = ext.framesWritten;
      await settle(60_000);
      expect(ext.framesWritten).toBeGreaterThan(atStart);
      expect(sent).toEqual([]);
      // half a minute later: one status, with the count as it is then
      await settle(HEALTH_COUNTS_EVERY_MS);
      expect(sent).toEqual([ext.framesWritten]);
      // nothing written since: nothing sent
      await settle(HEALTH_COUNTS_EVERY_MS - 1);
      expect(sent).toHaveLength(1);
    } finally {
      bus.removeListeners(sent);
    }
  });

  it('redraws the clock once when the minute turns', async () => {
    await settle(60_000);
    expect(board.frames).toHaveLength(2);
    expect(counter.frames).toHaveLength(1); // the counter display has no clock
  });

  it('highlights a new call for highlightSeconds, then redraws it plain', async () => {
    snap.recentCalls.unshift({
      ticket: '1036',
      service: 'resident',
      counter: '3',
      at: '2026-11-26T10:42:00.000+09:00',
    });
    snap.counters[2]!.ticket = '1036';
    bus.emit('queueEvents', { events: [called('1036', '3', '2026-11-26T10:42:00.000+09:00')] });
    await settle();
    expect(board.frames).toHaveLength(2);
    expect(ext.model()!.highlight?.ticket).toBe('1036');
    expect(counter.frames).toHaveLength(2);
    await settle(7_000);
    expect(board.frames).toHaveLength(2);
    await settle(1_100);
    expect(ext.model()!.highlight).toBeNull();
    expect(board.frames).toHaveLength(3);
    expect(counter.frames).toHaveLength(3);
  });

  it("a counter's display stays highlighted when another counter calls in the same frame", async () => {
    // the counter display's ground, 400x240 here: amber (#FFC933) while it calls, navy otherwise
    const ground = (): number[] => {
      const f = counter.frames.at(-1)!;
      const at = (120 * f.width + 5) * 4;
      return [...f.data.subarray(at, at + 3)];
    };
    expect(ground()).not.toEqual([0xff, 0xc9, 0x33]);
    const at = '2026-11-26T10:42:00.000+09:00';
    snap.recentCalls.unshift(
      { ticket: '2009', service: 'seal', counter: '2', at },
      { ticket: '1036', service: 'resident', counter: '3', at },
    );
    snap.counters[2]!.ticket = '1036';
    snap.counters[1]!.ticket = '2009';
    bus.emit('queueEvents', { events: [called('1036', '3', at), called('2009', '2', at)] });
    await settle();
    expect(ext.model()!.highlight?.ticket).toBe('2009');
    expect(ground()).toEqual([0xff, 0xc9, 0x33]);
    await settle(8_100);
    expect(ground()).not.toEqual([0xff, 0xc9, 0x33]);
  });

  it('coalesces a burst of events into one frame', async () => {
    for (let i = 0; i < 5; i++) {
      snap.services[0]!.waiting++;
      bus.emit('queueEvents', { events: [] });
    }
    await settle();
    expect(board.frames).toHaveLength(2);
  });

  it('shows a refused press for alertSeconds, and the printer trouble while it lasts', async () => {
    bus.emit('dispenserRefused', { button: 'resident', code: 'cutoff-passed', message: '오늘 발권이 마감되었습니다' });
    await settle();
    expect(ext.model()!.alert).toBe('오늘 발권이 마감되었습니다');
    await settle(20_100);
    expect(ext.model()!.alert).toBeNull();
    bus.emit('healthChanged', {
      component: 'printer',
      health: { ...healthy(), ready: false, message: '용지 없음 — 직원에게 문의하세요' },
    });
    await settle();
    expect(ext.model()!.alert).toBe('용지 없음 — 직원에게 문의하세요');
    const before = board.frames.length;
    bus.emit('healthChanged', { component: 'printer', health: { ...healthy(), ready: true, message: null } });
    await settle();
    expect(ext.model()!.alert).toBeNull();
    expect(board.frames.length).toBe(before + 1);
  });

  it('shows the link mark only once the link state is known', async () => {
    expect(ext.model()!.online).toBeNull();
    bus.emit('linkChanged', { online: false });
    await settle();
    expect(ext.model()!.online).toBe(false);
    expect(board.frames).toHaveLength(2);
  });

  it('stops listening on stop', async () => {
    await ext.stop();
    bus.emit('queueEvents', { events: [] });
    await settle(120_000);
    expect(board.frames).toHaveLength(1);
  });
});

/** A started board on one 640x360 landscape output, logging at debug into `lines`; the board's
 * health changes land in `health`. */
async function boardOn(sink: MemorySink, layout: 'landscape' | 'portrait' = 'landscape') {
  await prepareRenderer();
  vi.useFakeTimers({ now: FIXED_NOW });
  const bus = new Bus();
  const health: boolean[] = [];
  bus.on('healthChanged', {}, ({ component, health: h }) => {
    if (component === 'board') health.push(h.connected);
  });
  const lines: Array<{ level: number; code?: string }> = [];
  const logger = pino({ level: 'debug' }, { write: (l: string) => lines.push(JSON.parse(l)) });
  const queue = { snapshot: () => morningSnapshot() } as unknown as QueueService;
  const ext = new BoardExtension(
    { config, bus, queue, logger, dataDir: '/nonexistent', now: () => Date.now() },
    { outputs: [{ sink, target: { kind: 'board', layout }, width: 640, height: 360 }] },
  );
  const started = ext.start();
  await vi.advanceTimersByTimeAsync(0);
  await started;
  return { ext, bus, health, lines };
}

describe('board extension with a missing display', () => {
  afterEach(() => vi.useRealTimers());

  it('starts anyway, reports the error, and retries the display later', async () => {
    const sink = new MemorySink();
    sink.failOpen = 3;
    const { ext, health, lines } = await boardOn(sink);
    expect(health).toContain(false); // reported
    expect(sink.frames).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(91_000);
    await ext.idle();
    expect(sink.frames).toHaveLength(1);
    // three failed opens, one error line: a display missing for a week does not fill the journal
    expect(lines.filter((l) => l.code === 'display-fb-open').map((l) => l.level)).toEqual([50, 20, 20]);
    await ext.stop();
  });
});

describe('board extension on a screen across its layout', () => {
  afterEach(() => vi.useRealTimers());

  it('warns once that a portrait board on a landscape screen is drawn small, and draws it', async () => {
    const sink = new MemorySink();
    const { ext, lines, bus } = await boardOn(sink, 'portrait');
    expect(sink.frames).toHaveLength(1);
    bus.emit('snapshotChanged', {} as never);
    await vi.advanceTimersByTimeAsync(0);
    await ext.idle();
    const said = lines.filter((l) => l.code === 'display-layout-orientation');
    expect(said).toEqual([expect.objectContaining({ level: 40 })]);
    await ext.stop();
  });

  it('says nothing when they agree', async () => {
    const { ext, lines } = await boardOn(new MemorySink(), 'landscape');
    expect(lines.filter((l) => l.code === 'display-layout-orientation')).toEqual([]);
    await ext.stop();
  });
});

describe('board extension with a display unplugged while it runs', () => {
  afterEach(() => vi.useRealTimers());

  it('says so once, tries again every few seconds, not at every tick, and reports it back', async () => {
    let unplugged = false;
    let tries = 0;
    const sink = new MemorySink();
    const write = sink.write.bind(sink);
    sink.write = async (f) => {
      if (unplugged) {
        tries++;
        throw Object.assign(new Error('ENODEV'), { code: 'display-fb-write' });
      }
      await write(f);
    };
    const { ext, bus, health, lines } = await boardOn(sink);
    expect(sink.frames).toHaveLength(1);
    unplugged = true;
    bus.emit('linkChanged', { online: false }); // something to draw
    await vi.advanceTimersByTimeAsync(60_000);
    await ext.idle();
    expect(tries).toBeGreaterThanOrEqual(10);
    expect(tries).toBeLessThanOrEqual(14); // every 5 s, not every second
    expect(lines.filter((l) => l.code === 'display-fb-write' && l.level === 50)).toHaveLength(1);
    expect(ext.health().connected).toBe(false);
    unplugged = false;
    await vi.advanceTimersByTimeAsync(6_000);
    await ext.idle();
    expect(sink.frames).toHaveLength(2);
    expect(ext.health().connected).toBe(true);
    expect(health.at(-2)).toBe(false);
    expect(health.at(-1)).toBe(true);
    await ext.stop();
  });
});

describe('sim board outputs', () => {
  it('writes <dataDir>/sim/board.png and counter-<id>.png', async () => {
    const { mkdtempSync, existsSync, readFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { PNG } = await import('pngjs');
    const { createBoardExtension } = await import('../display/board-extension.ts');
    const dataDir = mkdtempSync(join(tmpdir(), 'beonho-board-'));
    try {
      const queue = { snapshot: () => morningSnapshot() } as unknown as QueueService;
      const ext = createBoardExtension({
        config,
        bus: new Bus(),
        queue,
        logger: pino({ level: 'silent' }),
        dataDir,
        now: () => FIXED_NOW,
      });
      await ext.start();
      await ext.stop();
      const png = PNG.sync.read(readFileSync(join(dataDir, 'sim', 'board.png')));
      expect([png.width, png.height]).toEqual([1920, 1080]);
      expect(existsSync(join(dataDir, 'sim', 'counter-3.png'))).toBe(true);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('printer extension', () => {
  it('reports paper out on the bus with the Korean message, once per change', async () => {
    const { SimPrinter } = await import('../display/printer/sim-printer.ts');
    const { createPrinterExtension } = await import('../display/printer-extension.ts');
    const bus = new Bus();
    const seen: Array<Record<string, unknown>> = [];
    bus.on('healthChanged', {}, ({ component, health }) => {
      if (component === 'printer') seen.push(health);
    });
    const printer = new SimPrinter('/nonexistent', pino({ level: 'silent' }));
    const queue = { snapshot: () => morningSnapshot() } as unknown as QueueService;
    const ext = createPrinterExtension(
      { config, bus, queue, logger: pino({ level: 'silent' }), dataDir: '/nonexistent', now: () => FIXED_NOW },
      printer,
    );
    await ext.start();
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ ready: true, message: null });
    await ext.poll();
    expect(seen).toHaveLength(1);
    printer.setPaper('out');
    await ext.poll();
    expect(seen[1]).toMatchObject({ ready: false, paper: 'out', message: '용지 없음 — 직원에게 문의하세요' });
    await ext.stop();
  });
});
