// The whole daemon with the display features wired the way device/features.ts should wire them:
// a press prints a ticket PNG, `next` puts the call on the board PNG, paper-out refuses a press.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { Controller } from '../device/controller.ts';
import type { ExtensionContext } from '../device/extension.ts';
import { createBoardExtension } from '../display/board-extension.ts';
import type { SimPrinter } from '../display/printer/sim-printer.ts';
import { printerFeature } from '../display/printer-extension.ts';
import { DAY, NINE_AM, testConfig } from './helpers/office.ts';

describe('display features in the daemon', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'beonho-display-daemon-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('press -> ticket PNG, next -> board PNG with the call, paper out -> refused and shown', async () => {
    let board: ReturnType<typeof createBoardExtension> | null = null;
    let ctxSeen: ExtensionContext | null = null;
    const c = new Controller({
      config: testConfig(),
      dataDir,
      logger: pino({ level: 'silent' }),
      now: () => NINE_AM + 60_000,
      ticketOutput: (ctx) => printerFeature(ctx).ticketOutput(ctx.queue),
      extensions: (ctx) => {
        ctxSeen = ctx;
        board = createBoardExtension(ctx);
        return [printerFeature(ctx), board];
      },
    });
    await c.start();
    try {
      expect(c.sim.buttons?.press('resident')).toBe(true);
      await c.dispenser.idle();
      const ticket = join(dataDir, 'sim', 'tickets', `${DAY}-1001.png`);
      expect(existsSync(ticket)).toBe(true);

      const before = statSync(join(dataDir, 'sim', 'board.png')).mtimeMs;
      expect(c.sim.keypads?.input('1', { type: 'next' })).toBe(true);
      await c.counters.idle();
      await board!.idle();
      expect(board!.model()?.highlight).toMatchObject({ ticket: '1001', counter: '1' });
      const png = PNG.sync.read(readFileSync(join(dataDir, 'sim', 'board.png')));
      expect(png.width).toBe(1920);
      expect(statSync(join(dataDir, 'sim', 'board.png')).mtimeMs).toBeGreaterThanOrEqual(before);
      expect(existsSync(join(dataDir, 'sim', 'counter-1.png'))).toBe(true);

      (printerFeature(ctxSeen!).printer as SimPrinter).setPaper('out');
      const refused: string[] = [];
      c.bus.on('dispenserRefused', {}, ({ message }) => refused.push(message));
      c.sim.buttons?.press('resident');
      await c.dispenser.idle();
      await board!.idle();
      expect(refused).toEqual(['용지 없음 — 직원에게 문의하세요']);
      expect(board!.model()?.alert).toBe('용지 없음 — 직원에게 문의하세요');
      expect(existsSync(join(dataDir, 'sim', 'tickets', `${DAY}-1002.png`))).toBe(false);
    } finally {
      await c.stop();
    }
  });
});
