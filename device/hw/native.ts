// The one place that imports native modules, always lazily: the simulator must run on a machine
// where none of them loads. Each loader turns a load failure into a HardwareError that says what
// to install. Drivers take these loaders as their `load` option, which is also the tests' seam.
import { HardwareError, messageOf } from './errors.ts';

// --- onoff (sysfs GPIO) -------------------------------------------------------------------------

export type GpioValue = 0 | 1;
export interface GpioPin {
  readSync(): GpioValue;
  watch(cb: (err: Error | null | undefined, value: GpioValue) => void): void;
  unwatchAll(): void;
  unexport(): void;
}
export interface GpioModule {
  Gpio: {
    new (gpio: number, direction: 'in', edge: 'both'): GpioPin;
    readonly accessible: boolean;
  };
}

export async function loadOnoff(): Promise<GpioModule> {
  try {
    const mod = (await import('onoff')) as unknown as {
      Gpio?: GpioModule['Gpio'];
      default?: { Gpio: GpioModule['Gpio'] };
    };
    const Gpio = mod.Gpio ?? mod.default?.Gpio;
    if (!Gpio) throw new Error('onoff has no Gpio export');
    return { Gpio };
  } catch (err) {
    throw new HardwareError(
      'gpio-module-unavailable',
      `the GPIO module (onoff) cannot load: ${messageOf(err)}. Run "npm install" on the Pi itself (it builds for the Pi's CPU).`,
      { cause: err },
    );
  }
}

// --- node-hid (USB keypads) ---------------------------------------------------------------------

export interface HidDeviceInfo {
  path?: string | undefined;
  vendorId: number;
  productId: number;
  serialNumber?: string | undefined;
  manufacturer?: string | undefined;
  product?: string | undefined;
  usagePage?: number | undefined;
  usage?: number | undefined;
  interface?: number | undefined;
}
export interface HidDevice {
  on(event: 'data', cb: (data: Buffer) => void): unknown;
  on(event: 'error', cb: (err: unknown) => void): unknown;
  close(): void;
}
export interface HidModule {
  devices(): HidDeviceInfo[];
  HID: new (path: string) => HidDevice;
}

export async function loadNodeHid(backend: 'hidraw' | 'libusb' = 'hidraw'): Promise<HidModule> {
  let mod: HidModule & { setDriverType?: (t: string) => void };
  try {
    const m = (await import('node-hid')) as unknown as HidModule & { default?: HidModule };
    mod = (m.default ?? m) as HidModule & { setDriverType?: (t: string) => void };
    mod.setDriverType?.(backend);
    // node-hid loads its native binding on first use: list once now so a missing libusb shows here.
    mod.devices();
  } catch (err) {
    const msg = messageOf(err);
    const hint = /libusb|libudev/.test(msg)
      ? 'Install the USB library: sudo apt-get install libusb-1.0-0 libudev1'
      : 'Check that "npm install" completed on this machine';
    throw new HardwareError(
      'hid-module-unavailable',
      `the USB keypad module (node-hid) cannot load: ${msg}. ${hint}.`,
      {
        cause: err,
      },
    );
  }
  return mod;
}

// --- johnny-five (Firmata over USB serial) ------------------------------------------------------

/** The slice of johnny-five the Firmata driver uses. */
export interface FiveBoard {
  on(event: string, cb: (arg?: unknown) => void): unknown;
  removeListener(event: string, cb: (arg?: unknown) => void): unknown;
  removeAllListeners(): unknown;
  io?: unknown;
  isReady?: boolean;
}
export interface FiveButton {
  on(event: 'down' | 'up', cb: () => void): unknown;
  removeAllListeners(): unknown;
  readonly isDown: boolean;
}
export interface FiveModule {
  /** `cache`: johnny-five's list of every Board ever made, which it never shrinks */
  Board: (new (options: Record<string, unknown>) => FiveBoard) & { readonly cache?: FiveBoard[] };
  Button: new (options: Record<string, unknown>) => FiveButton;
}

export async function loadJohnnyFive(): Promise<FiveModule> {
  try {
    const m = (await import('johnny-five')) as unknown as FiveModule & { default?: FiveModule };
    const five = m.default ?? m;
    if (typeof five.Board !== 'function' || typeof five.Button !== 'function')
      throw new Error('unexpected johnny-five exports');
    return { Board: five.Board, Button: five.Button };
  } catch (err) {
    throw new HardwareError(
      'firmata-module-unavailable',
      `the Firmata module (johnny-five with serialport) cannot load: ${messageOf(err)}. Run "npm install" on this machine.`,
      { cause: err },
    );
  }
}
