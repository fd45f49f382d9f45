import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { keypadsHardwareSchema } from '../device/config/hardware-schema.ts';
import { HardwareError } from '../device/hw/errors.ts';
import { numberResolver } from '../device/hw/keymap.ts';
import { listHardware, type ToolDeps, watchGpio, watchKeypad } from '../device/hw-tool.ts';
import { FakeHid, fakeGpio } from './hw-fakes.ts';

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

  it('says why when GPIO is not there', async () => {
    const { d } = deps({ loadGpio: async () => fakeGpio({ accessible: false }).module });
    await expect(watchGpio(d, 17, {})).rejects.toMatchObject({ code: 'gpio-not-accessible' });
  });
});

describe('npm run hw -- keypad with the office config', () => {
  it("uses the config's layout and completes numbers as the counter would", async () => {
    const hid = new FakeHid();
    hid.plug({ vendorId: 1, productId: 2, path: '/dev/hidraw0' });
    const { d, lines } = deps({ loadHid: async () => hid.module });
    const keypads = keypadsHardwareSchema.parse({
      driver: 'hid',
      devices: [{ counter: '1', path: '/dev/hidraw0' }],
      keys: { '-': 'skip' },
    });
    if (keypads.driver !== 'hid') throw new Error('expected hid');
    const stop = await watchKeypad(d, '/dev/hidraw0', {
      keypads,
      callNumber: numberResolver([{ numbers: { prefix: 'A', from: 1, to: 999 } }]),
    });
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
      '    => {"type":"call","number":"A007"}',
    ]);
  });
});
