// A citizen pressing again while a ticket is being printed (a printer stalled, a slow serial line:
// up to 30 s) gets one ticket, not one per press once the printer catches up; someone pressing
// another button meanwhile still gets theirs.
import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { Bus } from '../device/bus.ts';
import { configSchema } from '../device/config/schema.ts';
import { Dispenser } from '../device/dispenser.ts';
import type { TicketOutput } from '../device/ports/outputs.ts';
import type { QueueService } from '../device/queue/service.ts';
import { handButtons } from './helpers/buttons.ts';

const config = configSchema.parse({
  office: { id: 'yeoksam1', name: '역삼1동 행정복지센터' },
  services: [
    { id: 'resident', name: '주민등록', numbers: { from: 1001, to: 1999 } },
    { id: 'passport', name: '여권', numbers: { from: 2001, to: 2999 } },
  ],
  counters: [{ id: '1', name: '1번 창구', services: ['resident', 'passport'] }],
  dispenser: {
    buttons: [
      { id: 'resident', service: 'resident' },
      { id: 'passport', service: 'passport' },
    ],
  },
});

describe('the dispenser while a ticket prints', () => {
  it('takes presses of a button being served for nothing while a print stalls, and serves the other buttons', async () => {
    const { buttons, press } = handButtons();
    const issued: string[] = [];
    let n = 0;
    const queue = {
      execute: async (cmd: { service: string }) => {
        issued.push(cmd.service);
        n += 1;
        const ticket = { number: String(1000 + n), service: cmd.service, ahead: 0, estimatedWaitMin: 0 };
        return { ok: true, events: [{ type: 'ticket.issued', ticket, at: '2026-11-26T10:00:00.000+09:00' }] };
      },
    } as unknown as QueueService;
    let release: () => void = () => {};
    const printed: string[] = [];
    const output: TicketOutput = {
      unavailable: async () => null,
      print: async (ticket) => {
        // the first ticket is held, as a stalled printer holds it
        if (printed.length === 0) await new Promise<void>((r) => (release = r));
        printed.push(ticket.service);
      },
    };
    const bus = new Bus();
    const dispenser = new Dispenser({ config, queue, bus, buttons, output, logger: pino({ level: 'silent' }) });
    await dispenser.start();

    vi.useFakeTimers();
    try {
      press('resident');
      await vi.advanceTimersByTimeAsync(100); // the first is being printed, at a normal pace
      press('passport'); // someone else: served after it
      press('resident'); // while prints go at their pace: kept (the driver's rate limit spaces them)
      await vi.advanceTimersByTimeAsync(2000); // the printer stalls
      press('resident');
      press('passport');
      press('resident');
      release();
      await dispenser.idle();
      expect(issued).toEqual(['resident', 'passport', 'resident']);
      expect(printed).toEqual(['resident', 'passport', 'resident']);

      // once served, the button gives a ticket again; presses while prints go at their pace are
      // the driver's rate limit's to space (the simulator's button may press twice at once)
      press('resident');
      press('resident');
      await dispenser.idle();
      expect(issued).toEqual(['resident', 'passport', 'resident', 'resident', 'resident']);
      await dispenser.stop();
    } finally {
      vi.useRealTimers();
    }
  });
});
