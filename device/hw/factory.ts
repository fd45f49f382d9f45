// Builds the real input drivers from config. Nothing here imports a native module: each driver
// loads its own in start(), so with the simulator default (or on a machine without the hardware)
// onoff, node-hid and serialport are never loaded.
import type { Logger } from 'pino';
import { hardwareProblems } from '../config/hardware-problems.ts';
import type { Config } from '../config/schema.ts';
import type { ButtonSource } from '../ports/buttons.ts';
import type { ComponentHealth } from '../ports/health.ts';
import type { KeypadSource } from '../ports/keypad.ts';
import { HardwareError } from './errors.ts';
import { FirmataButtonSource } from './firmata-buttons.ts';
import { GpioButtonSource } from './gpio-buttons.ts';
import { HidKeypadSource } from './hid-keypads.ts';
import type { FdIo } from './ioctl.ts';
import type { FiveModule, GpioModule, HidModule } from './native.ts';

export interface HardwareFactoryOptions {
  /** called whenever a component's health changes; component is "buttons" or "keypad:<counter>" */
  onHealth?: (component: string, health: ComponentHealth) => void;
  /** replace the native modules (tests, the installer's tool); default: the real ones, lazily */
  load?: {
    onoff?: () => Promise<GpioModule>;
    johnnyFive?: () => Promise<FiveModule>;
    nodeHid?: (backend: 'hidraw' | 'libusb') => Promise<HidModule>;
  };
  /** USB port of a HID path; default: read from sysfs */
  usbPort?: (path: string | undefined) => string | undefined;
  /** /sys/class/hidraw (report descriptors, input nodes); tests point it at a fake tree */
  hidrawSysfs?: string;
  /** file descriptors and ioctls for the keypads' evdev grab; default: libc through koffi */
  fdIo?: () => Promise<FdIo>;
}

function checkReferences(config: Config): void {
  const problems = hardwareProblems(config);
  if (problems.length > 0) {
    throw new HardwareError('hw-config-invalid', problems.map((p) => `${p.path.join('.')}: ${p.message}`).join('; '));
  }
}

/** The dispenser's real buttons, or null when the config says "sim". */
export async function createButtonSource(
  config: Config,
  logger: Logger,
  opts: HardwareFactoryOptions = {},
): Promise<ButtonSource | null> {
  const hw = config.hardware.buttons;
  if (hw.driver === 'sim') return null;
  checkReferences(config);
  const log = logger.child({ component: 'buttons', driver: hw.driver });
  const onHealth = (h: ComponentHealth): void => opts.onHealth?.('buttons', h);
  if (hw.driver === 'gpio') return new GpioButtonSource({ config: hw, logger: log, onHealth, load: opts.load?.onoff });
  return new FirmataButtonSource({ config: hw, logger: log, onHealth, load: opts.load?.johnnyFive });
}

/** The counters' real keypads, or null when the config says "sim". */
export async function createKeypadSource(
  config: Config,
  logger: Logger,
  opts: HardwareFactoryOptions = {},
): Promise<KeypadSource | null> {
  const hw = config.hardware.keypads;
  if (hw.driver === 'sim') return null;
  checkReferences(config);

  return new HidKeypadSource({
    config: hw,
    logger: logger.child({ component: 'keypads', driver: hw.driver }),
    load: opts.load?.nodeHid,
    usbPort: opts.usbPort,
    sysfsRoot: opts.hidrawSysfs,
    fdIo: opts.fdIo,
    serviceByIndex: (n) => config.services[n - 1]?.id,
    onHealth: (counter, h) => opts.onHealth?.(`keypad:${counter}`, h),
  });
}
