import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import ReceiptPrinterEncoder from '@point-of-sale/receipt-printer-encoder';
import { PNG } from 'pngjs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { configSchema } from '../device/config/schema.ts';
import type { Frame } from '../device/ports/outputs.ts';
import { prepareRenderer } from '../display/board/render.ts';
import { createPrinter } from '../display/printer/create-printer.ts';
import { EscposPrinter } from '../display/printer/escpos-printer.ts';
import { STATUS_QUERY, decodeStatus, encodeTicket } from '../display/printer/escpos.ts';
import { printerRefusal } from '../display/printer/messages.ts';
import { SimPrinter } from '../display/printer/sim-printer.ts';
import { type DeviceHandle, DeviceTransport, type PrinterTransport } from '../display/printer/transport.ts';
import { renderTicket } from '../display/ticket/render-ticket.ts';
import { GOLDEN_DIR, compareGolden } from './golden/compare.ts';

const logger = pino({ level: 'silent' });

/** Decode every GS v 0 raster block of an ESC/POS stream into one 1-bit image (true = black). */
function decodeRaster(bytes: Uint8Array): { width: number; height: number; dots: boolean[][] } {
  const rows: boolean[][] = [];
  let width = 0;
  for (let i = 0; i < bytes.length; ) {
    if (bytes[i] === 0x1d && bytes[i + 1] === 0x76 && bytes[i + 2] === 0x30) {
      const wBytes = bytes[i + 4]! | (bytes[i + 5]! << 8);
      const h = bytes[i + 6]! | (bytes[i + 7]! << 8);
      width = wBytes * 8;
      let p = i + 8;
      for (let y = 0; y < h; y++) {
        const row: boolean[] = [];
        for (let xb = 0; xb < wBytes; xb++, p++)
          for (let bit = 7; bit >= 0; bit--) row.push(((bytes[p]! >> bit) & 1) === 1);
        rows.push(row);
      }
      i = p;
    } else i++;
  }
  return { width, height: rows.length, dots: rows };
}

function sampleTicket(widthDots = 576): Frame {
  return renderTicket({
    officeName: '역삼1동 행정복지센터',
    serviceName: '주민등록 등·초본',
    number: '1047',
    ahead: 12,
    estimatedWaitMin: 18,
    issuedAt: '2026-11-26T10:42:05.123+09:00',
    qrUrl: 'https://example.invalid/q/yeoksam1/2026-11-26/1047?t=AAAAAAAAAAAAAAAA',
    widthDots,
  });
}

beforeAll(async () => {
  await prepareRenderer();
});

describe('ticket bitmap', () => {
  it('matches the golden', () => {
    const r = compareGolden('ticket-80mm', sampleTicket());
    expect(r.ratio, `diff image: ${r.diffPath}`).toBeLessThan(0.001);
  });

  it('fits 58 mm paper', () => {
    const f = sampleTicket(384);
    expect(f.width).toBe(384);
  });

  it('draws the QR code in whole printer dots on 58 mm paper too', () => {
    // A version-4 link (the simulator's own, 33 modules) made 7-unit modules in the 576-wide
    // layout, 4.67 dots each once scaled to 384: grey module edges that the raster's threshold
    // turns into modules one dot wider or narrower than their neighbours.
    for (const [widthDots, qrUrl] of [
      [384, 'http://127.0.0.1:8090/q/singok2/2026-12-04/1001?t=AAAAAAAAAAAAAAAA'],
      [384, 'https://example.invalid/q/yeoksam1/2026-11-26/1047?t=AAAAAAAAAAAAAAAA'],
      [576, 'http://127.0.0.1:8090/q/singok2/2026-12-04/1001?t=AAAAAAAAAAAAAAAA'],
    ] as const) {
      const f = renderTicket({
        officeName: '신곡2동',
        serviceName: '주민등록',
        number: '1001',
        ahead: 0,
        estimatedWaitMin: 0,
        issuedAt: '2026-12-04T10:00:00+09:00',
        qrUrl,
        widthDots,
      });
      const k = widthDots / 576;
      let grey = 0;
      // the QR code's square: 300 layout units from (138, 570)
      for (let y = Math.floor(570 * k); y < Math.ceil(870 * k); y++)
        for (let x = Math.floor(138 * k); x < Math.ceil(438 * k); x++) {
          const v = f.data[(y * f.width + x) * 4]!;
          if (v !== 0 && v !== 255) grey++;
        }
      expect(grey, `${widthDots} dots, ${qrUrl}`).toBe(0);
    }
  });
});

