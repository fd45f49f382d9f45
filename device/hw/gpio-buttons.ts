// Dispenser buttons wired to the Pi's header, read through sysfs GPIO (onoff). Each pin is
// watched on both edges; the level is sampled again once the contact has settled (debounce), and
// an accepted press goes through the per-button rate limit.
import type { Logger } from 'pino';
import type { GpioButtonsConfig } from '../config/hardware-schema.ts';
import type { ButtonPress, ButtonSource } from '../ports/buttons.ts';
import type { ComponentHealth } from '../ports/health.ts';
import { errnoOf, HardwareError, messageOf } from './errors.ts';
import { gpioBase, sysfsNumber } from './gpio-numbering.ts';
import { ButtonHealth } from './button-health.ts';
import { type GpioModule, type GpioPin, loadOnoff } from './native.ts';
import { ButtonFilter } from './press-filter.ts';

export interface GpioButtonsOptions {
  config: GpioButtonsConfig;
  logger: Logger;
  /** loads onoff; tests pass a fake Gpio class */
  load?: () => Promise<GpioModule>;
  /** where the gpiochips are listed; tests pass a temporary directory */
  sysfsRoot?: string;
  now?: () => number;
  onHealth?: (health: ComponentHealth) => void;
}

interface Wired {
  bcm: number;
  gpio: GpioPin;
  filter: ButtonFilter;
}

export class GpioButtonSource implements ButtonSource {
  readonly kind = 'gpio';
  private wired: Wired[] = [];
  private readonly state: ButtonHealth;

  constructor(private readonly o: GpioButtonsOptions) {
    this.state = new ButtonHealth(o.onHealth);
  }

  async start(onPress: (press: ButtonPress) => void): Promise<void> {
    const { config, logger } = this.o;
    try {
      const { Gpio } = await (this.o.load ?? loadOnoff)();
      if (!Gpio.accessible) {
        throw new HardwareError(
          'gpio-not-accessible',
          '/sys/class/gpio/export cannot be opened: this is not a Raspberry Pi, or the daemon\'s user is not in the "gpio" group (sudo usermod -aG gpio <user>, then log in again).',
        );
      }
      const base = await gpioBase({ sysfsRoot: this.o.sysfsRoot, override: config.gpioBase });
      const activeValue = config.activeLow ? 0 : 1;
      for (const { pin, button } of config.pins) {
        const gpio = this.open(Gpio, pin, base);
        const filter = new ButtonFilter({
          button,
          debounceMs: config.debounceMs,
          rateLimitMs: config.rateLimitMs,
          now: this.o.now ?? Date.now,
          logger,
          sample: () => this.read(gpio) === activeValue,
          initial: this.read(gpio) === activeValue,
          onPress: (b) => {
            this.state.pressed(b);
            onPress({ button: b });
          },
          onRejected: () => this.state.rejectedPress(button),
        });
        this.wired.push({ bcm: pin, gpio, filter });
        gpio.watch((err) => {
          if (err) {
            this.state.fail('gpio-not-accessible', `GPIO${pin}: ${messageOf(err)}`, logger);
            return;
          }
          filter.debouncer.edge();
        });
      }
      logger.info({ pins: config.pins.map((p) => p.pin), base }, 'GPIO buttons attached');
      this.state.connect();
    } catch (err) {
      this.release();
      const e =
        err instanceof HardwareError ? err : new HardwareError('gpio-not-accessible', messageOf(err), { cause: err });
      this.state.fail(e.code, e.message, logger);
      throw e;
    }
  }

  private open(Gpio: GpioModule['Gpio'], bcm: number, base: number): GpioPin {
    const n = sysfsNumber(bcm, base);
    try {
      return new Gpio(n, 'in', 'both');
    } catch (err) {
      const errno = errnoOf(err);
      const where = `GPIO${bcm} (sysfs ${n})`;
      if (errno === 'EACCES' || errno === 'EPERM') {
        throw new HardwareError(
          'gpio-permission',
          `${where}: permission denied. Add the daemon's user to the "gpio" group.`,
          { cause: err },
        );
      }
      if (errno === 'EBUSY') {
        throw new HardwareError(
          'gpio-busy',
          `${where} is used by another program or a device-tree overlay: pick a free pin.`,
          { cause: err },
        );
      }
      throw new HardwareError(
        'gpio-bad-pin',
        `${where} cannot be exported (${errno ?? messageOf(err)}): check the BCM number, or set hardware.buttons.gpioBase.`,
        { cause: err },
      );
    }
  }

  private read(gpio: GpioPin): number {
    try {
      return gpio.readSync();
    } catch {
      return -1;
    }
  }

  async stop(): Promise<void> {
    this.release();
    this.state.disconnect();
  }

  /** Pins are unexported so the next start (or another program) finds them free. */
  private release(): void {
    for (const w of this.wired) {
      w.filter.debouncer.cancel();
      try {
        w.gpio.unwatchAll();
        w.gpio.unexport();
      } catch (err) {
        this.o.logger.warn({ pin: w.bcm, err: messageOf(err) }, 'GPIO pin release failed');
      }
    }
    this.wired = [];
  }

  health(): ComponentHealth {
    return this.state.snapshot();
  }
}
