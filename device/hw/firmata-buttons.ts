// Dispenser buttons on an Arduino running StandardFirmata, for kiosks whose host has no GPIO.
// johnny-five Button objects report the pins; the same debounce and rate limit as the GPIO driver
// apply on top. When the board is lost (cable pulled, Arduino reset) we tear it down and
// reconnect with a doubling backoff, reporting each step in health.
import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import type { FirmataButtonsConfig } from '../config/hardware-schema.ts';
import type { ButtonPress, ButtonSource } from '../ports/buttons.ts';
import type { ComponentHealth } from '../ports/health.ts';
import { ButtonHealth } from './button-health.ts';
import { type HardwareErrorCode, HardwareError, messageOf } from './errors.ts';
import { type FiveBoard, type FiveButton, type FiveModule, loadJohnnyFive } from './native.ts';
import { ButtonFilter } from './press-filter.ts';

export interface FirmataButtonsOptions {
  config: FirmataButtonsConfig;
  logger: Logger;
  /** loads johnny-five; tests pass the real one */
  load?: () => Promise<FiveModule>;
  /** builds the Firmata IO for a port; tests pass a mock board. Default: johnny-five opens the port. */
  io?: (port: string) => unknown;
  now?: () => number;
  onHealth?: (health: ComponentHealth) => void;
}

/** Failures at start that a cable or a moment mends: reported, then retried. */
const RETRIED_AT_START = new Set<HardwareErrorCode>(['firmata-port-missing', 'firmata-timeout', 'firmata-error']);

interface Attached {
  board: FiveBoard;
  buttons: Array<{ pin: number; button: FiveButton; filter: ButtonFilter }>;
}

export class FirmataButtonSource implements ButtonSource {
  readonly kind = 'firmata';
  private five: FiveModule | null = null;
  private attached: Attached | null = null;
  private onPress: ((p: ButtonPress) => void) | null = null;
  private retry: ReturnType<typeof setTimeout> | null = null;
  /** gives up the connect in progress: stop() must not leave a board to attach after it */
  private pending: (() => void) | null = null;
  private backoffMs: number;
  private stopped = false;
  private readonly state: ButtonHealth;

  constructor(private readonly o: FirmataButtonsOptions) {
    this.state = new ButtonHealth(o.onHealth);
    this.backoffMs = o.config.reconnectMinMs;
  }

  async start(onPress: (press: ButtonPress) => void): Promise<void> {
    this.stopped = false;
    this.onPress = onPress;
    const { config, logger } = this.o;
    try {
      this.five = await (this.o.load ?? loadJohnnyFive)();
      if (!this.o.io && config.port.startsWith('/dev/') && !existsSync(config.port)) {
        throw new HardwareError(
          'firmata-port-missing',
          `serial port ${config.port} does not exist: plug in the Arduino, or find its port with "npm run hw -- list".`,
        );
      }
      await this.connect();
    } catch (err) {
      const e = err instanceof HardwareError ? err : new HardwareError('firmata-error', messageOf(err), { cause: err });
      this.state.fail(e.code, e.message, logger);
      // An Arduino unplugged or not answering at start is a cable, not a reason to keep the office
      // shut (its board, keypads and online tickets work without the dispenser): it is reported
      // and tried again as after a loss. What no retry mends stops the start: johnny-five missing,
      // the port's permissions.
      if (!this.five || !RETRIED_AT_START.has(e.code)) throw e;
      this.scheduleReconnect();
    }
  }