describe('ESC/POS raster', () => {
  it('decodes back into the ticket image, then cuts', () => {
    const frame = sampleTicket();
    const bytes = encodeTicket(frame, 576);
    expect([...bytes.subarray(0, 2)]).toEqual([0x1b, 0x40]); // ESC @ initialise
    const img = decodeRaster(bytes);
    expect(img.width).toBe(576);
    expect(img.height).toBe(Math.ceil(frame.height / 8) * 8);
    let mismatches = 0;
    let black = 0;
    for (let y = 0; y < frame.height; y++) {
      for (let x = 0; x < frame.width; x++) {
        const i = (y * frame.width + x) * 4;
        const lum = 0.299 * frame.data[i]! + 0.587 * frame.data[i + 1]! + 0.114 * frame.data[i + 2]!;
        const want = lum < 128;
        if (want) black++;
        if (img.dots[y]![x] !== want) mismatches++;
      }
    }
    expect(black).toBeGreaterThan(20_000); // there is a number and a QR code on it
    expect(mismatches / (frame.width * frame.height)).toBeLessThan(0.002); // threshold rounding only
    // padding rows are white
    for (let y = frame.height; y < img.height; y++) expect(img.dots[y]!.some(Boolean)).toBe(false);
    // GS V: the cut comes after the image
    const tail = Buffer.from(bytes.subarray(bytes.length - 16)).toString('hex');
    expect(tail).toContain('1d56');
    // Decoded, the bitmap is a ticket a person would recognise: keep it for a look.
    const png = new PNG({ width: img.width, height: img.height });
    for (let y = 0; y < img.height; y++) {
      for (let x = 0; x < img.width; x++) {
        const o = (y * img.width + x) * 4;
        const v = img.dots[y]![x] ? 0 : 255;
        png.data[o] = v;
        png.data[o + 1] = v;
        png.data[o + 2] = v;
        png.data[o + 3] = 255;
      }
    }
    const cache = join(GOLDEN_DIR, '..', '..', 'node_modules', '.cache', 'golden-diff');
    mkdirSync(cache, { recursive: true });
    writeFileSync(join(cache, 'ticket-raster-decoded.png'), PNG.sync.write(png));
    expect(PNG.sync.write(png).length).toBeGreaterThan(1000);
  });

  // The raster is made by hand (escpos.ts rasterCommands: one pass, one buffer); the library's
  // own image path, kept here as the reference, must give the very same bytes.
  function libraryEncode(image: Frame, widthDots: number): Uint8Array {
    const columns = [48, 44, 42, 35, 32].find((c) => c * 12 <= widthDots) ?? 32;
    const encoder = new ReceiptPrinterEncoder({ language: 'esc-pos', imageMode: 'raster', columns, feedBeforeCut: 4 });
    const data = new Uint8ClampedArray(image.data);
    return encoder
      .initialize()
      .align('center')
      .image({ data, width: image.width, height: image.height }, image.width, image.height, 'threshold', 128)
      .cut('partial')
      .encode();
  }

  it("gives the encoder library's own bytes: tickets, odd sizes, translucent pixels", () => {
    const same = (frame: Frame, widthDots: number): void => {
      expect(Buffer.from(encodeTicket(frame, widthDots)).equals(Buffer.from(libraryEncode(frame, widthDots)))).toBe(
        true,
      );
    };
    same(sampleTicket(), 576);
    same(sampleTicket(384), 384);
    // 13x300: neither side a multiple of 8, more rows than one GS v 0 band (255); every alpha and grey
    let seed = 7;
    const rnd = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % 256;
    };
    const width = 13;
    const height = 300;
    const data = new Uint8ClampedArray(width * height * 4).map(rnd);
    same({ width, height, data }, 576);
    // pixels one byte away from opaque paper or ink, beside paper and ink: red, green and blue ink,
    // ink and paper all but transparent, grey at the threshold
    const near = [
      [255, 0, 0, 255],
      [0, 255, 0, 255],
      [0, 0, 255, 255],
      [255, 255, 254, 255],
      [0, 0, 0, 254],
      [0, 0, 0, 1],
      [255, 255, 255, 0],
      [127, 127, 127, 255],
      [128, 128, 128, 255],
      [255, 255, 255, 255],
      [0, 0, 0, 255],
    ];
    const row = near.flat();
    same({ width: near.length, height: 2, data: Uint8ClampedArray.from([...row, ...row.reverse()]) }, 576);
    // pixels whose bytes do not start on a word (no 32-bit view of them): each pixel weighed alone
    const ticket = sampleTicket();
    const shifted = new Uint8ClampedArray(ticket.data.length + 1).subarray(1);
    shifted.set(ticket.data);
    same({ ...ticket, data: shifted }, 576);
  });

  it('refuses an image wider than the paper', () => {
    expect(() => encodeTicket(sampleTicket(), 384)).toThrow(RangeError);
  });
});

