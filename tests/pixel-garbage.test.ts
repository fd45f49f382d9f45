// Frames and tickets leave megabytes of pixels as garbage; once a frame is written the daemon
// collects V8's young generation, once a ticket is printed it asks for one incremental full
// collection (node --expose-gc, set by the unit).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { configSchema } from '../device/config/schema.ts';
import type { PrintJob, TicketPrinter } from '../device/ports/outputs.ts';
import { prepareRenderer } from '../display/board/render.ts';
import { collectFrameGarbage, collectTicketGarbage } from '../display/pixel-garbage.ts';
import { PrinterTicketOutput } from '../display/printer/ticket-output.ts';

afterEach(() => {
  vi.unstubAllGlobals();
});

/** A stand-in for node's gc() that records its calls and settles when told. */
function fakeGc() {
  const calls: unknown[] = [];
  let settle: () => void = () => {};
  const gc = vi.fn((options: unknown) => {
    calls.push(options);
    return new Promise<void>((resolve) => {
      settle = resolve;
    });
  });
  vi.stubGlobal('gc', gc);
  return { calls, settle: () => settle() };
}

describe('collecting pixel garbage', () => {
  it('a frame: the young generation, every time', () => {
    const gc = fakeGc();
    collectFrameGarbage();
    collectFrameGarbage();
    expect(gc.calls).toEqual([{ type: 'minor' }, { type: 'minor' }]);
  });

  it('a ticket: one incremental full collection at a time', async () => {
    const gc = fakeGc();
    collectTicketGarbage();
    collectTicketGarbage();
    expect(gc.calls).toEqual([{ type: 'major', execution: 'async' }]);
    gc.settle();
    await new Promise((r) => setImmediate(r));
    collectTicketGarbage();
    expect(gc.calls).toHaveLength(2);
    gc.settle();
    await new Promise((r) => setImmediate(r));
  });

  it('does nothing without --expose-gc', () => {
    vi.stubGlobal('gc', undefined);
    expect(() => collectFrameGarbage()).not.toThrow();
    expect(() => collectTicketGarbage()).not.toThrow();
  });

  it('is asked for once a ticket has gone to the printer, and after a failed print too', async () => {
    await prepareRenderer();
    const config = configSchema.parse({
      office: { id: 'o', name: '테스트 민원실' },
      services: [{ id: 's', name: '민원', numbers: { from: 1, to: 99 } }],
      counters: [{ id: '1', name: '1번 창구', services: ['s'] }],
      outputs: { printer: { driver: 'sim' } },
    });
    const jobs: PrintJob[] = [];
    let fail = false;
    const printer = {
      print: async (job: PrintJob) => {
        expect(gc.calls).toHaveLength(0); // not before: the pixels are still in use
        jobs.push(job);
        if (fail) throw new Error('cable out');
      },
    } as unknown as TicketPrinter;
    const gc = fakeGc();
    const out = new PrinterTicketOutput({ config, printer });
    const ticket = {
      number: '7',
      service: 's',
      channel: 'kiosk' as const,
      priority: false,
      ahead: 0,
      estimatedWaitMin: 0,
    };
    await out.print(ticket, '2026-12-01T09:00:00+09:00');
    expect(jobs).toHaveLength(1);
    expect(gc.calls).toEqual([{ type: 'major', execution: 'async' }]);
    gc.settle();
    await new Promise((r) => setImmediate(r));
    gc.calls.length = 0;
    fail = true;
    await expect(out.print(ticket, '2026-12-01T09:00:01+09:00')).rejects.toThrow('cable out');
    expect(gc.calls).toHaveLength(1);
    gc.settle();
    await new Promise((r) => setImmediate(r));
  });
});
