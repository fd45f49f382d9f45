// The daemon as the composition root (device/app.ts) builds it from the simulator's config, with
// its display features: the simulator's inputs, printer and board (PNG files under the data dir).
// A press prints a ticket PNG, `next` puts the call on the board PNG, paper-out refuses a press.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { buildDaemon } from '../device/app.ts';
import { SimPrinter } from '../display/printer/sim-printer.ts';
import { DAY, NINE_AM, testConfig } from './helpers/office.ts';

describe('display features in the daemon', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'beonho-display-daemon-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('press -> ticket PNG, next -> board PNG with the call, paper out -> refused and shown', async () => {
    const c = buildDaemon(testConfig(), {
      dataDir,
      logger: pino({ level: 'silent' }),
      now: () => NINE_AM + 60_000,
      features: ['dayRoll', 'printer', 'board'],
    });
    await c.start();
    try {
      const board = c.parts.board!;
      expect(c.parts.sim.buttons?.press('resident')).toBe(true);
      await c.parts.dispenser.idle();
      const ticket = join(dataDir, 'sim', 'tickets', `${DAY}-1001.png`);
      expect(existsSync(ticket)).toBe(true);

      const before = statSync(join(dataDir, 'sim', 'board.png')).mtimeMs;
      expect(c.parts.sim.keypads?.input('1', { type: 'next' })).toBe(true);
      await c.parts.counters.idle();
      await board.idle();
      expect(board.model()?.highlight).toMatchObject({ ticket: '1001', counter: '1' });
      const png = PNG.sync.read(readFileSync(join(dataDir, 'sim', 'board.png')));
      expect(png.width).toBe(1920);
      expect(statSync(join(dataDir, 'sim', 'board.png')).mtimeMs).toBeGreaterThanOrEqual(before);
      expect(existsSync(join(dataDir, 'sim', 'counter-1.png'))).toBe(true);

      // The printer the dispenser asks is the one the page's paper switch acts on: built once.
      const printer = c.parts.printer!.printer;
      expect(printer).toBeInstanceOf(SimPrinter);
      (printer as SimPrinter).setPaper('out');
      const refused: string[] = [];
      c.bus.on('dispenserRefused', {}, ({ message }) => refused.push(message));
      c.parts.sim.buttons?.press('resident');
      await c.parts.dispenser.idle();
      await board.idle();
      expect(refused).toEqual(['용지 없음 — 직원에게 문의하세요']);
      expect(board.model()?.alert).toBe('용지 없음 — 직원에게 문의하세요');
      expect(existsSync(join(dataDir, 'sim', 'tickets', `${DAY}-1002.png`))).toBe(false);
    } finally {
      await c.stop();
    }
  });
});
