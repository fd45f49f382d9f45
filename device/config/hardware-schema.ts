// Settings of the input hardware (dispenser buttons, counter keypads). Owned by the drivers in
// device/hw/; docs/hardware.md shows an example for each driver. With nothing configured the
// simulator's ports are used.
import { z } from 'zod';

const buttonId = z.string().regex(/^[a-z0-9-]{1,40}$/, 'expected a dispenser button id (dispenser.buttons[].id)');
// `counter: 3` as well as `counter: "3"`: YAML reads an unquoted 3 as a number, and counters[].id,
// satellite.counters and the audio area take it too
const counterId = z.preprocess(
  (v) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? String(v) : v),
  z.string().regex(/^[A-Za-z0-9-]{1,16}$/, 'expected a counter id (counters[].id)'),
);

/** Filters every button driver shares. */
const pressTiming = {
  /** a level must hold this long before it counts: contacts bounce for a few ms */
  debounceMs: z.number().int().min(1).max(500).default(30),
  /** per button: one accepted press per this many ms; faster presses are counted as rejected */
  rateLimitMs: z.number().int().min(0).max(60_000).default(1500),
  /** true: the pin reads 0 when pressed (button to GND with a pull-up, the documented wiring) */
  activeLow: z.boolean().default(true),
};

const uniquePins = (pins: Array<{ pin: number; button: string }>, ctx: z.RefinementCtx): void => {
  const seen = new Set<number>();
  pins.forEach((p, i) => {
    if (seen.has(p.pin))
      ctx.addIssue({ code: 'custom', path: ['pins', i, 'pin'], message: `pin ${p.pin} is used twice` });
    seen.add(p.pin);
  });
};

const gpioButtons = z
  .strictObject({
    driver: z.literal('gpio'),
    /** BCM GPIO numbers (the "GPIO17" names), not header pin positions */
    pins: z.array(z.strictObject({ pin: z.number().int().min(0).max(27), button: buttonId })).min(1),
    ...pressTiming,
    /** sysfs number of BCM 0. Found in /sys/class/gpio by itself; set it only if that guess fails. */
    gpioBase: z.number().int().min(0).optional(),
  })
  .superRefine((c, ctx) => uniquePins(c.pins, ctx));

const firmataButtons = z
  .strictObject({
    driver: z.literal('firmata'),
    /** serial port of the Arduino running StandardFirmata, e.g. /dev/ttyACM0 or /dev/serial/by-id/... */
    port: z.string().min(1),
    /** Arduino digital pin numbers */
    pins: z.array(z.strictObject({ pin: z.number().int().min(2).max(69), button: buttonId })).min(1),
    ...pressTiming,
    /** first wait for the board's "ready"; StandardFirmata needs a few seconds after a reset */
    readyTimeoutMs: z.number().int().min(1000).max(120_000).default(15_000),
    /** reconnect backoff after the board is lost: doubles from min to max */
    reconnectMinMs: z.number().int().min(100).max(60_000).default(1000),
    reconnectMaxMs: z.number().int().min(1000).max(600_000).default(30_000),
  })
  .superRefine((c, ctx) => uniquePins(c.pins, ctx));

export const buttonsHardwareSchema = z
  .discriminatedUnion('driver', [z.strictObject({ driver: z.literal('sim') }), gpioButtons, firmataButtons])
  .prefault({ driver: 'sim' });

/** Which physical keypad belongs to a counter. Exactly one way of matching per entry. */
const keypadBinding = z
  .strictObject({
    counter: counterId,
    /** the USB serial number (best: survives replugging into another port) */
    serial: z.string().min(1).optional(),
    /** the USB port, e.g. "1-1.3", shown by `npm run hw -- list` (for identical keypads without serial) */
    port: z
      .string()
      .regex(/^\d+-[\d.]+$/, 'expected a USB port such as 1-1.3')
      .optional(),
    /** vendor:product in hex, e.g. "1a2c:0e24" (enough when each counter has a different model) */
    usb: z
      .string()
      .regex(/^[0-9a-fA-F]{4}:[0-9a-fA-F]{4}$/, 'expected vendor:product in hex, e.g. 1a2c:0e24')
      .optional(),
    /** the node-hid path, e.g. /dev/hidraw3 (changes when replugged: prefer serial or port) */
    path: z.string().min(1).optional(),
  })
  .refine((b) => [b.serial, b.port, b.usb, b.path].filter((v) => v !== undefined).length === 1, {
    message: 'give exactly one of serial, port, usb or path',
  });

export const keyNames = [
  '0',
  '1',
  '2',
  '3',
  '4',
  '5',
  '6',
  '7',
  '8',
  '9',
  '00',
  '000',
  '+',
  '-',
  '*',
  '/',
  '.',
  '=',
  'enter',
  'backspace',
  'escape',
  'tab',
  'numlock',
] as const;
export type KeyName = (typeof keyNames)[number];

export const keyRoles = [
  'next',
  'recall',
  'skip',
  'transfer',
  'enter',
  'clear',
  'pause',
  'resume',
  'close',
  'none',
] as const;
export type KeyRole = (typeof keyRoles)[number];

const hidKeypads = z
  .strictObject({
    driver: z.literal('hid'),
    /** node-hid backend: "hidraw" shares the keypad with the console; "libusb" takes it exclusively */
    backend: z.enum(['hidraw', 'libusb']).default('hidraw'),
    devices: z.array(keypadBinding).min(1),
    /** overrides of the default layout (docs/hardware.md): key -> role on a short press */
    keys: z.partialRecord(z.enum(keyNames), z.enum(keyRoles)).default({}),
    /** overrides: key -> role when held for holdMs ("0" held: pause, "." held: close) */
    holdKeys: z.partialRecord(z.enum(keyNames), z.enum(keyRoles)).default({}),
    holdMs: z.number().int().min(300).max(10_000).default(2000),
    /** typed digits are forgotten after this long without a key */
    entryTimeoutMs: z.number().int().min(1000).max(120_000).default(10_000),
    /** the same action again within this time is taken for a double press and rejected */
    repeatGuardMs: z.number().int().min(0).max(10_000).default(1000),
    /** how often the USB device list is polled for plugged and unplugged keypads */
    pollMs: z.number().int().min(100).max(10_000).default(500),
    /** the report id byte, for keypads whose keyboard reports carry one (see `npm run hw -- keypad`) */
    reportId: z.number().int().min(1).max(255).optional(),
  })
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.devices.forEach((d, i) => {
      if (seen.has(d.counter))
        ctx.addIssue({
          code: 'custom',
          path: ['devices', i, 'counter'],
          message: `counter "${d.counter}" has two keypads`,
        });
      seen.add(d.counter);
    });
  });

export const keypadsHardwareSchema = z
  .discriminatedUnion('driver', [z.strictObject({ driver: z.literal('sim') }), hidKeypads])
  .prefault({ driver: 'sim' });

export const hardwareSchema = z.strictObject({
  buttons: buttonsHardwareSchema,
  keypads: keypadsHardwareSchema,
});
export type HardwareConfig = z.infer<typeof hardwareSchema>;
export type GpioButtonsConfig = z.infer<typeof gpioButtons>;
export type FirmataButtonsConfig = z.infer<typeof firmataButtons>;
export type HidKeypadsConfig = z.infer<typeof hidKeypads>;
export type KeypadBinding = z.infer<typeof keypadBinding>;
