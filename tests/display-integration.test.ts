// The board, the printer and the ticket against the real queue engine: issue, call, and look at
// what lands under the data dir.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { Bus } from '../device/bus.ts';
import type { QueueService } from '../device/queue/service.ts';
import { buildSnapshot } from '../device/queue/snapshot.ts';
import { createBoardExtension } from '../display/board-extension.ts';
import { createPrinter } from '../display/printer/create-printer.ts';
import type { SimPrinter } from '../display/printer/sim-printer.ts';
import { createPrinterExtension } from '../display/printer-extension.ts';
import { DAY, office, ok } from './helpers/office.ts';

describe('board and printer on the real engine', () => {
  const dataDir = process.env.KEEP_SIM_DIR ?? mkdtempSync(join(tmpdir(), 'beonho-display-int-'));
  afterAll(() => {
    if (!process.env.KEEP_SIM_DIR) rmSync(dataDir, { recursive: true, force: true });
  });

  it('a kiosk ticket prints, a next call shows on the board, paper-out refuses', async () => {
    const o = office();
    const bus = new Bus();
    const logger = pino({ level: 'silent' });
    const queue = {
      snapshot: () => buildSnapshot(o.config, o.engine.state, o.clock.now()),
      state: () => o.engine.state,
    } as unknown as QueueService;
    const ctx = { config: o.config, bus, queue, logger, dataDir, now: o.clock.now };
    const printer = createPrinter(o.config, dataDir, logger);
    const printerExt = createPrinterExtension(ctx, printer);
    const board = createBoardExtension(ctx);
    await printerExt.start();
    await board.start();
    const output = printerExt.ticketOutput(queue);

    for (let i = 0; i < 6; i++) {
      expect(await output.unavailable()).toBeNull();
      const r = ok(
        o.engine.execute({
          type: 'ticket.issue',
          service: i % 3 === 2 ? 'passport' : 'resident',
          channel: 'kiosk',
          priority: false,
        }),
      );
      bus.emit('queueEvents', { events: r.events });
      const issued = r.events.find((e) => e.type === 'ticket.issued');
      if (issued?.type === 'ticket.issued') await output.print(issued.ticket, issued.at);
    }
    expect(existsSync(join(dataDir, 'sim', 'tickets', `${DAY}-1001.png`))).toBe(true);

    o.clock.minutes(3);
    const next = ok(o.engine.execute({ type: 'counter.next', counter: '3' }));
    bus.emit('queueEvents', { events: next.events });
    await board.idle();
    const called = next.events.find((e) => e.type === 'ticket.called');
    if (called?.type !== 'ticket.called') throw new Error('counter.next called nobody');
    expect(board.model()?.highlight).toMatchObject({ ticket: called.ticket.number, counter: '3' });
    const png = PNG.sync.read(readFileSync(join(dataDir, 'sim', 'board.png')));
    expect([png.width, png.height]).toEqual([1920, 1080]);
    expect(existsSync(join(dataDir, 'sim', 'counter-3.png'))).toBe(true);

    (printer as SimPrinter).setPaper('out');
    expect(await output.unavailable()).toMatchObject({ code: 'printer-paper-out' });
    await board.idle();
    expect(board.model()?.alert).toBe('용지 없음 — 직원에게 문의하세요');

    await board.stop();
    await printerExt.stop();
  });
});
