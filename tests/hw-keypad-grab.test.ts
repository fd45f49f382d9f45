// Keys of a configured keypad never reach the text console: the driver grabs every evdev node of
// the keypad (EVIOCGRAB) when it attaches it. Proved at the ioctl seam: a fake input subsystem
// (FakeInputKernel) that hands a key to the console unless the node is grabbed, a fake sysfs
// tree, and node-hid's device list and HID class faked as in the other keypad tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { configSchema } from '../device/config/schema.ts';
import { HardwareError } from '../device/hw/errors.ts';
import { createKeypadSource } from '../device/hw/factory.ts';
import { EVIOCGRAB, type FdIo } from '../device/hw/ioctl.ts';
import type { HidDeviceInfo } from '../device/hw/native.ts';
import type { KeypadInput, KeypadSource } from '../device/ports/keypad.ts';
import { captureLogger, FakeHid, FakeInputKernel, fakeHidrawSysfs } from './hw-fakes.ts';

let root: string;
beforeEach(() => {
  vi.useFakeTimers();
  root = mkdtempSync(join(tmpdir(), 'beonho-grab-'));
});
afterEach(() => {
  vi.useRealTimers();
  rmSync(root, { recursive: true, force: true });
});

// A Holtek keypad: keys on interface 0 (event3), Calc and power keys on interface 1 (event4, event5).
const keys: HidDeviceInfo = {
  vendorId: 0x04d9,
  productId: 0x1203,
  product: 'USB Keypad',
  path: '/dev/hidraw0',
  usagePage: 1,
  usage: 6,
  interface: 0,
};
const extras: HidDeviceInfo = { ...keys, path: '/dev/hidraw1', usagePage: 12, usage: 1, interface: 1 };

function sysfs(): string {
  return fakeHidrawSysfs(root, [
    { hidraw: 'hidraw0', port: '1-1.2', iface: 0, vendorId: 0x04d9, productId: 0x1203, events: ['event3'] },
    { hidraw: 'hidraw1', port: '1-1.2', iface: 1, vendorId: 0x04d9, productId: 0x1203, events: ['event4', 'event5'] },
  ]);
}

async function start(o: { kernel?: FakeInputKernel; fdIo?: () => Promise<FdIo>; backend?: 'libusb' } = {}) {
  const hid = new FakeHid();
  hid.plug(keys);
  hid.plug(extras);
  const kernel = o.kernel ?? new FakeInputKernel();
  const { logger, lines } = captureLogger();
  const config = configSchema.parse({
    office: { id: 'test', name: '테스트동 행정복지센터' },
    services: [{ id: 'resident', name: '주민등록', numbers: { from: 1001, to: 1999 } }],
    counters: [{ id: '1', name: '1번 창구', services: ['resident'] }],
    hardware: {
      keypads: { driver: 'hid', devices: [{ counter: '1', usb: '04d9:1203' }], backend: o.backend ?? 'hidraw' },
    },
  });
  const src = (await createKeypadSource(config, logger, {
    load: { nodeHid: async () => hid.module },
    hidrawSysfs: sysfs(),
    fdIo: o.fdIo ?? (async () => kernel),
  })) as KeypadSource;
  const inputs: KeypadInput[] = [];
  await src.start((i) => inputs.push(i));
  /** a press as the kernel sees it: the report to hidraw, the key event to the input handlers */
  const press = (usage: number, name: string): void => {
    hid.device('/dev/hidraw0').send(`00 00 ${usage.toString(16)} 00 00 00 00 00`);
    kernel.key('/dev/input/event3', name);
    hid.device('/dev/hidraw0').send('00 00 00 00 00 00 00 00');
  };
  return { hid, kernel, src, inputs, lines, press };
}

