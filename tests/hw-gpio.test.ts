import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { hardwareSchema } from '../device/config/hardware-schema.ts';
import type { GpioButtonsConfig } from '../device/config/hardware-schema.ts';
import { HardwareError } from '../device/hw/errors.ts';
import { GpioButtonSource } from '../device/hw/gpio-buttons.ts';
import { captureLogger, fakeGpio } from './hw-fakes.ts';

/** A Pi 5 on kernel 6.6: the header's chip is pinctrl-rp1 at base 571. */
function pi5Sysfs(): string {
  const root = mkdtempSync(join(tmpdir(), 'beonho-gpio-'));
  const chip = (name: string, base: number, ngpio: number, label: string): void => {
    mkdirSync(join(root, name));
    writeFileSync(join(root, name, 'base'), `${base}\n`);
    writeFileSync(join(root, name, 'ngpio'), `${ngpio}\n`);
    writeFileSync(join(root, name, 'label'), `${label}\n`);
  };
  chip('gpiochip512', 512, 32, 'gpio-brcmstb@107d508500');
  chip('gpiochip571', 571, 54, 'pinctrl-rp1');
  return root;
}

function gpioConfig(extra: Record<string, unknown> = {}): GpioButtonsConfig {
  const hw = hardwareSchema.parse({
    buttons: {
      driver: 'gpio',
      pins: [
        { pin: 17, button: 'resident' },
        { pin: 27, button: 'priority' },
      ],
      ...extra,
    },
  });
  if (hw.buttons.driver !== 'gpio') throw new Error('expected gpio');
  return hw.buttons;
}

let t = 0;
beforeEach(() => {
  vi.useFakeTimers();
  t = 0;
});
afterEach(() => vi.useRealTimers());

async function started(extra: Record<string, unknown> = {}) {
  const gpio = fakeGpio();
  const { logger, lines } = captureLogger();
  const presses: string[] = [];
  const healthEvents: unknown[] = [];
  const src = new GpioButtonSource({
    config: gpioConfig(extra),
    logger,
    load: async () => gpio.module,
    sysfsRoot: pi5Sysfs(),
    now: () => t,
    onHealth: (h) => healthEvents.push(h),
  });
  await src.start((p) => presses.push(p.button));
  return { src, pins: gpio.pins, presses, lines, healthEvents };
}

describe('GPIO buttons', () => {
  it('opens BCM pins at the gpiochip base of kernel 6.6 (Pi 5: 571)', async () => {
    const { pins, src } = await started();
    expect([...pins.keys()].sort()).toEqual([588, 598]);
    expect(src.health()).toMatchObject({ connected: true, lastError: null });
  });

  it('counts a bouncing press once (active low)', async () => {
    const { pins, presses } = await started();
    const pin = pins.get(588)!;
    for (const v of [0, 1, 0, 1, 0] as const) {
      pin.set(v);
      vi.advanceTimersByTime(2);
    }
    vi.advanceTimersByTime(40);
    expect(presses).toEqual(['resident']);
    // the release bounces too, and is not a press
    for (const v of [1, 0, 1] as const) pin.set(v);
    vi.advanceTimersByTime(40);
    expect(presses).toEqual(['resident']);
  });

  it('rate-limits a hammered button per button, and reports the rejected presses', async () => {
    const { pins, presses, src, healthEvents } = await started({ rateLimitMs: 2000 });
    const press = (n: number): void => {
      pins.get(n)!.set(0);
      vi.advanceTimersByTime(40);
      pins.get(n)!.set(1);
      vi.advanceTimersByTime(40);
    };
    for (let i = 0; i < 5; i++) {
      t = i * 300;
      press(588);
    }
    t = 1500;
    press(598); // another button is not held back by the first one
    t = 2100;
    press(588);
    expect(presses).toEqual(['resident', 'priority', 'resident']);
    const h = src.health();
    expect(h.rejected).toBe(4);
    expect(h.rejectedByButton).toEqual({ resident: 4 });
    expect(h.presses).toEqual({ resident: 2, priority: 1 });
    expect(healthEvents.length).toBeGreaterThanOrEqual(5);
  });

  it('works active high when configured', async () => {
    const { pins, presses } = await started({ activeLow: false });
    const pin = pins.get(588)!;
    pin.set(0); // idle level with a pull-down
    vi.advanceTimersByTime(40);
    expect(presses).toEqual([]);
    pin.set(1);
    vi.advanceTimersByTime(40);
    expect(presses).toEqual(['resident']);
  });

  it('releases the pins on stop, and a contact in motion presses nothing', async () => {
    const { pins, presses, src } = await started();
    pins.get(588)!.set(0);
    await src.stop();
    vi.advanceTimersByTime(100);
    expect(presses).toEqual([]);
    expect([...pins.values()].every((p) => !p.exported && p.watchers.length === 0)).toBe(true);
    expect(src.health().connected).toBe(false);
  });

  it('uses gpioBase from config over the sysfs guess', async () => {
    const gpio = fakeGpio();
    const src = new GpioButtonSource({
      config: gpioConfig({ gpioBase: 0 }),
      logger: captureLogger().logger,
      load: async () => gpio.module,
      sysfsRoot: '/nonexistent',
    });
    await src.start(() => {});
    expect([...gpio.pins.keys()].sort()).toEqual([17, 27]);
  });
});

