// Fakes for the hardware tests: the native modules replaced at their one seam (the Gpio class,
// node-hid's device list and HID class, the Firmata IO), plus a logger whose lines can be read.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { EVIOCGRAB, type FdIo } from '../device/hw/ioctl.ts';
import type { GpioModule, GpioPin, GpioValue, HidDevice, HidDeviceInfo, HidModule } from '../device/hw/native.ts';

export function captureLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

// --- GPIO --------------------------------------------------------------------------------------

export class FakePin implements GpioPin {
  value: GpioValue = 1;
  watchers: Array<(err: Error | null, v: GpioValue) => void> = [];
  exported = true;
  constructor(readonly n: number) {}
  readSync(): GpioValue {
    return this.value;
  }
  watch(cb: (err: Error | null | undefined, v: GpioValue) => void): void {
    this.watchers.push(cb);
  }
  unwatchAll(): void {
    this.watchers = [];
  }
  unexport(): void {
    this.exported = false;
  }
  /** the contact moves: new level, and an interrupt as the kernel would raise it */
  set(v: GpioValue): void {
    this.value = v;
    for (const w of this.watchers) w(null, v);
  }
}

export function fakeGpio(opts: { accessible?: boolean; fail?: Record<number, string> } = {}): {
  module: GpioModule;
  pins: Map<number, FakePin>;
} {
  const pins = new Map<number, FakePin>();
  class Gpio extends FakePin {
    static get accessible(): boolean {
      return opts.accessible ?? true;
    }
    constructor(n: number) {
      super(n);
      const errno = opts.fail?.[n];
      if (errno) throw Object.assign(new Error(`${errno}: export failed`), { code: errno });
      pins.set(n, this);
    }
  }
  return { module: { Gpio }, pins };
}

// --- node-hid ----------------------------------------------------------------------------------

export class FakeHidDevice implements HidDevice {
  private handlers: { data: Array<(d: Buffer) => void>; error: Array<(e: unknown) => void> } = { data: [], error: [] };
  closed = false;
  constructor(readonly path: string) {}
  on(event: 'data' | 'error', cb: (x: never) => void): this {
    this.handlers[event].push(cb as never);
    return this;
  }
  close(): void {
    this.closed = true;
  }
  send(hexBytes: string): void {
    const buf = Buffer.from(hexBytes.replace(/\s+/g, ''), 'hex');
    for (const h of this.handlers.data) h(buf);
  }
  fail(err: Error): void {
    for (const h of this.handlers.error) h(err);
  }
}

export class FakeHid {
  list: HidDeviceInfo[] = [];
  open = new Map<string, FakeHidDevice>();
  opened: string[] = [];
  openError: Record<string, Error> = {};
  readonly module: HidModule;
  constructor() {
    const self = this;
    this.module = {
      devices: () => self.list.map((d) => ({ ...d })),
      HID: class {
        constructor(path: string) {
          const err = self.openError[path];
          if (err) throw err;
          const dev = new FakeHidDevice(path);
          self.open.set(path, dev);
          self.opened.push(path);
          // biome-ignore lint/correctness/noConstructorReturn: the fake hands out its recorder
          return dev;
        }
      } as unknown as HidModule['HID'],
    };
  }
  plug(info: HidDeviceInfo): void {
    this.list.push(info);
  }
  /** the cable is pulled: the device leaves the list and its pending read fails */
  unplug(path: string): void {
    this.list = this.list.filter((d) => d.path !== path);
    this.open.get(path)?.fail(new Error('could not read from HID device'));
    this.open.delete(path);
  }
  device(path: string): FakeHidDevice {
    const d = this.open.get(path);
    if (!d) throw new Error(`${path} is not open`);
    return d;
  }
}

// --- Firmata -----------------------------------------------------------------------------------

const require = createRequire(import.meta.url);
const MockFirmata = (require('mock-firmata') as { Firmata: new (opts?: object) => object }).Firmata;

/**
 * mock-firmata's board with digital reads working as firmata.js does them (a "digital-read-N"
 * listener per pin), and "connect"/"ready" raised on the next tick like a real IO plugin. As
 * StandardFirmata does, the board answers a pin's first read with the level the pin has then
 * (idle: 1, the pull-up, unless the test set it), so a button held at that moment is seen.
 */
