// The installer's tool: find and try the input hardware without reading code.
//   npm run hw -- list             HID devices (keypads), serial ports (Arduino), GPIO chips
//   npm run hw -- keypad <path>    each key pressed, decoded, and the action it would send
//   npm run hw -- gpio <pin>       a BCM pin's level and edges, and the presses they make
// See docs/hardware.md.
import { existsSync } from 'node:fs';
import { readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import { pino } from 'pino';
import { type HidKeypadsConfig, keypadsHardwareSchema } from './config/hardware-schema.ts';
import { loadConfig } from './config/load.ts';
import { HardwareError, messageOf } from './hw/errors.ts';
import { gpioBase, headerChip, listGpioChips, sysfsNumber } from './hw/gpio-numbering.ts';
import { keyboardCandidates, usbId, usbPortOf } from './hw/hid-match.ts';
import { decodeReport, hex, type KeyReportLayout, layoutSummary, parseReportDescriptor } from './hw/hid-report.ts';
import { HIDRAW_CLASS, readReportDescriptor } from './hw/hidraw-sysfs.ts';
import { type FdIo, realFdIo } from './hw/ioctl.ts';
import { KeypadGrab } from './hw/keypad-grab.ts';
import { KeypadInterpreter } from './hw/keymap.ts';
import { type GpioModule, type HidModule, loadNodeHid, loadOnoff } from './hw/native.ts';
import { LevelDebouncer } from './hw/press-filter.ts';
import { isMainModule } from './util/main-module.ts';

export interface ToolDeps {
  out: (line: string) => void;
  loadHid: (backend: 'hidraw' | 'libusb') => Promise<HidModule>;
  loadGpio: () => Promise<GpioModule>;
  serialPorts: () => Promise<
    Array<{ path: string; manufacturer?: string | undefined; serialNumber?: string | undefined }>
  >;
  usbPort: (path: string | undefined) => string | undefined;
  sysfsRoot?: string;
  /** /sys/class/hidraw: report descriptors and input nodes of keypads */
  hidrawSysfs?: string;
  /** file descriptors and ioctls for the evdev grab (tests: a fake input subsystem) */
  fdIo?: () => Promise<FdIo>;
  now: () => number;
}

export async function listHardware(d: ToolDeps, backend: 'hidraw' | 'libusb' = 'hidraw'): Promise<void> {
  d.out('USB HID devices (keypads: use serial, port, usb or path in hardware.keypads.devices)');
  try {
    const hid = await d.loadHid(backend);
    const all = hid.devices();
    const keyboards = new Set(keyboardCandidates(all).map((k) => k.path));
    if (all.length === 0) d.out('  none');
    for (const dev of all) {
      const kind = keyboards.has(dev.path) ? 'keyboard' : `usage ${dev.usagePage ?? '?'}:${dev.usage ?? '?'}`;
      d.out(
        `  ${dev.path ?? '?'}  usb ${usbId(dev)}  port ${d.usbPort(dev.path) ?? '-'}  serial ${dev.serialNumber || '-'}  ${kind}  ${[dev.manufacturer, dev.product].filter(Boolean).join(' ')}`,
      );
    }
  } catch (err) {
    d.out(`  ${messageOf(err)}`);
  }
  d.out('Serial ports (Arduino with StandardFirmata: hardware.buttons.port)');
  try {
    const ports = await d.serialPorts();
    if (ports.length === 0) d.out('  none');
    for (const p of ports)
      d.out(`  ${p.path}  ${p.manufacturer ?? ''}  ${p.serialNumber ? `serial ${p.serialNumber}` : ''}`.trimEnd());
  } catch (err) {
    d.out(`  ${messageOf(err)}`);
  }
  d.out('GPIO (hardware.buttons.driver: gpio)');
  const chips = await listGpioChips(d.sysfsRoot);
  if (chips.length === 0) d.out('  no /sys/class/gpio: not a Raspberry Pi, or GPIO sysfs is not enabled');
  const header = headerChip(chips);
  for (const c of chips)
    d.out(
      `  ${c.name}  base ${c.base}  ${c.ngpio} lines  "${c.label}"${c === header ? `  <- pin header: GPIO17 is ${sysfsNumber(17, c.base)}` : ''}`,
    );
}

export async function watchKeypad(
  d: ToolDeps,
  path: string,
  opts: {
    backend?: 'hidraw' | 'libusb';
    reportId?: number;
    /** the office's keypad settings, so the tool shows exactly what the daemon would do */
    keypads?: HidKeypadsConfig;
    serviceByIndex?: (n: number) => string | undefined;
  },
): Promise<() => void> {
  const hid = await d.loadHid(opts.backend ?? 'hidraw');
  const cfg = opts.keypads ?? keypadsHardwareSchema.parse({ driver: 'hid', devices: [{ counter: 'test', path }] });
  if (cfg.driver !== 'hid') throw new Error('unreachable');
  const reportId = opts.reportId ?? cfg.reportId;
  const interpreter = new KeypadInterpreter({
    keys: cfg.keys,
    holdKeys: cfg.holdKeys,
    holdMs: cfg.holdMs,
    entryTimeoutMs: cfg.entryTimeoutMs,
    repeatGuardMs: cfg.repeatGuardMs,
    now: d.now,
    logger: pino({ level: 'silent' }),
    serviceByIndex: opts.serviceByIndex,
    onAction: (a) => d.out(`    => ${JSON.stringify(a)}`),
    onRejected: (a) => d.out(`    => ${a.type} again too soon: ignored as a double press`),
    onIgnored: (usage, key) => d.out(`    (0x${usage.toString(16)} ${key ?? 'unknown key'}: no role, ignored)`),
  });
  const device = new hid.HID(path);
  let layouts: KeyReportLayout[] = [];
  const descriptor = readReportDescriptor(path, d.hidrawSysfs ?? HIDRAW_CLASS);
  try {
    layouts = descriptor ? parseReportDescriptor(descriptor) : [];
  } catch (err) {
    d.out(`  report descriptor unreadable (${messageOf(err)}): reading boot reports`);
  }
  d.out(
    `Report format: ${layoutSummary(layouts)}${descriptor && layouts.length === 0 ? " (this interface declares no keys: try the keypad's other path)" : ''}`,
  );
  // Grab the keypad as the daemon does, so a key pressed here does not also land in a console.
  let io: FdIo | null = null;
  let ioProblem: string | undefined;
  try {
    io = await (d.fdIo ?? realFdIo)();
  } catch (err) {
    ioProblem = messageOf(err);
  }
  const grab = new KeypadGrab({ io, unavailable: ioProblem, sysfsRoot: d.hidrawSysfs });
  const g = grab.grab([path]);
  if (g.problem) d.out(`  warning: ${g.problem.code}: ${g.problem.message}`);
  else if (g.nodes.length > 0) d.out(`Keys go to this tool only (grabbed ${g.nodes.join(', ')})`);
  let keys: number[] = [];
  device.on('data', (data: Buffer) => {
    const r = decodeReport(data, keys, reportId, layouts);
    keys = r.keys;
    const parts = [
      ...r.down.map((k) => `down ${k.key ?? `0x${k.usage.toString(16)}`}`),
      ...r.up.map((k) => `up ${k.key ?? `0x${k.usage.toString(16)}`}`),
    ];
    d.out(`  [${hex(data)}]  ${r.ignored ? `ignored (${r.ignored})` : parts.join(', ') || '-'}`);
    for (const k of r.up) interpreter.keyUp(k.usage);
    for (const k of r.down) interpreter.keyDown(k.usage, k.key);
  });
  device.on('error', (err: unknown) => d.out(`  keypad error: ${messageOf(err)} (unplugged?)`));
  d.out(`Reading ${path}: press keys (Ctrl-C to stop)`);
  return () => {
    interpreter.reset();
    device.close();
    grab.release();
  };
}

export async function watchGpio(
  d: ToolDeps,
  bcm: number,
  opts: { base?: number; activeHigh?: boolean; debounceMs?: number },
): Promise<() => void> {
  const { Gpio } = await d.loadGpio();
  if (!Gpio.accessible) {
    throw new HardwareError(
      'gpio-not-accessible',
      '/sys/class/gpio/export cannot be opened: not a Raspberry Pi, or this user is not in the "gpio" group.',
    );
  }
  const n = sysfsNumber(bcm, await gpioBase({ sysfsRoot: d.sysfsRoot, override: opts.base }));
  // Exported already: most likely by the running service, whose buttons read it. Unexported by
  // this tool at its end, the service's interrupt handler would fail and the service stop: the pin
  // is left as it was found.
  const sharedWith = existsSync(join(d.sysfsRoot ?? '/sys/class/gpio', `gpio${n}`));
  const gpio = new Gpio(n, 'in', 'both');
  const active = opts.activeHigh ? 1 : 0;
  const t0 = d.now();
  const debouncer = new LevelDebouncer(
    opts.debounceMs ?? 30,
    () => gpio.readSync() === active,
    (pressed) => d.out(`  ${d.now() - t0} ms  ${pressed ? 'PRESS (counts as one press)' : 'release'}`),
  );
  d.out(`GPIO${bcm} (sysfs ${n}) reads ${gpio.readSync()} now; idle should be ${1 - active} (Ctrl-C to stop)`);
  if (!opts.activeHigh)
    d.out('  if it idles at 0, the pull-up is missing: see docs/hardware.md (gpio=...=ip,pu in config.txt)');
  if (sharedWith) d.out('  the pin was exported already (the service reads it?): it is left exported at the end');
  gpio.watch((err, value) => {
    if (err) d.out(`  error: ${messageOf(err)}`);
    else d.out(`  ${d.now() - t0} ms  edge -> ${value}`);
    debouncer.edge();
  });
  return () => {
    debouncer.cancel();
    gpio.unwatchAll();
    if (!sharedWith) gpio.unexport();
  };
}

/** serialport's list needs udevadm; /dev is enough to find an Arduino when it is missing. */
async function serialPorts(): Promise<Array<{ path: string; manufacturer?: string; serialNumber?: string }>> {
  try {
    const m = (await import('serialport')) as unknown as {
      default?: { list(): Promise<Array<{ path: string; manufacturer?: string; serialNumber?: string }>> };
    };
    const list = await m.default!.list();
    return list.filter((p) => /ttyACM|ttyUSB|ttyAMA|ttyS0|serial/.test(p.path) || p.manufacturer);
  } catch {
    const found: Array<{ path: string; manufacturer?: string }> = [];
    for (const name of await readdir('/dev/serial/by-id').catch(() => [] as string[])) {
      const target = await readlink(join('/dev/serial/by-id', name)).catch(() => '');
      found.push({
        path: join('/dev/serial/by-id', name),
        manufacturer: target ? `-> ${target.replace(/^(\.\.\/)+/, '/dev/')}` : undefined,
      });
    }
    for (const name of await readdir('/dev').catch(() => [] as string[])) {
      if (/^tty(ACM|USB)\d+$/.test(name)) found.push({ path: `/dev/${name}` });
    }
    return found;
  }
}

export const realDeps: ToolDeps = {
  out: (line) => console.log(line),
  loadHid: loadNodeHid,
  loadGpio: loadOnoff,
  serialPorts,
  usbPort: (p) => usbPortOf(p),
  fdIo: realFdIo,
  now: Date.now,
};

function untilInterrupted(stop: () => void): void {
  process.once('SIGINT', () => {
    stop();
    process.exit(0);
  });
}

async function main(argv: string[]): Promise<void> {
  const program = new Command('hw').description('Find and try beonho input hardware (docs/hardware.md)');
  const backend = (v: string): 'hidraw' | 'libusb' => (v === 'libusb' ? 'libusb' : 'hidraw');
  program
    .command('list')
    .description('list HID devices, serial ports and GPIO chips')
    .option('--backend <backend>', 'node-hid backend: hidraw or libusb', 'hidraw')
    .action(async (o: { backend: string }) => listHardware(realDeps, backend(o.backend)));
  program
    .command('keypad <path>')
    .description('print each key pressed on a keypad, decoded, and the action it sends')
    .option('--backend <backend>', 'node-hid backend: hidraw or libusb', 'hidraw')
    .option('--report-id <n>', 'the report id byte, if the keypad uses one', (v) => Number(v))
    .option('--config <file>', "use this config's keypad layout")
    .action(async (path: string, o: { backend: string; reportId?: number; config?: string }) => {
      const opts: Parameters<typeof watchKeypad>[2] = { backend: backend(o.backend), reportId: o.reportId };
      if (o.config) {
        const { config } = await loadConfig(o.config);
        if (config.hardware.keypads.driver === 'hid') {
          opts.keypads = config.hardware.keypads;
          opts.backend = o.backend === 'hidraw' ? config.hardware.keypads.backend : backend(o.backend);
        }
        opts.serviceByIndex = (n) => config.services[n - 1]?.id;
      }
      untilInterrupted(await watchKeypad(realDeps, path, opts));
    });
  program
    .command('gpio <pin>')
    .description("show a BCM pin's level and edges, and the presses they make")
    .option('--base <n>', 'sysfs number of GPIO0, if the automatic guess is wrong', (v) => Number(v))
    .option('--active-high', 'the button pulls the pin up (pull-down wiring)')
    .action(async (pin: string, o: { base?: number; activeHigh?: boolean }) => {
      untilInterrupted(await watchGpio(realDeps, Number(pin), o));
    });
  await program.parseAsync(argv);
}

if (isMainModule(import.meta.url)) {
  main(process.argv).catch((err: unknown) => {
    console.error(err instanceof HardwareError ? err.message : `error: ${messageOf(err)}`);
    process.exit(1);
  });
}
