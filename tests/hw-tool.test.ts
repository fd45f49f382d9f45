import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { keypadsHardwareSchema } from '../device/config/hardware-schema.ts';
import { HardwareError } from '../device/hw/errors.ts';
import { listHardware, type ToolDeps, watchGpio, watchKeypad } from '../device/hw-tool.ts';
import { isMainModule } from '../device/util/main-module.ts';
import { FakeHid, FakeInputKernel, fakeGpio, fakeHidrawSysfs } from './hw-fakes.ts';

function pi4Sysfs(): string {
  const root = mkdtempSync(join(tmpdir(), 'beonho-tool-'));
  mkdirSync(join(root, 'gpiochip512'));
  writeFileSync(join(root, 'gpiochip512', 'base'), '512\n');
  writeFileSync(join(root, 'gpiochip512', 'ngpio'), '58\n');
  writeFileSync(join(root, 'gpiochip512', 'label'), 'pinctrl-bcm2711\n');
  return root;
}

let t = 0;
beforeEach(() => {
  vi.useFakeTimers();
  t = 0;
});
afterEach(() => vi.useRealTimers());

function deps(extra: Partial<ToolDeps> = {}): { d: ToolDeps; lines: string[] } {
  const lines: string[] = [];
  const hid = new FakeHid();
  const d: ToolDeps = {
    out: (l) => lines.push(l),
    loadHid: async () => hid.module,
    loadGpio: async () => fakeGpio().module,
    serialPorts: async () => [],
    usbPort: () => undefined,
    // never the machine's own sysfs and input nodes
    hidrawSysfs: join(tmpdir(), 'beonho-no-sysfs'),
    fdIo: async () => new FakeInputKernel(),
    now: () => t,
    ...extra,
  };
  return { d, lines };
}

describe('npm run hw -- list', () => {
  it('lists keypads with what binds them, serial ports and the header gpiochip', async () => {
    const hid = new FakeHid();
    hid.plug({
      vendorId: 0x1a2c,
      productId: 0x0e24,
      path: '/dev/hidraw0',
      serialNumber: 'KP1',
      product: 'USB Keypad',
      usagePage: 1,
      usage: 6,
    });
    hid.plug({
      vendorId: 0x1a2c,
      productId: 0x0e24,
      path: '/dev/hidraw1',
      product: 'USB Keypad',
      usagePage: 12,
      usage: 1,
    });
    const { d, lines } = deps({
      loadHid: async () => hid.module,
      serialPorts: async () => [{ path: '/dev/ttyACM0', manufacturer: 'Arduino (www.arduino.cc)' }],
      usbPort: (p) => (p === '/dev/hidraw0' ? '1-1.2' : undefined),
      sysfsRoot: pi4Sysfs(),
    });
    await listHardware(d);
    const text = lines.join('\n');
    expect(text).toMatch(/\/dev\/hidraw0 {2}usb 1a2c:0e24 {2}port 1-1\.2 {2}serial KP1 {2}keyboard {2}USB Keypad/);
    expect(text).toMatch(/\/dev\/hidraw1 .*usage 12:1/);
    expect(text).toMatch(/\/dev\/ttyACM0 {2}Arduino/);
    expect(text).toMatch(/gpiochip512 {2}base 512 .*pin header: GPIO17 is 529/);
  });

  it('reports a module that cannot load and goes on with the rest', async () => {
    const { d, lines } = deps({
      loadHid: async () => {
        throw new HardwareError('hid-module-unavailable', 'node-hid cannot load: install libusb-1.0-0');
      },
      sysfsRoot: '/nonexistent',
    });
    await listHardware(d);
    expect(lines.join('\n')).toMatch(/hid-module-unavailable.*\n.*Serial ports[\s\S]*not a Raspberry Pi/);
  });
});