export class TestFirmata extends (MockFirmata as unknown as new (
  opts?: object,
) => NodeJS.EventEmitter & Record<string, unknown>) {
  modes = new Map<number, number>();
  writes: Array<[number, number]> = [];
  levels = new Map<number, 0 | 1>();
  constructor(ready = true) {
    super();
    if (ready) {
      process.nextTick(() => {
        this.emit('connect');
        this.emit('ready');
      });
    }
  }
  pinMode(pin: number, mode: number): void {
    this.modes.set(pin, mode);
  }
  digitalRead(pin: number, cb: (v: number) => void): void {
    this.on(`digital-read-${pin}`, cb);
    process.nextTick(() => this.emit(`digital-read-${pin}`, this.levels.get(pin) ?? 1));
  }
  digitalWrite(pin: number, value: number): void {
    this.writes.push([pin, value]);
  }
  setPin(pin: number, v: 0 | 1): void {
    this.levels.set(pin, v);
    this.emit(`digital-read-${pin}`, v);
  }
}

// --- the kernel side of a keypad: sysfs and evdev ----------------------------------------------

export interface FakeInterface {
  /** hidraw node name, e.g. "hidraw0" */
  hidraw: string;
  /** USB port of the keypad, e.g. "1-1.2" */
  port: string;
  /** USB interface number */
  iface: number;
  vendorId: number;
  productId: number;
  /** the report descriptor, hex; absent: sysfs has none */
  descriptor?: string;
  /** evdev nodes the kernel made for this interface, e.g. ["event3"] */
  events: string[];
}

/** A /sys tree with hidraw nodes, their HID devices, report descriptors and input nodes. Returns
 * the path to use as /sys/class/hidraw. */
export function fakeHidrawSysfs(root: string, ifaces: FakeInterface[]): string {
  const cls = join(root, 'class', 'hidraw');
  mkdirSync(cls, { recursive: true });
  ifaces.forEach((f, n) => {
    const hex4 = (v: number): string => v.toString(16).toUpperCase().padStart(4, '0');
    const hid = join(
      root,
      'devices',
      'usb1',
      f.port,
      `${f.port}:1.${f.iface}`,
      `0003:${hex4(f.vendorId)}:${hex4(f.productId)}.${hex4(n + 1)}`,
    );
    mkdirSync(hid, { recursive: true });
    if (f.descriptor)
      writeFileSync(join(hid, 'report_descriptor'), Buffer.from(f.descriptor.replace(/\s+/g, ''), 'hex'));
    f.events.forEach((ev, k) => {
      mkdirSync(join(hid, 'input', `input${10 * n + k}`, ev), { recursive: true });
    });
    mkdirSync(join(cls, f.hidraw), { recursive: true });
    symlinkSync(hid, join(cls, f.hidraw, 'device'));
  });
  return cls;
}

/**
 * The input subsystem as far as the keypad driver touches it: evdev nodes that can be opened and
 * grabbed (EVIOCGRAB), and the text console's keyboard handler, which gets every key of a node
 * nobody has grabbed (input_pass_values in drivers/input/input.c).
 */
export class FakeInputKernel implements FdIo {
  /** keys the virtual terminal received */
  console: string[] = [];
  /** evdev node -> fd holding its grab */
  grabs = new Map<string, number>();
  denied = new Set<string>();
  calls: Array<{ node: string; request: number; arg: number }> = [];
  private fds = new Map<number, string>();
  private next = 10;
  open(path: string): number {
    if (this.denied.has(path)) throw Object.assign(new Error(`open ${path}: EACCES`), { code: 'EACCES' });
    const fd = this.next++;
    this.fds.set(fd, path);
    return fd;
  }
  ioctl(fd: number, request: number, arg: number): void {
    const node = this.fds.get(fd);
    if (!node) throw Object.assign(new Error('EBADF'), { code: 'EBADF' });
    this.calls.push({ node, request, arg });
    if (request !== EVIOCGRAB) throw Object.assign(new Error('ENOTTY'), { code: 'ENOTTY' });
    const holder = this.grabs.get(node);
    if (arg) {
      if (holder !== undefined && holder !== fd) throw Object.assign(new Error('EBUSY'), { code: 'EBUSY' });
      this.grabs.set(node, fd);
    } else if (holder === fd) this.grabs.delete(node);
  }
  write(): void {}
  close(fd: number): void {
    const node = this.fds.get(fd);
    if (node !== undefined && this.grabs.get(node) === fd) this.grabs.delete(node);
    this.fds.delete(fd);
  }
  /** another program (a second daemon) grabs a node */
  grabElsewhere(node: string): () => void {
    const fd = this.open(node);
    this.ioctl(fd, EVIOCGRAB, 1);
    return () => this.close(fd);
  }
  /** a key event on a node: whoever grabbed it gets it, else the console does too */
  key(node: string, name: string): void {
    if (!this.grabs.has(node)) this.console.push(name);
  }
  get openFds(): number {
    return this.fds.size;
  }
}
