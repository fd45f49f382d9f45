// Firmata buttons through real johnny-five Board and Button objects on a mock Firmata board
// whose pins the test toggles.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { FirmataButtonsConfig } from '../device/config/hardware-schema.ts';
import { hardwareSchema } from '../device/config/hardware-schema.ts';
import { FirmataButtonSource } from '../device/hw/firmata-buttons.ts';
import { loadJohnnyFive } from '../device/hw/native.ts';
import { captureLogger, TestFirmata } from './hw-fakes.ts';

const INPUT = 0;

function firmataConfig(extra: Record<string, unknown> = {}): FirmataButtonsConfig {
  const hw = hardwareSchema.parse({
    buttons: {
      driver: 'firmata',
      port: '/dev/ttyACM0',
      pins: [
        { pin: 2, button: 'resident' },
        { pin: 3, button: 'priority' },
      ],
      ...extra,
    },
  });
  if (hw.buttons.driver !== 'firmata') throw new Error('expected firmata');
  return hw.buttons;
}

let t = 0;
beforeEach(() => {
  vi.useFakeTimers();
  t = 0;
});
afterEach(() => vi.useRealTimers());

/** Builds the source; `boards` receives each mock board the driver opens (one per connect). */
function source(extra: Record<string, unknown> = {}, io?: () => TestFirmata) {
  const boards: TestFirmata[] = [];
  const presses: string[] = [];
  const { logger, lines } = captureLogger();
  const src = new FirmataButtonSource({
    config: firmataConfig(extra),
    logger,
    load: loadJohnnyFive,
    io: () => {
      const b = io ? io() : new TestFirmata();
      boards.push(b);
      return b;
    },
    now: () => t,
  });
  return { src, boards, presses, lines, start: () => src.start((p) => presses.push(p.button)) };
}

/** press and release with contact bounce, as a real switch does */
async function press(board: TestFirmata, pin: number): Promise<void> {
  for (const v of [0, 1, 0, 1, 0] as const) {
    board.setPin(pin, v);
    await vi.advanceTimersByTimeAsync(2);
  }
  await vi.advanceTimersByTimeAsync(50);
  for (const v of [1, 0, 1] as const) board.setPin(pin, v);
  await vi.advanceTimersByTimeAsync(50);
}