describe('npm run hw -- keypad <path>', () => {
  it('prints each report, the keys, and the action it would send', async () => {
    const hid = new FakeHid();
    hid.plug({ vendorId: 1, productId: 2, path: '/dev/hidraw0' });
    const { d, lines } = deps({ loadHid: async () => hid.module });
    const stop = await watchKeypad(d, '/dev/hidraw0', {});
    const dev = hid.device('/dev/hidraw0');
    for (const h of [
      '00 00 59 00 00 00 00 00',
      '00 00 00 00 00 00 00 00',
      '00 00 58 00 00 00 00 00',
      '00 00 00 00 00 00 00 00',
      '00 00 3a 00 00 00 00 00',
    ])
      dev.send(h);
    stop();
    expect(dev.closed).toBe(true);
    expect(lines).toEqual(
      expect.arrayContaining([
        '  [00 00 59 00 00 00 00 00]  down 1',
        '  [00 00 00 00 00 00 00 00]  up 1',
        '    => {"type":"call","number":"1"}',
        '    (0x3a unknown key: no role, ignored)',
      ]),
    );
  });
});

describe('npm run hw -- keypad on a real keypad', () => {
  it('reads the format from its report descriptor, grabs it while it runs, releases it at Ctrl-C', async () => {
    const fx = JSON.parse(
      readFileSync(join(import.meta.dirname, 'fixtures', 'hid', 'real-keychron-q0-nkro.json'), 'utf8'),
    ) as { interfaces: Array<{ descriptor: string }> };
    const root = mkdtempSync(join(tmpdir(), 'beonho-tool-fx-'));
    const hidrawSysfs = fakeHidrawSysfs(root, [
      {
        hidraw: 'hidraw4',
        port: '1-1.4',
        iface: 1,
        vendorId: 0x3434,
        productId: 0x0130,
        descriptor: fx.interfaces[1]!.descriptor,
        events: ['event7'],
      },
    ]);
    const hid = new FakeHid();
    hid.plug({ vendorId: 0x3434, productId: 0x0130, path: '/dev/hidraw4' });
    const kernel = new FakeInputKernel();
    const { d, lines } = deps({ loadHid: async () => hid.module, hidrawSysfs, fdIo: async () => kernel });
    try {
      const stop = await watchKeypad(d, '/dev/hidraw4', {});
      expect(lines).toContain('Report format: id 6 bitmap of 240 keys (NKRO), 31 bytes');
      expect(lines).toContain('Keys go to this tool only (grabbed /dev/input/event7)');
      expect([...kernel.grabs.keys()]).toEqual(['/dev/input/event7']);
      const report = new Uint8Array(32);
      report[0] = 6;
      report[2 + (0x57 >> 3)] = 1 << (0x57 & 7); // +
      hid.device('/dev/hidraw4').send(Buffer.from(report).toString('hex'));
      expect(lines.at(-2)).toMatch(/down \+$/);
      expect(lines.at(-1)).toBe('    => {"type":"next"}');
      stop();
      expect(kernel.grabs.size).toBe(0);
      expect(kernel.openFds).toBe(0);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('says so when the keypad cannot be grabbed, and still shows its keys', async () => {
    const hid = new FakeHid();
    hid.plug({ vendorId: 1, productId: 2, path: '/dev/hidraw0' });
    const { d, lines } = deps({ loadHid: async () => hid.module });
    const stop = await watchKeypad(d, '/dev/hidraw0', {});
    expect(lines.some((l) => l.startsWith('  warning: keypad-grab-unavailable:'))).toBe(true);
    hid.device('/dev/hidraw0').send('00 00 59 00 00 00 00 00');
    expect(lines.at(-1)).toBe('  [00 00 59 00 00 00 00 00]  down 1');
    stop();
  });
});

describe('npm run hw -- gpio <pin>', () => {
  it('shows edges and the debounced press at the kernel 6.6 sysfs number', async () => {
    const gpio = fakeGpio();
    const { d, lines } = deps({ loadGpio: async () => gpio.module, sysfsRoot: pi4Sysfs() });
    const stop = await watchGpio(d, 17, {});
    const pin = gpio.pins.get(529)!;
    pin.set(0);
    pin.set(1);
    pin.set(0);
    t = 40;
    vi.advanceTimersByTime(40);
    stop();
    expect(pin.exported).toBe(false);
    expect(lines[0]).toBe('GPIO17 (sysfs 529) reads 1 now; idle should be 1 (Ctrl-C to stop)');
    expect(lines.filter((l) => l.includes('edge'))).toHaveLength(3);
    expect(lines.filter((l) => l.includes('PRESS'))).toHaveLength(1);
  });

  it('leaves a pin the service has exported as it found it (unexported, the service would fail)', async () => {
    const gpio = fakeGpio();
    const root = pi4Sysfs();
    mkdirSync(join(root, 'gpio529')); // exported by the running service
    const { d, lines } = deps({ loadGpio: async () => gpio.module, sysfsRoot: root });
    const stop = await watchGpio(d, 17, {});
    stop();
    expect(gpio.pins.get(529)!.exported).toBe(true);
    expect(lines.some((l) => l.includes('left exported'))).toBe(true);
  });

  it('says why when GPIO is not there', async () => {
    const { d } = deps({ loadGpio: async () => fakeGpio({ accessible: false }).module });
    await expect(watchGpio(d, 17, {})).rejects.toMatchObject({ code: 'gpio-not-accessible' });
  });
});

describe('npm run hw -- keypad with the office config', () => {
  it("uses the config's layout and sends numbers as typed, as the daemon does", async () => {
    const hid = new FakeHid();
    hid.plug({ vendorId: 1, productId: 2, path: '/dev/hidraw0' });
    const { d, lines } = deps({ loadHid: async () => hid.module });
    const keypads = keypadsHardwareSchema.parse({
      driver: 'hid',
      devices: [{ counter: '1', path: '/dev/hidraw0' }],
      keys: { '-': 'skip' },
    });
    if (keypads.driver !== 'hid') throw new Error('expected hid');
    const stop = await watchKeypad(d, '/dev/hidraw0', { keypads });
    const dev = hid.device('/dev/hidraw0');
    for (const h of [
      '00 00 56 00 00 00 00 00',
      '00 00 00 00 00 00 00 00',
      '00 00 5f 00 00 00 00 00',
      '00 00 58 00 00 00 00 00',
    ])
      dev.send(h);
    stop();
    expect(lines.filter((l) => l.includes('=>'))).toEqual([
      '    => {"type":"skip"}',
      '    => {"type":"call","number":"7"}',
    ]);
  });
});

describe('a tool started by a path that is not its real one', () => {
  const ROOT = join(import.meta.dirname, '..');
  let dir: string;
  beforeEach(() => {
    // a release reached through a symlink (/opt/beonho -> /opt/beonho-0.1.0), in a folder with a
    // space and Hangul in its name (a Korean desktop's 다운로드)
    dir = mkdtempSync(join(tmpdir(), '다운로드 beonho-'));
    symlinkSync(ROOT, join(dir, 'beonho'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('knows it is the script node started (isMainModule)', () => {
    const real = join(dir, 'tool.js');
    writeFileSync(real, '');
    symlinkSync(real, join(dir, 'link.js'));
    const url = pathToFileURL(real).href;
    expect(isMainModule(url, real)).toBe(true);
    expect(isMainModule(url, join(dir, 'link.js'))).toBe(true);
    expect(isMainModule(url, join(dir, 'other.js'))).toBe(false);
    expect(isMainModule(url, undefined)).toBe(false);
    // the comparison that missed it
    expect(url).not.toBe(`file://${join(dir, 'link.js')}`);
  });

  it('npm run hw -- list prints the hardware through a symlinked, Korean-named path', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(dir, 'beonho', 'device', 'hw-tool.ts'), 'list'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/USB HID devices/);
    expect(r.stdout).toMatch(/GPIO/);
  });
});
