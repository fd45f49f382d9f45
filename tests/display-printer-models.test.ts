// Printer status from real printers: the DLE EOT answers the printers Korean offices buy give in
// each state (tests/fixtures/printer/, sources in each file), replayed through the ESC/POS
// driver and the dispenser. What the README promises: a press while the printer cannot print
// issues no number, and the board is told why.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { Bus } from '../device/bus.ts';
import { configSchema } from '../device/config/schema.ts';
import { Dispenser } from '../device/dispenser.ts';
import type { QueueService } from '../device/queue/service.ts';
import { EscposPrinter } from '../display/printer/escpos-printer.ts';
import { STATUS_QUERY } from '../display/printer/escpos.ts';
import { PrinterTicketOutput } from '../display/printer/ticket-output.ts';
import type { PrinterTransport } from '../display/printer/transport.ts';
import { handButtons } from './helpers/buttons.ts';

const DIR = join(import.meta.dirname, 'fixtures', 'printer');
const logger = pino({ level: 'silent' });

interface PrinterFixture {
  printers: string;
  source: string;
  config: { statusQuery: boolean };
  states: Array<{
    state: string;
    statusQuery?: boolean;
    /** DLE EOT n -> the one byte answered (hex), or null: nothing comes back */
    answers: Record<'1' | '2' | '4', string | null>;
    expect: { ready: boolean; paper: string; refusal: string | null };
  }>;
}

/** The printer on the other end of the cable, in one state: answers DLE EOT n as its manual says. */
class ModelWire implements PrinterTransport {
  isOpen = false;
  queries: number[] = [];
  constructor(private readonly answers: Record<string, string | null>) {}
  async open() {
    this.isOpen = true;
  }
  async write() {}
  async query(cmd: readonly number[]) {
    expect(cmd.slice(0, 2)).toEqual([0x10, 0x04]);
    this.queries.push(cmd[2]!);
    const a = this.answers[String(cmd[2])];
    return a === null || a === undefined ? null : Number.parseInt(a, 16);
  }
  async close() {
    this.isOpen = false;
  }
}

const config = configSchema.parse({
  office: { id: 'yeoksam1', name: '역삼1동 행정복지센터' },
  services: [{ id: 'resident', name: '주민등록', numbers: { from: 1001, to: 1999 } }],
  counters: [{ id: '1', name: '1번 창구', services: ['resident'] }],
  dispenser: { buttons: [{ id: 'resident', service: 'resident' }] },
});

/** A dispenser with this printer behind it; one press of the resident button. */
async function press(wire: ModelWire, statusQuery: boolean) {
  const printer = new EscposPrinter(
    wire,
    { device: '/dev/usb/lp0', widthDots: 576, statusTimeoutMs: 50, statusQuery },
    logger,
  );
  const { buttons, press: pressButton } = handButtons();
  const issued: unknown[] = [];
  // Issuing a number is the queue's execute; it answers with no event so nothing gets printed.
  const queue = {
    execute: async (cmd: unknown) => {
      issued.push(cmd);
      return { ok: true, events: [] };
    },
    state: () => ({ day: '2026-11-26' }),
  } as unknown as QueueService;
  const refused: Array<{ code: string; message: string }> = [];
  const bus = new Bus();
  bus.on('dispenserRefused', refused, (p) => refused.push({ code: p.code, message: p.message }));
  const seen: boolean[] = [];
  const output = new PrinterTicketOutput({ config, printer, queue, onStatus: (s) => seen.push(s.ready) });
  const dispenser = new Dispenser({ config, queue, bus, buttons, output, logger });
  await dispenser.start();
  pressButton('resident');
  await dispenser.idle();
  await dispenser.stop();
  return { issued, refused, seen, health: printer.health() };
}

const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));

describe('printers Korean offices buy, state by state', () => {
  it('has the Bixolon, Sewoo and Epson families and a printer that answers nothing', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'bixolon-srp-350-srp-330.json',
        'sewoo-slk-ts400-lk-t21.json',
        'epson-tm-t20-tm-t88.json',
        'silent-printer.json',
      ]),
    );
  });

  for (const file of files) {
    const fx = JSON.parse(readFileSync(join(DIR, file), 'utf8')) as PrinterFixture;
    for (const s of fx.states) {
      it(`${fx.printers}: ${s.state}`, async () => {
        const wire = new ModelWire(s.answers);
        const statusQuery = s.statusQuery ?? fx.config.statusQuery;
        const r = await press(wire, statusQuery);
        expect(r.health).toMatchObject({ ready: s.expect.ready, paper: s.expect.paper });
        expect(r.seen).toEqual([s.expect.ready]);
        if (s.expect.refusal === null) {
          expect(r.refused).toEqual([]);
          expect(r.issued).toHaveLength(1); // a number, for a ticket that can be printed
        } else {
          expect(r.issued).toEqual([]); // no number without a ticket to take home
          expect(r.refused).toEqual([
            { code: s.expect.refusal, message: expect.stringMatching(/직원에게 문의하세요$/) },
          ]);
        }
        if (!statusQuery) expect(wire.queries).toEqual([]);
        // a printer silent on DLE EOT 1 is not asked twice more
        else if (s.answers['1'] === null) expect(wire.queries).toEqual([STATUS_QUERY.printer[2]]);
        else expect(wire.queries).toEqual([1, 2, 4]);
      });
    }
  }
});
