import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keyboardCandidates, matches, usbId, usbPortOf } from '../device/hw/hid-match.ts';

describe('USB port of a HID device', () => {
  it('follows the hidraw sysfs link to the port the keypad is plugged into', () => {
    const root = mkdtempSync(join(tmpdir(), 'beonho-sysfs-'));
    // the shape of a Pi's sysfs: .../usb1/1-1/1-1.3/1-1.3:1.0/0003:1A2C:0E24.0001
    const dev = join(root, 'devices/platform/scb/fd500000.pcie/usb1/1-1/1-1.3/1-1.3:1.0/0003:1A2C:0E24.0001');
    mkdirSync(dev, { recursive: true });
    mkdirSync(join(root, 'class/hidraw/hidraw2'), { recursive: true });
    symlinkSync(dev, join(root, 'class/hidraw/hidraw2/device'));
    expect(usbPortOf('/dev/hidraw2', join(root, 'class/hidraw'))).toBe('1-1.3');
    expect(usbPortOf('/dev/hidraw9', join(root, 'class/hidraw'))).toBeUndefined();
  });

  it('reads it from a libusb path', () => {
    expect(usbPortOf('1-1.4:1.0')).toBe('1-1.4');
    expect(usbPortOf(undefined)).toBeUndefined();
  });
});

describe('matching a keypad binding', () => {
  const info = { vendorId: 0x1a2c, productId: 0x0e24, path: '/dev/hidraw2', serialNumber: 'S1' };
  const port = (): string => '1-1.3';
  it('by each of serial, port, usb and path', () => {
    expect(usbId(info)).toBe('1a2c:0e24');
    expect(matches({ counter: '1', serial: 'S1' }, info, port)).toBe(true);
    expect(matches({ counter: '1', serial: 'S2' }, info, port)).toBe(false);
    expect(matches({ counter: '1', port: '1-1.3' }, info, port)).toBe(true);
    expect(matches({ counter: '1', port: '1-1.2' }, info, port)).toBe(false);
    expect(matches({ counter: '1', usb: '1A2C:0E24' }, info, port)).toBe(true);
    expect(matches({ counter: '1', path: '/dev/hidraw2' }, info, port)).toBe(true);
  });

  it('keeps one entry per path, the keyboard collection, and drops mice and consumer-only devices', () => {
    const list = [
      { ...info, usagePage: 0x0c, usage: 1 },
      { ...info, usagePage: 1, usage: 6 },
      { ...info, path: '/dev/hidraw3', usagePage: 1, usage: 2 },
      { ...info, path: '/dev/hidraw4' },
    ];
    expect(keyboardCandidates(list).map((d) => [d.path, d.usage])).toEqual([
      ['/dev/hidraw2', 6],
      ['/dev/hidraw4', undefined],
    ]);
  });
});
