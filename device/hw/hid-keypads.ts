// Counter keypads on USB (node-hid). Each configured keypad is found by serial, port, id or path,
// opened (every keyboard interface of it: an NKRO keypad sends its keys on a second one), its
// reports decoded with the layout its report descriptor declares, and interpreted into actions
// for its counter. Its evdev nodes are grabbed so that its keys reach beonho alone, not the text
// console (keypad-grab.ts). The device list is polled, so a keypad unplugged and plugged back is
// attached again within about two poll intervals; everything half-pressed at the unplug is
// forgotten.
import type { Logger } from 'pino';
import type { HidKeypadsConfig, KeypadBinding } from '../config/hardware-schema.ts';
import type { ComponentHealth } from '../ports/health.ts';
import type { KeypadInput, KeypadInputAction, KeypadSource } from '../ports/keypad.ts';
import { errnoOf, HardwareError, messageOf } from './errors.ts';
import { keyboardCandidates, matches, usbId, usbPortOf } from './hid-match.ts';
import { decodeReport, hex, type KeyReportLayout, layoutSummary, parseReportDescriptor } from './hid-report.ts';
import { HIDRAW_CLASS, readReportDescriptor } from './hidraw-sysfs.ts';
import { type FdIo, realFdIo } from './ioctl.ts';
import { KeypadGrab } from './keypad-grab.ts';
import { KeypadInterpreter } from './keymap.ts';
import { type HidDevice, type HidDeviceInfo, type HidModule, loadNodeHid } from './native.ts';

export interface HidKeypadsOptions {
  config: HidKeypadsConfig;
  logger: Logger;
  /** loads node-hid; tests pass a fake device list and HID class */
  load?: (backend: 'hidraw' | 'libusb') => Promise<HidModule>;
  now?: () => number;
  usbPort?: (path: string | undefined) => string | undefined;
  serviceByIndex?: (n: number) => string | undefined;
  onHealth?: (counter: string, health: ComponentHealth) => void;
  /** /sys/class/hidraw: report descriptors, input nodes and USB ports (tests: a fake tree) */
  sysfsRoot?: string;
  /** file descriptors and ioctls for the evdev grab; default: libc through koffi, loaded in start() */
  fdIo?: () => Promise<FdIo>;
}

/** One open interface of a keypad. */
interface Link {
  info: HidDeviceInfo;
  device: HidDevice;
  /** usages down now, as this interface last reported them */
  keys: number[];
  /** from its report descriptor; empty: boot reports (and the configured reportId) */
  layouts: KeyReportLayout[];
}

interface Pad {
  binding: KeypadBinding;
  interpreter: KeypadInterpreter;
  links: Link[];
  grab: KeypadGrab | null;
  /** the grab problem last reported, so a retry every poll logs it once */
  grabCode: string | null;
  /** attached by a poll, not at start: a refused grab is tried once more before it is reported */
  grabGrace: boolean;
  /** when it was last attached, and how many of its attaches in a row failed within FLAP_MS */
  attachedAt: number;
  flaps: number;
  /** a flapping keypad is not attached again before this */
  retryAt: number;
  /** its binding matched more keypads than the one it took, and that was said */
  ambiguousSaid: boolean;
  health: {
    connected: boolean;
    lastError: string | null;
    lastErrorAt: string | null;
    lastErrorMessage: string | null;
    device: string | null;
    /** its keys reach beonho only (evdev grabbed, or no input device to reach the console) */
    exclusive: boolean;
    attaches: number;
    unplugs: number;
    rejected: number;
    ignoredKeys: number;
  };
}

/** An attach that fails again within this is a flap (a keypad listed whose reads keep failing: a
 * bad cable, a failing device): each one is retried later, up to FLAP_MAX_MS apart, and said once. */
const FLAP_MS = 5_000;
const FLAP_MAX_MS = 60_000;

export class HidKeypadSource implements KeypadSource {
  readonly kind = 'hid';
  private hid: HidModule | null = null;
  private pads: Pad[] = [];
  private timer: ReturnType<typeof setInterval> | null = null;
  private onInput: ((input: KeypadInput) => void) | null = null;
  private io: FdIo | null = null;
  private ioProblem: string | undefined;
  /** hidraw paths refused once since they appeared (udev may not have set their group yet) */
  private readonly refusedOnce = new Set<string>();
  /** the device list failed at the last look: said once, not at every poll (twice a second) */
  private listFailing = false;

  constructor(private readonly o: HidKeypadsOptions) {}

