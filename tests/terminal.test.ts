// The terminal control runs its lines strictly in order: a line's work is finished before the next
// starts. A press asks the printer for its status before it issues; with a slow printer, a key piped
// right behind the press must still find the ticket the press issued.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { type Logger, pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildDaemon, type Daemon } from '../device/app.ts';
import type { PrinterStatus } from '../device/ports/outputs.ts';
import type { Snapshot } from '../device/queue/snapshot-types.ts';
import { formatState } from '../sim/terminal.ts';
import { bootConfig, FakePrinter } from './helpers/boot.ts';
import { Clock } from './helpers/office.ts';

/** A printer whose status answers only when the test lets it (a slow USB printer). */
class SlowPrinter extends FakePrinter {
  /** off while the daemon starts (the printer feature asks for the status then too) */
  slow = false;
  asked = 0;
  private waiting: Array<() => void> = [];
  private onAsk: (() => void) | null = null;

  override async status(): Promise<PrinterStatus> {
    if (this.slow) {
      this.asked++;
      this.onAsk?.();
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    return super.status();
  }

  /** Resolves once the status has been asked `n` times in all. */
  async askedTimes(n: number): Promise<void> {
    while (this.asked < n) await new Promise<void>((resolve) => (this.onAsk = resolve));
  }

  answer(): void {
    for (const resolve of this.waiting.splice(0)) resolve();
  }
}

/** Lets every pending promise and I/O callback run, several rounds deep. */
async function drain(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

let dir: string;
let daemon: Daemon | null = null;
let printer: SlowPrinter | null = null;
let input: PassThrough;
const lines: string[] = [];
const waiters: Array<{ re: RegExp; resolve: () => void }> = [];

function write(line: string): void {
  lines.push(line);
  for (const w of [...waiters]) {
    if (w.re.test(line)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  }
}

/** Resolves when the terminal writes a line matching `re` (bounded by the test's own timeout). */
function written(re: RegExp): Promise<void> {
  if (lines.some((l) => re.test(l))) return Promise.resolve();
  return new Promise((resolve) => waiters.push({ re, resolve }));
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'beonho-terminal-'));
  lines.length = 0;
  input = new PassThrough();
});
afterEach(async () => {
  input.end();
  // a failed test may leave a press waiting for the printer: let it through so the stop can finish
  if (printer) {
    printer.slow = false;
    printer.answer();
  }
  printer = null;
  await daemon?.stop();
  daemon = null;
  await rm(dir, { recursive: true, force: true });
});

async function start(slow: SlowPrinter): Promise<Daemon> {
  printer = slow;
  const clock = new Clock();
  daemon = buildDaemon(bootConfig(), {
    dataDir: dir,
    logger: pino({ level: 'silent' }) as Logger,
    now: clock.now,
    tickMs: 3_600_000,
    features: ['dayRoll', 'printer'],
    // only the printer is handed in: the buttons and keypads are the simulator's, as under `npm start`
    hardware: { printer: slow },
    terminal: { input, write },
    systemd: { env: {} },
  });
  await daemon.start();
  slow.slow = true;
  expect(daemon.parts.terminal).toBe(true);
  return daemon;
}

describe('the terminal control', () => {
  it('a key piped behind a press waits for the press, however slow the printer', async () => {
    const p = new SlowPrinter();
    await start(p);
    input.write('press resident\nkey 1 next\nstate\n');
    await p.askedTimes(1);
    await drain(); // time for a line that would not wait its turn to run
    // the press is waiting for the printer: nothing after it has run
    expect(p.asked).toBe(1);
    expect(lines).toEqual([]);
    p.answer();
    await written(/서비스|창구/);
    expect(lines[0]).toMatch(/^ticket 1001 \(resident\): 0 ahead/);
    expect(lines[1]).toBe('call 1001 -> counter 1');
    expect(lines[2]).toMatch(/\(open\)/);
    expect(lines.join('\n')).toMatch(/1번 창구: serving 1001/);
    expect(lines.join('\n')).not.toMatch(/refused/);
    expect(p.jobs.map((j) => j.number)).toEqual(['1001']);
  });

  it('lines run one after the other: each press is printed before the next line starts', async () => {
    const p = new SlowPrinter();
    await start(p);
    input.write('press resident\npress seal\nkey 1 next\nkey 2 next\n');
    for (const [i, n] of ['1001', '3001'].entries()) {
      await p.askedTimes(i + 1);
      await drain();
      expect(p.asked).toBe(i + 1);
      p.answer();
      await written(new RegExp(`^ticket ${n} `));
    }
    await written(/^(call 3001|refused)/);
    expect(lines.filter((l) => /^(ticket|call|refused)/.test(l))).toEqual([
      expect.stringMatching(/^ticket 1001 /),
      expect.stringMatching(/^ticket 3001 /),
      'call 1001 -> counter 1',
      'call 3001 -> counter 2',
    ]);
  });

  it('a stop waits for the line under way and drops the lines not yet started', async () => {
    const p = new SlowPrinter();
    const d = await start(p);
    input.write('press resident\nkey 1 next\n');
    await p.askedTimes(1);
    const stopped = d.stop();
    p.answer();
    await stopped;
    daemon = null;
    expect(lines.filter((l) => /^(ticket|call|refused)/.test(l))).toEqual([expect.stringMatching(/^ticket 1001 /)]);
  });
});

describe('state', () => {
  // Hangul takes two terminal columns; padded by characters, 여권's line began its count two
  // columns left of 주민등록's.
  it('lines the waiting counts up under Korean service names', () => {
    const service = (name: string, waiting: number) => ({
      id: name,
      name,
      waiting,
      lastIssued: null,
      lastCalled: null,
      estimatedWaitMin: 0,
      accepting: true,
    });
    const snapshot = {
      name: '신곡2동 행정복지센터',
      day: '2026-12-03',
      open: true,
      seq: 5,
      services: [service('주민등록', 1), service('여권', 12), service('인감/제증명', 0), service('ab', 3)],
      counters: [],
      notice: null,
    } as unknown as Snapshot;
    const columns = formatState({ snapshot: () => snapshot })
      .split('\n')
      .slice(1)
      .map((line) => {
        const before = line.slice(0, line.indexOf(' waiting'));
        return [...before].reduce((n, ch) => n + (/[\uac00-\ud7a3]/.test(ch) ? 2 : 1), 0);
      });
    expect(new Set(columns).size).toBe(1);
  });
});
