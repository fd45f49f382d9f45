// What sysfs tells about a /dev/hidrawN node: the report descriptor of its HID device, and the
// input (evdev) nodes the kernel made for the same USB device, which is how its keys would also
// reach the text console. Paths are resolved under a sysfs root that the tests point at a fake tree.
import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export const HIDRAW_CLASS = '/sys/class/hidraw';

const USB_INTERFACE = /^\d+-[\d.]+:\d+\.\d+$/;
const HID_DEVICE = /^[0-9A-Fa-f]{4}:[0-9A-Fa-f]{4}:[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}$/;

function hidDeviceDir(hidrawPath: string, classDir: string): string {
  return realpathSync(join(classDir, basename(hidrawPath), 'device'));
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** The raw report descriptor of a hidraw node, or null when sysfs does not have it. */
export function readReportDescriptor(hidrawPath: string, classDir = HIDRAW_CLASS): Uint8Array | null {
  if (!hidrawPath.startsWith('/dev/hidraw')) return null;
  try {
    return new Uint8Array(readFileSync(join(hidDeviceDir(hidrawPath, classDir), 'report_descriptor')));
  } catch {
    return null;
  }
}

/**
 * Every /dev/input/eventN of the USB device a hidraw node belongs to: all its interfaces (a
 * keypad's keys on interface 0, its Calc or power key on interface 1) and all their input devices.
 * Throws when the hidraw node is not in sysfs at all (the caller cannot tell what to grab).
 */
export function eventNodesOf(hidrawPath: string, classDir = HIDRAW_CLASS, devInput = '/dev/input'): string[] {
  const hid = hidDeviceDir(hidrawPath, classDir);
  const iface = dirname(hid);
  // Only a USB interface's siblings belong to the same keypad; elsewhere (Bluetooth, uhid) keep to
  // the HID device itself.
  const hidDirs = USB_INTERFACE.test(basename(iface))
    ? list(dirname(iface))
        .filter((i) => USB_INTERFACE.test(i))
        .flatMap((i) =>
          list(join(dirname(iface), i))
            .filter((h) => HID_DEVICE.test(h))
            .map((h) => join(dirname(iface), i, h)),
        )
    : [hid];
  const nodes: string[] = [];
  for (const dir of hidDirs) {
    for (const input of list(join(dir, 'input')).filter((n) => /^input\d+$/.test(n))) {
      for (const ev of list(join(dir, 'input', input)).filter((n) => /^event\d+$/.test(n))) {
        nodes.push(join(devInput, ev));
      }
    }
  }
  return nodes.sort();
}