  async start(onInput: (input: KeypadInput) => void): Promise<void> {
    const { config, logger } = this.o;
    this.onInput = onInput;
    // The most specific bindings choose first: a counter bound by vendor:product must not take the
    // keypad another counter is bound to by its port or serial, whichever the config lists first.
    this.pads = [...config.devices]
      .sort((a, b) => BINDING_ORDER.indexOf(bindingKind(a)) - BINDING_ORDER.indexOf(bindingKind(b)))
      .map((binding) => this.makePad(binding));
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
    if (config.backend === 'hidraw') {
      try {
        this.io = await (this.o.fdIo ?? realFdIo)();
      } catch (err) {
        // The keypads still work without the grab; their health says their keys reach the console.
        this.ioProblem = messageOf(err);
      }
    }
    const seen = this.poll();
    if (!this.pads.some((p) => p.links.length > 0)) {
      // Not a reason to keep the office shut (its dispenser, board and online tickets work without
      // a keypad): a cable pulled over the weekend is plugged back in, and the keypads are attached
      // at the next poll. Each counter's status already says keypad-missing.
      const list =
        keyboardCandidates(seen)
          .map((d) => `${usbId(d)} ${d.product ?? ''}`.trim())
          .join(', ') || 'none';
      logger.error(
        { code: 'keypad-none-found' },
        `none of the ${config.devices.length} configured keypads is plugged in (keyboards seen: ${list}); they are attached when plugged in. Check hardware.keypads.devices with "npm run hw -- list".`,
      );
    }
    this.timer = setInterval(() => this.poll(), config.pollMs);
    logger.info(
      { attached: this.pads.filter((p) => p.links.length > 0).map((p) => p.binding.counter) },
      'USB keypads started',
    );
  }