describe('GPIO errors an admin can act on', () => {
  async function failure(opts: Parameters<typeof fakeGpio>[0], sysfsRoot = pi5Sysfs()) {
    const gpio = fakeGpio(opts);
    const src = new GpioButtonSource({
      config: gpioConfig(),
      logger: captureLogger().logger,
      load: async () => gpio.module,
      sysfsRoot,
    });
    const err = await src
      .start(() => {})
      .then(
        () => null,
        (e: unknown) => e,
      );
    return { err: err as HardwareError, src, pins: gpio.pins };
  }

  it('not a Pi, or no access to /sys/class/gpio', async () => {
    const { err, src } = await failure({ accessible: false });
    expect(err).toBeInstanceOf(HardwareError);
    expect(err.code).toBe('gpio-not-accessible');
    expect(err.message).toMatch(/gpio" group/);
    expect(src.health()).toMatchObject({ connected: false, lastError: 'gpio-not-accessible' });
  });

  it('permission denied on a pin', async () => {
    const { err } = await failure({ fail: { 588: 'EACCES' } });
    expect(err.code).toBe('gpio-permission');
    expect(err.message).toMatch(/GPIO17 \(sysfs 588\)/);
  });

  it('a wrong pin, releasing the pins already opened', async () => {
    const { err, pins } = await failure({ fail: { 598: 'EINVAL' } });
    expect(err.code).toBe('gpio-bad-pin');
    expect(err.message).toMatch(/GPIO27/);
    expect(pins.get(588)!.exported).toBe(false);
  });

  it('a pin taken by something else', async () => {
    const { err } = await failure({ fail: { 588: 'EBUSY' } });
    expect(err.code).toBe('gpio-busy');
  });

  it('no gpiochip that looks like the header', async () => {
    const { err } = await failure({}, mkdtempSync(join(tmpdir(), 'beonho-empty-')));
    expect(err.code).toBe('gpio-chip-unknown');
    expect(err.message).toMatch(/gpioBase/);
  });

  it('onoff cannot load', async () => {
    const src = new GpioButtonSource({
      config: gpioConfig(),
      logger: captureLogger().logger,
      load: async () => {
        throw new HardwareError('gpio-module-unavailable', 'the GPIO module (onoff) cannot load');
      },
    });
    await expect(src.start(() => {})).rejects.toMatchObject({ code: 'gpio-module-unavailable' });
  });
});