describe('status bytes', () => {
  // Bits 1 and 4 are always set in a status byte: 0x12 is "all fine".
  it('decodes online, paper near end, paper out, cover open', () => {
    expect(decodeStatus(0x12, 0x12, 0x12)).toEqual({ online: true, paper: 'ok', coverOpen: false, error: null });
    expect(decodeStatus(0x12, 0x12, 0x12 | 0x0c)).toMatchObject({ paper: 'near-end', error: null });
    expect(decodeStatus(0x12 | 0x08, 0x12 | 0x20, 0x12 | 0x60)).toMatchObject({
      online: false,
      paper: 'out',
      error: 'printer-paper-out',
    });
    expect(decodeStatus(0x12 | 0x08, 0x12 | 0x04, 0x12)).toMatchObject({
      coverOpen: true,
      error: 'printer-cover-open',
    });
    expect(decodeStatus(null, null, null)).toMatchObject({ online: false, error: 'printer-no-answer' });
    expect(decodeStatus(0xff, 0x12, 0x12)).toMatchObject({ error: 'printer-no-answer' }); // not a status byte
  });
});

/** A printer on the other end of the wire: answers DLE EOT queries, records what it was sent. */
class FakeWire implements PrinterTransport {
  isOpen = false;
  sent: Uint8Array[] = [];
  paper = 0x12;
  silent = false;
  failWrites = false;
  async open() {
    this.isOpen = true;
  }
  async write(bytes: Uint8Array) {
    if (this.failWrites) throw new Error('EIO');
    this.sent.push(bytes);
  }
  async query(cmd: readonly number[]) {
    if (this.silent) return null;
    if (cmd[2] === STATUS_QUERY.paper[2]) return this.paper;
    if (cmd[2] === STATUS_QUERY.offline[2]) return this.paper === 0x72 ? 0x32 : 0x12;
    return this.paper === 0x72 ? 0x1a : 0x12;
  }
  async close() {
    this.isOpen = false;
  }
}

describe('ESC/POS printer', () => {
  const opts = { device: '/dev/usb/lp0', widthDots: 576, statusTimeoutMs: 50 };

  it('is ready with paper, refuses with the Korean message without', async () => {
    const wire = new FakeWire();
    const p = new EscposPrinter(wire, opts, logger);
    await p.open();
    expect(await p.status()).toEqual({ online: true, paper: 'ok', ready: true, error: null });
    wire.paper = 0x72; // paper end bits 5 and 6
    const s = await p.status();
    expect(s).toMatchObject({ ready: false, paper: 'out', error: 'printer-paper-out' });
    expect(printerRefusal(s)).toEqual({ code: 'printer-paper-out', message: '용지 없음 — 직원에게 문의하세요' });
    wire.silent = true;
    expect(await p.status()).toMatchObject({ ready: false, online: false });
  });

  it('with statusQuery off, a printer that never answers is ready once its device opens', async () => {
    const wire = new FakeWire();
    wire.silent = true;
    const p = new EscposPrinter(wire, { ...opts, statusQuery: false }, logger);
    expect(await p.status()).toEqual({ online: true, paper: 'unknown', ready: true, error: null });
    const closed = new EscposPrinter(new DeviceTransport('/nonexistent/lp9'), { ...opts, statusQuery: false }, logger);
    expect(await closed.status()).toMatchObject({ ready: false, error: 'printer-open-failed' });
  });

  it('prints raster bytes and reports a failed write with a stable code', async () => {
    const wire = new FakeWire();
    const p = new EscposPrinter(wire, opts, logger);
    await p.print({ image: sampleTicket(), day: '2026-11-26', number: '1047' });
    expect(decodeRaster(wire.sent[0]!).width).toBe(576);
    expect(p.health().printed).toBe(1);
    wire.failWrites = true;
    await expect(p.print({ image: sampleTicket(), day: '2026-11-26', number: '1048' })).rejects.toMatchObject({
      code: 'printer-write-failed',
    });
    expect(p.health()).toMatchObject({ failed: 1, lastError: 'printer-write-failed' });
  });

  it('says a failing status query once per outage, not at every poll', async () => {
    const wire = new FakeWire();
    let failing = true;
    wire.query = async () => {
      if (failing) throw new Error('EIO: i/o error, read');
      return 0x12;
    };
    const lines: Array<{ level: number; code?: string }> = [];
    const log = pino({ level: 'debug' }, { write: (l: string) => lines.push(JSON.parse(l)) });
    const p = new EscposPrinter(wire, opts, log);
    for (let i = 0; i < 5; i++) expect(await p.status()).toMatchObject({ ready: false, error: 'printer-offline' });
    failing = false;
    expect(await p.status()).toMatchObject({ ready: true });
    failing = true;
    await p.status();
    const said = lines.filter((l) => l.code === 'printer-offline').map((l) => l.level);
    expect(said).toEqual([40, 20, 20, 20, 20, 40]);
  });

  it('reports a printer that cannot be opened as offline, with the open code (not an exception)', async () => {
    const p = new EscposPrinter(new DeviceTransport('/nonexistent/lp9'), opts, logger);
    expect(await p.status()).toMatchObject({ online: false, ready: false, error: 'printer-open-failed' });
    await expect(p.open()).rejects.toMatchObject({ code: 'printer-open-failed' });
  });
});