  private makePad(binding: KeypadBinding): Pad {
    const { config, logger } = this.o;
    const pad: Pad = {
      binding,
      links: [],
      grab: null,
      grabCode: null,
      grabGrace: false,
      attachedAt: 0,
      flaps: 0,
      retryAt: 0,
      ambiguousSaid: false,
      interpreter: undefined as unknown as KeypadInterpreter,
      health: {
        connected: false,
        lastError: null,
        lastErrorAt: null,
        lastErrorMessage: null,
        device: null,
        exclusive: false,
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
      serviceByIndex: this.o.serviceByIndex,
      onAction: (action: KeypadInputAction) => {
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
      this.o.logger[this.listFailing ? 'debug' : 'warn']({ err: messageOf(err) }, 'listing USB devices failed');
      this.listFailing = true;
      return [];
    }
    if (this.listFailing) this.o.logger.info('listing USB devices works again');
    this.listFailing = false;
    const candidates = keyboardCandidates(list);
    const present = new Set(candidates.map((d) => d.path));
    for (const p of this.refusedOnce) if (!present.has(p)) this.refusedOnce.delete(p);
    for (const pad of this.pads) {
      if (pad.links.some((l) => !present.has(l.info.path)))
        this.detach(pad, 'keypad-unplugged', 'the keypad was unplugged');
    }
    const claimed = new Set(this.pads.flatMap((p) => p.links.map((l) => l.info.path)));
    const portOf = this.portOf();
    for (const pad of this.pads) {
      if (pad.links.length > 0) {
        // a grab that failed (another program held the keypad) is tried again on every look
        if (!pad.health.exclusive) this.grab(pad);
        continue;
      }
      if (performance.now() < pad.retryAt) continue;
      const first = candidates.find((d) => !claimed.has(d.path) && matches(pad.binding, d, portOf));
      if (!first) {
        if (!pad.health.lastError) this.fail(pad, 'keypad-missing', `no keypad matches ${describe(pad.binding)}`);
        continue;
      }
      // The keypad's other keyboard interfaces: an NKRO keypad sends its keys on the second one.
      const group =
        pad.binding.path !== undefined
          ? [first]
          : [first, ...candidates.filter((d) => d !== first && !claimed.has(d.path) && sameDevice(first, d, portOf))];
      if (this.attach(pad, group)) {
        for (const l of pad.links) claimed.add(l.info.path);
        this.warnIfAmbiguous(pad, candidates, claimed, portOf);
      }
    }
    return list;
  }

  /** A vendor:product or serial binding that more keypads match (two of one cheap model, which
   * often share a serial too): it took the first the USB list named, which may be another after a
   * reboot or a replug. Said once per counter; the port binds such keypads for good. */
  private warnIfAmbiguous(
    pad: Pad,
    candidates: HidDeviceInfo[],
    claimed: Set<string | undefined>,
    portOf: (path: string | undefined) => string | undefined,
  ): void {
    const kind = bindingKind(pad.binding);
    if (pad.ambiguousSaid || (kind !== 'usb' && kind !== 'serial')) return;
    const others = candidates.filter((d) => !claimed.has(d.path) && matches(pad.binding, d, portOf));
    if (others.length === 0) return;
    pad.ambiguousSaid = true;
    const took = pad.links[0]!.info;
    this.o.logger.warn(
      {
        code: 'keypad-ambiguous',
        counter: pad.binding.counter,
        took: portOf(took.path) ?? took.path,
        alsoMatching: [...new Set(others.map((d) => portOf(d.path) ?? d.path))],
      },
      `more than one keypad matches ${describe(pad.binding)}: counter ${pad.binding.counter} took the first listed, which may change after a reboot; bind it by port (npm run hw -- list shows each keypad's port)`,
    );
  }

  private portOf(): (path: string | undefined) => string | undefined {
    return this.o.usbPort ?? ((p: string | undefined) => usbPortOf(p, this.o.sysfsRoot));
  }

  private attach(pad: Pad, group: HidDeviceInfo[]): boolean {
    const links: Link[] = [];
    for (const info of group) {
      let device: HidDevice;
      try {
        device = new this.hid!.HID(info.path!);
      } catch (err) {
        if (links.length > 0) {
          // the keypad's first interface is open: go on with it, say why the other is missing
          this.o.logger.warn(
            { counter: pad.binding.counter, path: info.path, err: messageOf(err) },
            'keypad interface cannot be opened',
          );
          continue;
        }
        const denied = errnoOf(err) === 'EACCES' || /permission|denied|EACCES/i.test(messageOf(err));
        // A keypad plugged in is listed as soon as the kernel makes its node, root's alone until
        // udev has applied the rule a few ms later: refused on that first look, it is opened on
        // the next one, and telling the installer to add a udev rule that is there would mislead.
        const hotPlugged = this.timer !== null;
        if (denied && hotPlugged && info.path && !this.refusedOnce.has(info.path)) {
          this.refusedOnce.add(info.path);
          return false;
        }
        this.fail(
          pad,
          denied ? 'hid-permission' : 'keypad-open-failed',
          denied
            ? `${info.path}: permission denied. Install the udev rule from docs/hardware.md so the daemon's user can read keypads.`
            : `${info.path}: cannot open the keypad (${messageOf(err)}); it may be taken by another program.`,
        );
        return false;
      }
      if (info.path) this.refusedOnce.delete(info.path);
      const link: Link = { info, device, keys: [], layouts: this.layoutsOf(info.path) };
      links.push(link);
      device.on('data', (data: Buffer) => {
        if (pad.links.includes(link)) this.report(pad, link, data);
      });
      device.on('error', (err: unknown) => {
        if (!pad.links.includes(link)) return;
        // still listed: not pulled out but failing (a bad cable, a failing device), which a
        // re-attach at every poll would only repeat
        const failing = this.listed(link.info.path);
        this.detach(pad, 'keypad-unplugged', `the keypad stopped answering (${messageOf(err)})`, false, failing);
      });
    }
    const info = links[0]!.info;
    pad.links = links;
    pad.health.connected = true;
    pad.health.device = `${usbId(info)} ${info.product ?? ''}`.trim();
    pad.health.attaches += 1;
    pad.attachedAt = performance.now();
    this.o.logger[pad.flaps > 0 ? 'debug' : 'info'](
      {
        counter: pad.binding.counter,
        device: pad.health.device,
        paths: links.map((l) => l.info.path),
        reports: links.map((l) => layoutSummary(l.layouts)),
      },
      'keypad attached',
    );
    this.changed(pad);
    // its evdev nodes get their group from udev after the hidraw node, as above
    pad.grabGrace = this.timer !== null;
    this.grab(pad);
    return true;
  }

  /** The report layouts its descriptor declares; none (boot reports) when sysfs has no descriptor. */
  private layoutsOf(path: string | undefined): KeyReportLayout[] {
    const descriptor = path ? readReportDescriptor(path, this.o.sysfsRoot ?? HIDRAW_CLASS) : null;
    if (!descriptor) return [];
    try {
      return parseReportDescriptor(descriptor);
    } catch (err) {
      this.o.logger.warn({ path, err: messageOf(err) }, 'keypad report descriptor unreadable; reading boot reports');
      return [];
    }
  }

  private grab(pad: Pad): void {
    pad.grab ??= new KeypadGrab({
      io: this.io,
      unavailable: this.ioProblem,
      sysfsRoot: this.o.sysfsRoot,
    });
    const r = pad.grab.grab(pad.links.map((l) => l.info.path!));
    const grace = pad.grabGrace;
    pad.grabGrace = false;
    const was = pad.health.exclusive;
    pad.health.exclusive = r.exclusive;
    // refused right after a hot-plug: the next poll tries again (exclusive stays false)
    if (r.problem?.code === 'keypad-grab-denied' && grace) return;
    if (r.problem) {
      if (pad.grabCode === r.problem.code) return;
      pad.grabCode = r.problem.code;
      pad.health.lastError = r.problem.code;
      pad.health.lastErrorMessage = r.problem.message;
      pad.health.lastErrorAt = new Date((this.o.now ?? Date.now)()).toISOString();
      // said at its first attach; a flapping keypad's next attaches find the same problem
      this.o.logger[pad.flaps > 0 ? 'debug' : 'warn'](
        { counter: pad.binding.counter, code: r.problem.code },
        r.problem.message,
      );
      this.changed(pad);
    } else if (!was) {
      pad.grabCode = null;
      this.o.logger[pad.flaps > 0 ? 'debug' : 'info'](
        { counter: pad.binding.counter, grabbed: r.nodes },
        'keypad keys go to beonho only',
      );
      this.changed(pad);
    }
  }

  private report(pad: Pad, link: Link, data: Buffer): void {
    const r = decodeReport(data, link.keys, this.o.config.reportId, link.layouts);
    if (r.ignored && r.ignored !== 'rollover') {
      this.o.logger.debug({ counter: pad.binding.counter, report: hex(data), why: r.ignored }, 'keypad report ignored');
    }
    link.keys = r.keys;
    for (const k of r.up) pad.interpreter.keyUp(k.usage);
    for (const k of r.down) pad.interpreter.keyDown(k.usage, k.key);
  }

  private listed(path: string | undefined): boolean {
    try {
      return this.hid!.devices().some((d) => d.path === path);
    } catch {
      return false;
    }
  }

  private detach(
    pad: Pad,
    code: 'keypad-unplugged' | 'keypad-missing',
    message: string,
    quiet = false,
    failing = false,
  ): void {
    const links = pad.links;
    pad.links = [];
    // Whatever was half-pressed or half-typed belongs to a keypad that is gone.
    pad.interpreter.reset();
    for (const l of links) {
      try {
        l.device.close();
      } catch {
        // an unplugged device may refuse to close; it is gone either way
      }
    }
    pad.grab?.release();
    pad.grabCode = null;
    pad.health.exclusive = false;
    if (quiet) {
      pad.health.connected = false;
      this.changed(pad);
      return;
    }
    pad.health.unplugs += 1;
    // intervals on the monotonic clock: a wall clock stepped back would hold the retry that long
    const now = performance.now();
    if (failing && now - pad.attachedAt < FLAP_MS) {
      pad.flaps += 1;
      pad.retryAt = now + Math.min(FLAP_MAX_MS, 1000 * 2 ** (pad.flaps - 1));
    } else {
      pad.flaps = 0;
      pad.retryAt = 0;
    }
    this.fail(pad, code, message, pad.flaps > 1);
  }

  /** quiet: a flap after the first, which the log has already said */
  private fail(pad: Pad, code: string, message: string, quiet = false): void {
    const repeated = quiet || (pad.health.lastError === code && !pad.health.connected);
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
    for (const pad of this.pads) if (pad.links.length > 0) this.detach(pad, 'keypad-unplugged', 'stopped', true);
    this.onInput = null;
  }

  health(): Record<string, ComponentHealth> {
    return Object.fromEntries(this.pads.map((p) => [p.binding.counter, { ...p.health }]));
  }
}

/** Two interfaces of one physical keypad: same ids and serial, same USB port. */
function sameDevice(
  a: HidDeviceInfo,
  b: HidDeviceInfo,
  portOf: (path: string | undefined) => string | undefined,
): boolean {
  const port = portOf(a.path);
  return (
    port !== undefined &&
    port === portOf(b.path) &&
    a.vendorId === b.vendorId &&
    a.productId === b.productId &&
    (a.serialNumber ?? '') === (b.serialNumber ?? '')
  );
}

/** From the most specific binding to the least. */
const BINDING_ORDER = ['path', 'port', 'serial', 'usb'] as const;

function bindingKind(b: KeypadBinding): (typeof BINDING_ORDER)[number] {
  if (b.path !== undefined) return 'path';
  if (b.port !== undefined) return 'port';
  if (b.serial !== undefined) return 'serial';
  return 'usb';
}

function describe(b: KeypadBinding): string {
  if (b.serial !== undefined) return `serial ${b.serial}`;
  if (b.port !== undefined) return `USB port ${b.port}`;
  if (b.usb !== undefined) return `USB id ${b.usb}`;
  return `path ${b.path}`;
}