  /** Opens the board and wires the buttons; resolves on "ready", rejects on error or timeout. */
  private connect(): Promise<void> {
    const { config, logger } = this.o;
    const five = this.five!;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const common = { repl: false, debug: false, sigint: false, timeout: config.readyTimeoutMs };
      let board: FiveBoard;
      try {
        board = new five.Board(
          this.o.io ? { ...common, io: this.o.io(config.port) } : { ...common, port: config.port },
        );
      } catch (err) {
        reject(this.classify(err));
        return;
      }
      const timer = setTimeout(() => {
        fail(
          new HardwareError(
            'firmata-timeout',
            `no answer from the board on ${config.port} within ${config.readyTimeoutMs} ms: is StandardFirmata uploaded to the Arduino?`,
          ),
        );
      }, config.readyTimeoutMs);
      const fail = (err: unknown): void => {
        if (settled) return;
        settled = true;
        this.pending = null;
        clearTimeout(timer);
        this.teardown({ board, buttons: [] });
        reject(this.classify(err));
      };
      this.pending = () => {
        if (settled) return;
        settled = true;
        this.pending = null;
        clearTimeout(timer);
        this.teardown({ board, buttons: [] });
        resolve();
      };
      board.on('error', fail);
      board.on('ready', () => {
        if (settled) return;
        settled = true;
        this.pending = null;
        clearTimeout(timer);
        board.removeListener('error', fail);
        this.attached = this.wire(board);
        const lost = (why: unknown): void => this.lost(board, why);
        for (const ev of ['close', 'disconnect', 'error', 'exit']) board.on(ev, lost);
        // An Arduino that resets (its reset button, a brown-out, a static discharge down a button
        // cable, a program probing the port) keeps the serial port open but comes back with its
        // pins as plain inputs and nothing reported: the buttons would be dead behind a healthy
        // status. StandardFirmata announces its version when it starts, which is how the reset
        // shows; the board is then set up again as after a loss.
        const io = board.io as { on?: (ev: string, cb: () => void) => unknown } | undefined;
        io?.on?.('reportversion', () => lost(new Error('the Arduino restarted')));
        this.backoffMs = config.reconnectMinMs;
        logger.info({ port: config.port, pins: config.pins.map((p) => p.pin) }, 'Firmata buttons attached');
        this.state.connect();
        resolve();
      });
    });
  }

  private wire(board: FiveBoard): Attached {
    const { config, logger } = this.o;
    const five = this.five!;
    const buttons = config.pins.map(({ pin, button: id }) => {
      // isPullup switches on the Arduino's internal pull-up and inverts: a press reads 0.
      const button = new five.Button({ pin, board, isPullup: config.activeLow, invert: config.activeLow });
      const filter = new ButtonFilter({
        button: id,
        debounceMs: config.debounceMs,
        rateLimitMs: config.rateLimitMs,
        now: this.o.now ?? Date.now,
        logger,
        sample: () => button.isDown,
        onPress: (b) => {
          this.state.pressed(b);
          this.onPress?.({ button: b });
        },
        onRejected: () => this.state.rejectedPress(id),
      });
      button.on('down', () => filter.debouncer.edge());
      button.on('up', () => filter.debouncer.edge());
      // The board's first report of a pin is its level when reporting starts. A button down then
      // (jammed, or leaned on while the board reconnected) is where it rests, not a press: as the
      // GPIO driver's level at start, or every reconnect would print a ticket.
      const io = board.io as { once?: (ev: string, cb: () => void) => unknown } | undefined;
      io?.once?.(`digital-read-${pin}`, () => {
        if (button.isDown) filter.debouncer.cancel(true);
      });
      return { pin, button, filter };
    });
    return { board, buttons };
  }

  private lost(board: FiveBoard, why: unknown): void {
    if (this.stopped || this.attached?.board !== board) return;
    this.teardown(this.attached);
    this.attached = null;
    this.state.fail(
      'firmata-board-lost',
      `the board on ${this.o.config.port} was lost (${messageOf(why ?? 'closed')}); reconnecting`,
      this.o.logger,
    );
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.o.config.reconnectMaxMs);
    // the first retry of an outage is news; the rest of a week-long one are not
    const first = delay === this.o.config.reconnectMinMs;
    this.o.logger[first ? 'info' : 'debug'](
      { port: this.o.config.port, delayMs: delay },
      'Firmata reconnect scheduled',
    );
    this.retry = setTimeout(() => {
      this.retry = null;
      if (this.stopped) return;
      this.connect().catch((err: HardwareError) => {
        if (this.stopped) return;
        this.state.fail(err.code, err.message, this.o.logger);
        this.scheduleReconnect();
      });
    }, delay);
  }

  /** Drops a board: no event from it may reach the queue afterwards. */
  private teardown(a: Attached): void {
    for (const b of a.buttons) {
      b.filter.debouncer.cancel();
      b.button.removeAllListeners();
      // A Button held down keeps a "hold" interval that only an "up" reading clears; feed it one
      // so a board lost mid-press leaves no timer behind.
      const io = a.board.io as { emit?: (ev: string, v: number) => void } | undefined;
      try {
        if (b.button.isDown) io?.emit?.(`digital-read-${b.pin}`, this.o.config.activeLow ? 1 : 0);
      } catch {
        // best effort: the io is going away anyway
      }
    }
    a.board.removeAllListeners();
    // A late error from a dropped board must not become an uncaught exception.
    a.board.on('error', () => {});
    // johnny-five's own wait for "ready" would fire readyTimeoutMs later and hold the process.
    const jfTimer = (a.board as { timer?: ReturnType<typeof setTimeout> | null }).timer;
    if (jfTimer) clearTimeout(jfTimer);
    // johnny-five keeps every Board it made in a module-level list: with the Arduino unplugged for
    // a weekend, one board (its Firmata io and serial port object) per reconnect attempt, every
    // 30 s, would pile up until the Pi ran out of memory.
    const cache = this.five?.Board.cache;
    const at = cache?.indexOf(a.board) ?? -1;
    if (at >= 0) cache?.splice(at, 1);
    const transport = (
      a.board.io as { transport?: { isOpen?: boolean; close?: (cb?: () => void) => void } } | undefined
    )?.transport;
    try {
      if (transport?.isOpen) transport.close?.(() => {});
    } catch {
      // already closed by the loss itself
    }
  }

  private classify(err: unknown): HardwareError {
    if (err instanceof HardwareError) return err;
    const msg = messageOf(err);
    const port = this.o.config.port;
    let code: HardwareErrorCode = 'firmata-error';
    let hint = 'check the cable and that StandardFirmata is uploaded to the Arduino';
    // serialport says "Permission denied, cannot open <port>": the permission first
    if (/EACCES|Permission denied/i.test(msg)) {
      code = 'firmata-port-denied';
      hint = `add the daemon's user to the "dialout" group (sudo usermod -aG dialout <user>)`;
    } else if (/ENOENT|No such file|cannot open/i.test(msg)) {
      code = 'firmata-port-missing';
      hint = `plug in the Arduino, or find its port with "npm run hw -- list"`;
    } else if (/timeout/i.test(msg)) {
      code = 'firmata-timeout';
    }
    return new HardwareError(code, `${port}: ${msg}: ${hint}.`, { cause: err });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    this.pending?.();
    if (this.attached) this.teardown(this.attached);
    this.attached = null;
    this.state.disconnect();
  }

  health(): ComponentHealth {
    return { ...this.state.snapshot(), port: this.o.config.port };
  }
}