describe('device transport on a file posing as /dev/usb/lp0', () => {
  const dir = mkdtempSync(join(tmpdir(), 'beonho-lp-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes bytes through, and a query with no answer times out with null', async () => {
    const dev = join(dir, 'lp0');
    writeFileSync(dev, '');
    const t = new DeviceTransport(dev);
    await t.open();
    await t.write(Uint8Array.from([1, 2, 3]));
    expect(await t.query(STATUS_QUERY.printer, 30)).toBeNull();
    await t.close();
    expect([...readFileSync(dev)]).toEqual([1, 2, 3, 0x10, 0x04, 0x01]);
  });
});

/** A printer behind a non-blocking descriptor: its line takes `bytesPerSec` (in the test's fake
 * time) into a buffer of `room` bytes; a write finding the buffer full fails with EAGAIN, as
 * write(2) on a tty or usblp opened O_NONBLOCK does. `bytesPerSec: 0`: it takes nothing. */
class LineHandle implements DeviceHandle {
  taken: number[] = [];
  private queued = 0;
  private at = Date.now();
  constructor(
    private readonly bytesPerSec: number,
    private readonly room = 4096,
  ) {}
  async write(buffer: Uint8Array, offset: number, length: number) {
    const now = Date.now();
    this.queued = Math.max(0, this.queued - ((now - this.at) * this.bytesPerSec) / 1000);
    this.at = now;
    const n = Math.min(length, Math.floor(this.room - this.queued));
    if (n <= 0) throw Object.assign(new Error('EAGAIN: resource temporarily unavailable'), { code: 'EAGAIN' });
    this.queued += n;
    this.taken.push(...buffer.subarray(offset, offset + n));
    return { bytesWritten: n };
  }
  async read() {
    return { bytesRead: 0 };
  }
  async close() {}
}

describe('device transport on a slow or stuck line (fake time)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends a ticket that takes longer than the stall time over a slow serial line', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
    // 19200 baud 8N1: 1920 bytes a second; a ticket is ~72 KB, ~38 s on that line
    const line = new LineHandle(1920);
    const t = new DeviceTransport('/dev/ttyUSB0', { openDevice: async () => line });
    await t.open();
    const bytes = encodeTicket(sampleTicket(), 576);
    let result: string | null = null;
    t.write(bytes).then(
      () => (result = 'sent'),
      (err: Error) => (result = err.message),
    );
    await vi.advanceTimersByTimeAsync(60_000);
    expect(result).toBe('sent');
    expect(line.taken).toHaveLength(bytes.length);
    await t.close();
  });

  /** A write of 3,000 bytes to a printer that takes 1,000 and then nothing, 5 s allowed without
   * progress; what it came to so far. */
  async function stalledWrite() {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
    const line = new LineHandle(0, 1000);
    const t = new DeviceTransport('/dev/usb/lp0', { openDevice: async () => line, writeTimeoutMs: 5000 });
    await t.open();
    const w = { result: null as string | null, close: () => t.close() };
    t.write(new Uint8Array(3000)).then(
      () => (w.result = 'sent'),
      (err: Error) => (w.result = err.message),
    );
    return w;
  }

  it('fails a write once the printer has taken nothing for the stall time', async () => {
    const w = await stalledWrite();
    await vi.advanceTimersByTimeAsync(4000);
    expect(w.result).toBeNull();
    await vi.advanceTimersByTimeAsync(2000);
    expect(w.result).toBe('printer accepted 1000 of 3000 bytes and then stalled');
    await w.close();
  });

  it('fails a stalled write after the stall time though the wall clock stepped back an hour meanwhile', async () => {
    const w = await stalledWrite();
    await vi.advanceTimersByTimeAsync(100);
    vi.setSystemTime(Date.now() - 3_600_000); // NTP, or an admin's date -s
    await vi.advanceTimersByTimeAsync(6000);
    expect(w.result).toBe('printer accepted 1000 of 3000 bytes and then stalled');
    await w.close();
  });

  it('a status query to a printer that takes no byte is no answer within the query time, not the write stall time', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
    const line = new LineHandle(0, 0);
    const t = new DeviceTransport('/dev/usb/lp0', { openDevice: async () => line });
    await t.open();
    let answer: number | null | string = 'pending';
    t.query(STATUS_QUERY.printer, 400).then(
      (a) => (answer = a),
      (err: Error) => (answer = err.message),
    );
    await vi.advanceTimersByTimeAsync(1000);
    expect(answer).toBeNull();
    await t.close();
  });
});