describe('a configured keypad is grabbed', () => {
  it('grabs every evdev node of the keypad, so its keys reach beonho and not the console', async () => {
    const { kernel, src, inputs, press } = await start();
    expect([...kernel.grabs.keys()].sort()).toEqual(['/dev/input/event3', '/dev/input/event4', '/dev/input/event5']);
    expect(kernel.calls.every((c) => c.request === EVIOCGRAB && c.arg === 1)).toBe(true);
    press(0x57, '+');
    expect(inputs).toEqual([{ counter: '1', action: { type: 'next' } }]);
    expect(kernel.console).toEqual([]);
    expect(src.health()['1']).toMatchObject({ connected: true, exclusive: true, lastError: null });
    await src.stop();
  });

  it('an unplug releases the grab, a replug grabs again, stop releases everything', async () => {
    const { hid, kernel, src, press, inputs } = await start();
    hid.unplug('/dev/hidraw0');
    hid.unplug('/dev/hidraw1');
    expect(kernel.grabs.size).toBe(0);
    expect(kernel.openFds).toBe(0);
    expect(src.health()['1']).toMatchObject({ connected: false, exclusive: false, lastError: 'keypad-unplugged' });
    hid.plug(keys);
    hid.plug(extras);
    await vi.advanceTimersByTimeAsync(500);
    expect(kernel.grabs.size).toBe(3);
    press(0x56, '-');
    expect(inputs.at(-1)).toEqual({ counter: '1', action: { type: 'recall' } });
    expect(kernel.console).toEqual([]);
    await src.stop();
    expect(kernel.grabs.size).toBe(0);
    expect(kernel.openFds).toBe(0);
  });

  it('a node it may not open: the keypad works, its health says why keys reach the console', async () => {
    const kernel = new FakeInputKernel();
    kernel.denied.add('/dev/input/event3');
    const { src, inputs, press, lines } = await start({ kernel });
    press(0x57, '+');
    expect(inputs).toEqual([{ counter: '1', action: { type: 'next' } }]);
    expect(kernel.console).toEqual(['+']);
    expect(src.health()['1']).toMatchObject({
      connected: true,
      exclusive: false,
      lastError: 'keypad-grab-denied',
      lastErrorMessage: expect.stringMatching(/udev rule gives a keypad.s input nodes to the group beonho/),
    });
    await vi.advanceTimersByTimeAsync(3000);
    // retried on every poll, logged once
    expect(lines.filter((l) => l.code === 'keypad-grab-denied')).toHaveLength(1);
    await src.stop();
  });

  it('replugged before udev has given its nodes to the daemon: opened and grabbed a poll later, no permission error', async () => {
    const { hid, kernel, src, lines, press, inputs } = await start();
    hid.unplug('/dev/hidraw0');
    hid.unplug('/dev/hidraw1');
    // the kernel makes the nodes root's; udev sets the hidraw node's group first, the evdev nodes' next
    hid.openError['/dev/hidraw0'] = new Error('cannot open device with path /dev/hidraw0: Permission denied');
    kernel.denied.add('/dev/input/event3');
    hid.plug(keys);
    hid.plug(extras);
    await vi.advanceTimersByTimeAsync(500); // the hidraw node is refused
    delete hid.openError['/dev/hidraw0'];
    await vi.advanceTimersByTimeAsync(500); // opened; its evdev node is refused
    kernel.denied.delete('/dev/input/event3');
    await vi.advanceTimersByTimeAsync(500); // grabbed
    expect(src.health()['1']).toMatchObject({ connected: true, exclusive: true, lastError: 'keypad-unplugged' });
    expect(lines.filter((l) => l.code === 'hid-permission' || l.code === 'keypad-grab-denied')).toEqual([]);
    press(0x57, '+');
    expect(inputs.at(-1)).toEqual({ counter: '1', action: { type: 'next' } });
    expect(kernel.console).toEqual([]);
    await src.stop();
  });

  it('replugged, a node that stays refused is still reported, on the second look', async () => {
    const { hid, kernel, src, lines } = await start();
    hid.unplug('/dev/hidraw0');
    hid.unplug('/dev/hidraw1');
    kernel.denied.add('/dev/input/event3');
    hid.plug(keys);
    hid.plug(extras);
    await vi.advanceTimersByTimeAsync(1000);
    expect(src.health()['1']).toMatchObject({ connected: true, exclusive: false, lastError: 'keypad-grab-denied' });
    expect(lines.filter((l) => l.code === 'keypad-grab-denied')).toHaveLength(1);
    hid.openError['/dev/hidraw0'] = new Error('cannot open device with path /dev/hidraw0: Permission denied');
    hid.unplug('/dev/hidraw0');
    hid.unplug('/dev/hidraw1');
    hid.plug(keys);
    hid.plug(extras);
    await vi.advanceTimersByTimeAsync(1000);
    expect(src.health()['1']).toMatchObject({ connected: false, lastError: 'hid-permission' });
    await src.stop();
  });

  it('a keypad another program holds is reported, and grabbed once that program lets go', async () => {
    const kernel = new FakeInputKernel();
    const letGo = kernel.grabElsewhere('/dev/input/event3');
    const { src, press, inputs } = await start({ kernel });
    expect(src.health()['1']).toMatchObject({ exclusive: false, lastError: 'keypad-grab-busy' });
    letGo();
    await vi.advanceTimersByTimeAsync(500);
    expect(src.health()['1']).toMatchObject({ exclusive: true });
    press(0x55, '*');
    expect(inputs).toEqual([{ counter: '1', action: { type: 'skip' } }]);
    expect(kernel.console).toEqual([]);
    await src.stop();
  });

  it('without the ioctl module the keypad still works and its health names the module', async () => {
    const { src, press, inputs } = await start({
      fdIo: async () => {
        throw new HardwareError('ioctl-module-unavailable', 'the ioctl module (koffi) cannot load');
      },
    });
    press(0x57, '+');
    expect(inputs).toHaveLength(1);
    expect(src.health()['1']).toMatchObject({
      connected: true,
      exclusive: false,
      lastError: 'keypad-grab-unavailable',
      lastErrorMessage: expect.stringMatching(/koffi/),
    });
    await src.stop();
  });

  it('the libusb backend needs no grab: the kernel driver is detached', async () => {
    const kernel = new FakeInputKernel();
    const hid = new FakeHid();
    hid.plug({ ...keys, path: '1-1.2:1.0' });
    const { logger } = captureLogger();
    const config = configSchema.parse({
      office: { id: 'test', name: '테스트' },
      services: [{ id: 'resident', name: '주민등록', numbers: { from: 1001, to: 1999 } }],
      counters: [{ id: '1', name: '1번 창구', services: ['resident'] }],
      hardware: { keypads: { driver: 'hid', devices: [{ counter: '1', usb: '04d9:1203' }], backend: 'libusb' } },
    });
    const src = (await createKeypadSource(config, logger, {
      load: { nodeHid: async () => hid.module },
      fdIo: async () => kernel,
    })) as KeypadSource;
    await src.start(() => {});
    expect(src.health()['1']).toMatchObject({ connected: true, exclusive: true, lastError: null });
    expect(kernel.calls).toEqual([]);
    await src.stop();
  });
});
