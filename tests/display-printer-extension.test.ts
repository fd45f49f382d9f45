// The printer feature when a ticket was issued and then could not be printed: the number stays
// valid (the dispenser never issues it again), and the device status and the board learn of it at
// that ticket, not at the next status poll.
import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { Bus } from '../device/bus.ts';
import { configSchema } from '../device/config/schema.ts';
import type { ComponentHealth } from '../device/ports/health.ts';
import { prepareRenderer } from '../display/board/render.ts';
import { EscposPrinter } from '../display/printer/escpos-printer.ts';
import type { PrinterTransport } from '../display/printer/transport.ts';
import { createPrinterExtension } from '../display/printer-extension.ts';

const logger = pino({ level: 'silent' });

const config = configSchema.parse({
  office: { id: 'yeoksam1', name: '역삼1동 행정복지센터' },
  services: [{ id: 'resident', name: '주민등록', numbers: { from: 1001, to: 1999 } }],
  counters: [{ id: '1', name: '1번 창구', services: ['resident'] }],
  outputs: { printer: { ticketSecret: 'a-long-enough-secret' } },
});

/** A printer that answers "all fine" until it is pulled: then writes fail and queries go unanswered. */
class Wire implements PrinterTransport {
  isOpen = false;
  pulled = false;
  async open() {
    if (this.pulled) throw Object.assign(new Error('ENOENT: no such file or directory'), { code: 'ENOENT' });
    this.isOpen = true;
  }
  async write() {
    if (this.pulled) throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
  }
  async query() {
    return this.pulled ? null : 0x12;
  }
  async close() {
    this.isOpen = false;
  }
}

describe('printer feature, a ticket that could not be printed', () => {
  it('shows the failure in the device status and asks the printer at once, so the board tells the citizen', async () => {
    await prepareRenderer();
    const bus = new Bus();
    const seen: ComponentHealth[] = [];
    bus.on('healthChanged', {}, ({ component, health }) => {
      if (component === 'printer') seen.push(health);
    });
    const wire = new Wire();
    const printer = new EscposPrinter(wire, { device: '/dev/usb/lp0', widthDots: 576, statusTimeoutMs: 50 }, logger);
    const ext = createPrinterExtension(
      {
        config,
        bus,
        queue: { state: () => ({ day: '2026-11-26' }) } as never,
        logger,
        dataDir: '/nonexistent',
        now: () => Date.parse('2026-11-26T01:00:00Z'),
      },
      printer,
    );
    await ext.start();
    try {
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({ ready: true, lastError: null });
      const output = ext.ticketOutput();
      expect(await output.unavailable()).toBeNull();

      // pulled between the check and the print: the ticket is issued, its print fails
      wire.pulled = true;
      const ticket = { number: '1047', service: 'resident', channel: 'kiosk' as const, priority: false };
      await expect(
        output.print({ ...ticket, ahead: 0, estimatedWaitMin: 0 }, '2026-11-26T10:42:05.000+09:00'),
      ).rejects.toMatchObject({ code: 'printer-write-failed' });
      expect(seen[1]).toMatchObject({ lastError: 'printer-write-failed', failed: 1 });
      // the printer was asked at once (this fake answers without timers: one turn settles it)
      await new Promise((resolve) => setImmediate(resolve));
      expect(seen.at(-1)).toMatchObject({
        ready: false,
        message: '번호표 프린터 점검 중 — 직원에게 문의하세요',
      });
    } finally {
      await ext.stop();
    }
  });
});

describe('printer feature, a printer whose status query throws', () => {
  it('starts, logs each failed poll and keeps running (no unhandled rejection)', async () => {
    await prepareRenderer();
    vi.useFakeTimers();
    const lines: Array<Record<string, unknown>> = [];
    const log = pino({ level: 'error' }, { write: (l: string) => lines.push(JSON.parse(l)) });
    let asked = 0;
    const printer = {
      kind: 'test',
      open: async () => {},
      status: async () => {
        asked += 1;
        throw new Error('status read failed');
      },
      print: async () => {},
      close: async () => {},
      health: () => ({ connected: true, lastError: null, lastErrorAt: null }),
    };
    const ext = createPrinterExtension(
      {
        config,
        bus: new Bus(),
        queue: { state: () => ({ day: '2026-11-26' }) } as never,
        logger: log,
        dataDir: '/nonexistent',
        now: () => Date.parse('2026-11-26T01:00:00Z'),
      },
      printer as never,
    );
    try {
      await ext.start();
      await vi.advanceTimersByTimeAsync(config.outputs.printer.statusIntervalSec * 1000 * 2);
      expect(asked).toBe(3);
      expect(lines.filter((l) => l.code === 'printer-offline')).toHaveLength(3);
    } finally {
      await ext.stop();
      vi.useRealTimers();
    }
  });
});
