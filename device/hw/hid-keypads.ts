// Counter keypads on USB (node-hid). Each configured keypad is found by serial, port, id or path,
// opened, and its raw boot-keyboard reports decoded and interpreted into actions for its counter.
// The device list is polled, so a keypad unplugged and plugged back is attached again within
// about two poll intervals; everything half-pressed at the unplug is forgotten.
import type { Logger } from 'pino';
import type { HidKeypadsConfig, KeypadBinding } from '../config/hardware-schema.ts';
import type { ComponentHealth } from '../ports/health.ts';
import type { KeypadAction, KeypadInput, KeypadSource } from '../ports/keypad.ts';
import { errnoOf, HardwareError, messageOf } from './errors.ts';
import { keyboardCandidates, matches, usbId, usbPortOf } from './hid-match.ts';
import { decodeReport, hex } from './hid-report.ts';
import { KeypadInterpreter } from './keymap.ts';
import { type HidDevice, type HidDeviceInfo, type HidModule, loadNodeHid } from './native.ts';

export interface HidKeypadsOptions {
  config: HidKeypadsConfig;
  logger: Logger;
  /** loads node-hid; tests pass a fake device list and HID class */
  load?: (backend: 'hidraw' | 'libusb') => Promise<HidModule>;
  now?: () => number;
  usbPort?: (path: string | undefined) => string | undefined;
  /** per counter: typed digits -> ticket number */
  callNumber?: (counter: string) => ((digits: string) => string) | undefined;
  serviceByIndex?: (n: number) => string | undefined;
  onHealth?: (counter: string, health: ComponentHealth) => void;
}

interface Pad {
  binding: KeypadBinding;
  interpreter: KeypadInterpreter;
  device: HidDevice | null;
  info: HidDeviceInfo | null;
  keys: number[];
  health: {
    connected: boolean;
    lastError: string | null;
    lastErrorAt: string | null;
    lastErrorMessage: string | null;
    device: string | null;
    attaches: number;
    unplugs: number;
    rejected: number;
    ignoredKeys: number;
  };
}

export class HidKeypadSource implements KeypadSource {
  readonly kind = 'hid';
  private hid: HidModule | null = null;
  private pads: Pad[] = [];
  private timer: ReturnType<typeof setInterval> | null = null;
  private onInput: ((input: KeypadInput) => void) | null = null;

  constructor(private readonly o: HidKeypadsOptions) {}

  async start(onInput: (input: KeypadInput) => void): Promise<void> {
    const { config, logger } = this.o;
    this.onInput = onInput;
    this.pads = config.devices.map((binding) => this.makePad(binding));
    try {
      this.hid = await (this.o.load ?? loadNodeHid)(config.backend);
    } catch (err) {
      // Every counter's status shows why its keypad is dead, not just the log.
      const e =
        err instanceof HardwareError
          ? err
          : new HardwareError('hid-module-unavailable', messageOf(err), { cause: err });
      for (const pad of this.pads) this.fail(pad, e.code, e.message);
      throw e;
    }
    const seen = this.poll();
    if (!this.pads.some((p) => p.device)) {
      const list =
        keyboardCandidates(seen)
          .map((d) => `${usbId(d)} ${d.product ?? ''}`.trim())
          .join(', ') || 'none';
      await this.stop();
      throw new HardwareError(
        'keypad-none-found',
        `none of the ${config.devices.length} configured keypads is plugged in (keyboards seen: ${list}). Check hardware.keypads.devices with "npm run hw -- list".`,
      );
    }
    this.timer = setInterval(() => this.poll(), config.pollMs);
    logger.info({ attached: this.pads.filter((p) => p.device).map((p) => p.binding.counter) }, 'USB keypads started');
  }

  private makePad(binding: KeypadBinding): Pad {
    const { config, logger } = this.o;
    const pad: Pad = {
      binding,
      device: null,
      info: null,
      keys: [],
      interpreter: undefined as unknown as KeypadInterpreter,
      health: {
        connected: false,
        lastError: null,
        lastErrorAt: null,
        lastErrorMessage: null,
        device: null,
        attaches: 0,
        unplugs: 0,
        rejected: 0,
        ignoredKeys: 0,
      },
    };
    const counter = binding.counter;
    pad.interpreter = new KeypadInterpreter({
      keys: config.keys,
      holdKeys: config.holdKeys,
      holdMs: config.holdMs,
      entryTimeoutMs: config.entryTimeoutMs,
      repeatGuardMs: config.repeatGuardMs,
      now: this.o.now ?? Date.now,
      logger,
      callNumber: this.o.callNumber?.(counter),
      serviceByIndex: this.o.serviceByIndex,
      onAction: (action: KeypadAction) => {
        logger.info({ counter, action: action.type }, 'keypad action');
        this.onInput?.({ counter, action });
      },
      onRejected: (action) => {
        pad.health.rejected += 1;
        logger.info({ counter, action: action.type, rejected: pad.health.rejected }, 'keypad double press ignored');
        this.changed(pad);
      },
      onIgnored: (usage, key) => {
        pad.health.ignoredKeys += 1;
        logger.info(
          { counter, usage: `0x${usage.toString(16)}`, key: key ?? null },
          'keypad key without a role ignored',
        );
      },
    });
    return pad;
  }

