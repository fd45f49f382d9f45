// Which USB device is a counter's keypad: by serial number, USB port, vendor:product or path.
import { realpathSync } from 'node:fs';
import { basename } from 'node:path';
import type { KeypadBinding } from '../config/hardware-schema.ts';
import type { HidDeviceInfo } from './native.ts';

/**
 * The physical USB port ("1-1.3") a device hangs off. libusb paths carry it ("1-1.3:1.0");
 * for hidraw nodes the sysfs link of /sys/class/hidraw/hidrawN/device leads through it.
 */
export function usbPortOf(path: string | undefined, sysfs = '/sys/class/hidraw'): string | undefined {
  if (!path) return undefined;
  const libusb = /^(\d+-[\d.]+):/.exec(path);
  if (libusb) return libusb[1];
  if (!path.startsWith('/dev/hidraw')) return undefined;
  try {
    const real = realpathSync(`${sysfs}/${basename(path)}/device`);
    const ports = real.split('/').filter((seg) => /^\d+-[\d.]+$/.test(seg));
    return ports.at(-1);
  } catch {
    return undefined;
  }
}

export function usbId(info: HidDeviceInfo): string {
  return `${info.vendorId.toString(16).padStart(4, '0')}:${info.productId.toString(16).padStart(4, '0')}`;
}

export function matches(
  b: KeypadBinding,
  info: HidDeviceInfo,
  portOf: (path: string | undefined) => string | undefined,
): boolean {
  if (b.path !== undefined) return info.path === b.path;
  if (b.serial !== undefined) return info.serialNumber === b.serial;
  if (b.usb !== undefined) return usbId(info) === b.usb.toLowerCase();
  if (b.port !== undefined) return portOf(info.path) === b.port;
  return false;
}

/**
 * One entry per path, keyboard collections first. hidapi lists a composite keypad once per
 * interface or top-level collection (keyboard, consumer keys); only the keyboard one sends key
 * reports. Entries without usage information are kept: older backends do not report it.
 */
export function keyboardCandidates(list: HidDeviceInfo[]): HidDeviceInfo[] {
  const isKeyboard = (d: HidDeviceInfo): boolean => d.usagePage === 1 && d.usage === 6;
  const unknown = (d: HidDeviceInfo): boolean => !d.usagePage && !d.usage;
  const byPath = new Map<string, HidDeviceInfo>();
  for (const d of list) {
    if (!d.path || !(isKeyboard(d) || unknown(d))) continue;
    const seen = byPath.get(d.path);
    if (!seen || (!isKeyboard(seen) && isKeyboard(d))) byPath.set(d.path, d);
  }
  return [...byPath.values()];
}