describe('Firmata buttons', () => {
  it('switches on the pull-ups and counts a bouncing press once', async () => {
    const s = source();
    await s.start();
    const board = s.boards[0]!;
    // johnny-five enables the AVR's pull-up the classic way: INPUT, then write HIGH
    expect(board.modes.get(2)).toBe(INPUT);
    expect(board.modes.get(3)).toBe(INPUT);
    expect(board.writes).toEqual(
      expect.arrayContaining([
        [2, 1],
        [3, 1],
      ]),
    );
    await press(board, 2);
    await press(board, 3);
    expect(s.presses).toEqual(['resident', 'priority']);
    expect(s.src.health()).toMatchObject({ connected: true, lastError: null, port: '/dev/ttyACM0' });
    await s.src.stop();
  });

  it('rate-limits a hammered button and reports it', async () => {
    const s = source({ rateLimitMs: 3000 });
    await s.start();
    for (let i = 0; i < 4; i++) {
      t = i * 500;
      await press(s.boards[0]!, 2);
    }
    t = 3000;
    await press(s.boards[0]!, 2);
    expect(s.presses).toEqual(['resident', 'resident']);
    expect(s.src.health()).toMatchObject({ rejected: 3, rejectedByButton: { resident: 3 } });
    await s.src.stop();
  });

  it('reconnects with a doubling backoff after the board is lost, and reports it', async () => {
    // connect #1 works; #2 cannot open the port; #3 works again
    let calls = 0;
    const s = source({ reconnectMinMs: 1000 }, () => {
      calls += 1;
      if (calls === 2) throw new Error('Error: cannot open /dev/ttyACM0');
      return new TestFirmata();
    });
    await s.start();
    const first = s.boards[0]!;
    first.emit('close');
    expect(s.src.health()).toMatchObject({ connected: false, lastError: 'firmata-board-lost' });
    await vi.advanceTimersByTimeAsync(999);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(1); // attempt 2, after 1000 ms, fails
    expect(calls).toBe(2);
    expect(s.src.health()).toMatchObject({ connected: false, lastError: 'firmata-port-missing' });
    await vi.advanceTimersByTimeAsync(1999);
    expect(calls).toBe(2);
    await vi.advanceTimersByTimeAsync(1); // attempt 3, after 2000 ms more, works
    expect(calls).toBe(3);
    expect(s.src.health()).toMatchObject({ connected: true, reconnects: 1 });
    // the lost board's pins no longer reach the queue; the new board's do
    await press(first, 2);
    expect(s.presses).toEqual([]);
    await press(s.boards[1]!, 3);
    expect(s.presses).toEqual(['priority']);
    await s.src.stop();
  });

  it('a board lost mid-press gives no press', async () => {
    const s = source();
    await s.start();
    const board = s.boards[0]!;
    board.setPin(2, 0);
    await vi.advanceTimersByTimeAsync(5);
    board.emit('disconnect');
    await vi.advanceTimersByTimeAsync(200);
    expect(s.presses).toEqual([]);
    await s.src.stop();
  });

  it('stop leaves no timer behind, even with a button held down', async () => {
    const s = source();
    await s.start();
    s.boards[0]!.setPin(2, 0);
    await vi.advanceTimersByTimeAsync(100);
    await s.src.stop();
    // johnny-five's own 7 ms debounce of the "up" we fed it may still run once; no interval stays
    await vi.advanceTimersByTimeAsync(10);
    expect(vi.getTimerCount()).toBe(0);
    expect(s.src.health().connected).toBe(false);
  });

  it('stop during a reconnect attempt leaves no timer, and a board answering afterwards attaches nothing', async () => {
    let calls = 0;
    const s = source({ reconnectMinMs: 1000, readyTimeoutMs: 15_000 }, () => {
      calls += 1;
      const b = new TestFirmata(calls === 1);
      // attempt 2: the port opens (johnny-five starts its own wait for "ready"), the board is silent
      if (calls === 2) process.nextTick(() => b.emit('connect'));
      return b;
    });
    await s.start();
    s.boards[0]!.emit('close');
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toBe(2);
    await s.src.stop();
    expect(vi.getTimerCount()).toBe(0);
    const late = s.boards[1]!;
    late.emit('ready');
    await vi.advanceTimersByTimeAsync(10);
    await press(late, 2);
    expect(s.presses).toEqual([]);
    expect(s.src.health().connected).toBe(false);
  });

  it('an Arduino that resets with the port open (its version announced again) is set up again', async () => {
    const s = source({ reconnectMinMs: 1000 });
    await s.start();
    const first = s.boards[0]!;
    first.emit('reportversion');
    expect(s.src.health()).toMatchObject({ connected: false, lastError: 'firmata-board-lost' });
    expect(s.lines.some((l) => l.code === 'firmata-board-lost' && /restarted/.test(String(l.msg)))).toBe(true);
    await vi.advanceTimersByTimeAsync(1000);
    expect(s.boards).toHaveLength(2);
    expect(s.src.health()).toMatchObject({ connected: true });
    // the pull-ups and reporting are set on the board as it is now
    expect(s.boards[1]!.modes.get(2)).toBe(INPUT);
    await press(first, 2);
    await press(s.boards[1]!, 2);
    expect(s.presses).toEqual(['resident']);
    await s.src.stop();
  });

  it('a button held down while the board (re)connects is not a press; its next press is', async () => {
    const held = new TestFirmata();
    held.levels.set(2, 0); // leaned on, or jammed, as the board starts reporting
    const s = source({}, () => held);
    await s.start();
    await vi.advanceTimersByTimeAsync(100);
    expect(s.presses).toEqual([]);
    held.setPin(2, 1);
    await vi.advanceTimersByTimeAsync(100);
    expect(s.presses).toEqual([]);
    await press(held, 2);
    expect(s.presses).toEqual(['resident']);
    await s.src.stop();
  });

  it('reconnect attempts to a missing Arduino do not pile up boards in johnny-five', async () => {
    const five = await loadJohnnyFive();
    const before = five.Board.cache?.length ?? 0;
    let calls = 0;
    const s = source({ reconnectMinMs: 1000, reconnectMaxMs: 1000, readyTimeoutMs: 1000 }, () => {
      calls += 1;
      return new TestFirmata(calls === 1);
    });
    await s.start();
    s.boards[0]!.emit('disconnect');
    await vi.advanceTimersByTimeAsync(20 * 2000); // ten attempts, each timing out
    expect(calls).toBeGreaterThanOrEqual(10);
    expect(s.src.health()).toMatchObject({ connected: false, lastError: 'firmata-timeout' });
    await s.src.stop();
    expect(five.Board.cache?.length).toBe(before);
  });

  it('an Arduino away for hours is said once, not at every attempt; its return is said too', async () => {
    let calls = 0;
    let back = false;
    const s = source({ reconnectMinMs: 1000, reconnectMaxMs: 30_000, readyTimeoutMs: 1000 }, () => {
      calls += 1;
      return new TestFirmata(calls === 1 || back);
    });
    await s.start();
    s.boards[0]!.emit('disconnect');
    await vi.advanceTimersByTimeAsync(6 * 3600_000);
    expect(calls).toBeGreaterThan(600);
    const said = () => s.lines.filter((l) => (l.level as number) >= 30).map((l) => l.code ?? l.msg);
    expect(said()).toEqual([
      'Firmata buttons attached',
      'firmata-board-lost',
      'Firmata reconnect scheduled',
      'firmata-timeout',
    ]);
    expect(s.src.health()).toMatchObject({ connected: false, lastError: 'firmata-timeout' });
    back = true;
    await vi.advanceTimersByTimeAsync(31_000);
    expect(s.src.health()).toMatchObject({ connected: true });
    expect(said().at(-1)).toBe('Firmata buttons attached');
    await s.src.stop();
  });

  it('a board that never answers at start is reported, and the office starts; it is attached once it answers', async () => {
    // the first two connects get no answer (StandardFirmata not yet running); the third does
    let calls = 0;
    const s = source({ readyTimeoutMs: 5000, reconnectMinMs: 1000 }, () => {
      calls += 1;
      return new TestFirmata(calls > 2);
    });
    const started = s.start().then(
      () => null,
      (e: unknown) => e,
    );
    await vi.advanceTimersByTimeAsync(5000);
    expect(await started).toBeNull();
    expect(s.src.health()).toMatchObject({
      connected: false,
      lastError: 'firmata-timeout',
      lastErrorMessage: expect.stringMatching(/StandardFirmata/),
    });
    expect(s.lines.some((l) => l.code === 'firmata-timeout')).toBe(true);
    await vi.advanceTimersByTimeAsync(1000 + 5000); // attempt 2: no answer either
    expect(calls).toBe(2);
    await vi.advanceTimersByTimeAsync(2000); // attempt 3 answers
    expect(calls).toBe(3);
    expect(s.src.health()).toMatchObject({ connected: true });
    await press(s.boards[2]!, 2);
    expect(s.presses).toEqual(['resident']);
    await s.src.stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a serial port that does not exist at start is reported with what to do, and tried again', async () => {
    const { logger, lines } = captureLogger();
    const src = new FirmataButtonSource({
      config: firmataConfig({ port: '/dev/ttyACM-nonexistent', reconnectMinMs: 1000 }),
      logger,
      load: loadJohnnyFive,
    });
    await src.start(() => {});
    expect(src.health()).toMatchObject({
      connected: false,
      lastError: 'firmata-port-missing',
      lastErrorMessage: expect.stringMatching(/npm run hw -- list/),
    });
    expect(lines.some((l) => l.code === 'firmata-port-missing')).toBe(true);
    expect(lines.some((l) => l.msg === 'Firmata reconnect scheduled')).toBe(true);
    await src.stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a port the daemon may not open still stops the start (no retry mends a missing group)', async () => {
    // serialport's words, which also say "cannot open": not taken for a missing port
    const s = source({}, () => {
      throw new Error('Error: Permission denied, cannot open /dev/ttyACM0');
    });
    await expect(s.start()).rejects.toMatchObject({ code: 'firmata-port-denied' });
    expect(vi.getTimerCount()).toBe(0);
  });
});