describe('sim printer and createPrinter', () => {
  const dir = mkdtempSync(join(tmpdir(), 'beonho-sim-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const base = {
    office: { id: 'yeoksam1', name: '역삼1동 행정복지센터' },
    services: [{ id: 'resident', name: '주민등록', numbers: { from: 1001, to: 1999 } }],
    counters: [{ id: '1', name: '1번 창구', services: ['resident'] }],
  };

  it('writes <dataDir>/sim/tickets/<day>-<number>.png and can run out of paper', async () => {
    const p = createPrinter(configSchema.parse(base), dir, logger);
    expect(p.kind).toBe('sim');
    await p.print({ image: sampleTicket(), day: '2026-11-26', number: '1047' });
    const file = join(dir, 'sim', 'tickets', '2026-11-26-1047.png');
    expect(existsSync(file)).toBe(true);
    expect(PNG.sync.read(readFileSync(file)).width).toBe(576);
    (p as SimPrinter).setPaper('out');
    expect(await p.status()).toMatchObject({ ready: false, error: 'printer-paper-out' });
  });

  it('an escpos printer without a ticket secret fails at build time with a code', () => {
    const cfg = configSchema.parse({ ...base, outputs: { printer: { driver: 'escpos' } } });
    const env = process.env.BEONHO_TICKET_SECRET;
    delete process.env.BEONHO_TICKET_SECRET;
    try {
      expect(() => createPrinter(cfg, dir, logger)).toThrow(
        expect.objectContaining({ code: 'printer-ticket-secret-missing' }),
      );
    } finally {
      if (env !== undefined) process.env.BEONHO_TICKET_SECRET = env;
    }
    const ok = configSchema.parse({
      ...base,
      outputs: { printer: { driver: 'escpos', ticketSecret: 'a-long-enough-secret' } },
    });
    expect(createPrinter(ok, dir, logger).kind).toBe('escpos');
  });
});

describe('ticket output for the dispenser', () => {
  const dir = mkdtempSync(join(tmpdir(), 'beonho-out-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses while out of paper, then prints the issued ticket under the queue day', async () => {
    const { PrinterTicketOutput } = await import('../display/printer/ticket-output.ts');
    const config = configSchema.parse({
      office: { id: 'yeoksam1', name: '역삼1동 행정복지센터' },
      services: [{ id: 'resident', name: '주민등록 등·초본', numbers: { from: 1001, to: 1999 } }],
      counters: [{ id: '1', name: '1번 창구', services: ['resident'] }],
    });
    const printer = new SimPrinter(join(dir, 'tickets'), logger);
    const seen: boolean[] = [];
    const out = new PrinterTicketOutput({
      config,
      printer,
      queue: { state: () => ({ day: '2026-11-26' }) as never },
      onStatus: (s) => seen.push(s.ready),
    });
    printer.setPaper('out');
    expect(await out.unavailable()).toEqual({ code: 'printer-paper-out', message: '용지 없음 — 직원에게 문의하세요' });
    printer.setPaper('ok');
    expect(await out.unavailable()).toBeNull();
    expect(seen).toEqual([false, true]);
    const ticket = {
      number: '1047',
      service: 'resident',
      channel: 'kiosk' as const,
      priority: false,
      ahead: 3,
      estimatedWaitMin: 12,
    };
    await out.print(ticket, '2026-11-27T00:00:05.000+09:00');
    const png = PNG.sync.read(readFileSync(join(dir, 'tickets', '2026-11-26-1047.png')));
    expect(png.width).toBe(576);
  });
});