  /** One look at the USB device list: attach what appeared, drop what vanished. */
  private poll(): HidDeviceInfo[] {
    let list: HidDeviceInfo[];
    try {
      list = this.hid!.devices();
    } catch (err) {
      this.o.logger.warn({ err: messageOf(err) }, 'listing USB devices failed');
      return [];
    }
    const candidates = keyboardCandidates(list);
    const present = new Set(candidates.map((d) => d.path));
    for (const pad of this.pads) {
      if (pad.device && !present.has(pad.info?.path)) this.detach(pad, 'keypad-unplugged', 'the keypad was unplugged');
    }
    const claimed = new Set(this.pads.filter((p) => p.device).map((p) => p.info?.path));
    const portOf = this.o.usbPort ?? ((p: string | undefined) => usbPortOf(p));
    for (const pad of this.pads) {
      if (pad.device) continue;
      const info = candidates.find((d) => !claimed.has(d.path) && matches(pad.binding, d, portOf));
      if (!info) {
        if (!pad.health.lastError) this.fail(pad, 'keypad-missing', `no keypad matches ${describe(pad.binding)}`);
        continue;
      }
      if (this.attach(pad, info)) claimed.add(info.path);
    }
    return list;
  }

  private attach(pad: Pad, info: HidDeviceInfo): boolean {
    let device: HidDevice;
    try {
      device = new this.hid!.HID(info.path!);
    } catch (err) {
      const denied = errnoOf(err) === 'EACCES' || /permission|denied|EACCES/i.test(messageOf(err));
      this.fail(
        pad,
        denied ? 'hid-permission' : 'keypad-open-failed',
        denied
          ? `${info.path}: permission denied. Install the udev rule from docs/hardware.md so the daemon's user can read keypads.`
          : `${info.path}: cannot open the keypad (${messageOf(err)}); it may be taken by another program.`,
      );
      return false;
    }
    pad.device = device;
    pad.info = info;
    pad.keys = [];
    pad.health.connected = true;
    pad.health.device = `${usbId(info)} ${info.product ?? ''}`.trim();
    pad.health.attaches += 1;
    device.on('data', (data: Buffer) => {
      if (pad.device === device) this.report(pad, data);
    });
    device.on('error', (err: unknown) => {
      if (pad.device === device)
        this.detach(pad, 'keypad-unplugged', `the keypad stopped answering (${messageOf(err)})`);
    });
    this.o.logger.info({ counter: pad.binding.counter, device: pad.health.device, path: info.path }, 'keypad attached');
    this.changed(pad);
    return true;
  }

  private report(pad: Pad, data: Buffer): void {
    const r = decodeReport(data, pad.keys, this.o.config.reportId);
    if (r.ignored && r.ignored !== 'rollover') {
      this.o.logger.debug({ counter: pad.binding.counter, report: hex(data), why: r.ignored }, 'keypad report ignored');
    }
    pad.keys = r.keys;
    for (const k of r.up) pad.interpreter.keyUp(k.usage);
    for (const k of r.down) pad.interpreter.keyDown(k.usage, k.key);
  }

  private detach(pad: Pad, code: 'keypad-unplugged' | 'keypad-missing', message: string, quiet = false): void {
    const device = pad.device;
    pad.device = null;
    pad.keys = [];
    // Whatever was half-pressed or half-typed belongs to a keypad that is gone.
    pad.interpreter.reset();
    try {
      device?.close();
    } catch {
      // an unplugged device may refuse to close; it is gone either way
    }
    if (quiet) {
      pad.health.connected = false;
      this.changed(pad);
      return;
    }
    pad.health.unplugs += 1;
    this.fail(pad, code, message);
  }

  private fail(pad: Pad, code: string, message: string): void {
    const repeated = pad.health.lastError === code && !pad.health.connected;
    pad.health.connected = false;
    pad.health.lastError = code;
    pad.health.lastErrorMessage = message;
    pad.health.lastErrorAt = new Date((this.o.now ?? Date.now)()).toISOString();
    // The poll retries twice a second: log a problem once, not on every look.
    if (!repeated) this.o.logger.warn({ counter: pad.binding.counter, code }, message);
    this.changed(pad);
  }

  private changed(pad: Pad): void {
    this.o.onHealth?.(pad.binding.counter, { ...pad.health });
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const pad of this.pads) if (pad.device) this.detach(pad, 'keypad-unplugged', 'stopped', true);
    this.onInput = null;
  }

  health(): Record<string, ComponentHealth> {
    return Object.fromEntries(this.pads.map((p) => [p.binding.counter, { ...p.health }]));
  }
}

function describe(b: KeypadBinding): string {
  if (b.serial !== undefined) return `serial ${b.serial}`;
  if (b.port !== undefined) return `USB port ${b.port}`;
  if (b.usb !== undefined) return `USB id ${b.usb}`;
  return `path ${b.path}`;
}
