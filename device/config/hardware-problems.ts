// The hardware section's references to the rest of the config. Apart from its schema
// (hardware-schema.ts) so the daemon's hardware factory can check them without loading zod.
import type { HardwareConfig } from './hardware-schema.ts';

/**
 * Cross-references the hardware section cannot see alone: pins name dispenser buttons, keypads
 * name counters. schema.ts's crossCheck can call this; the factory checks it again at start.
 */
export function hardwareProblems(cfg: {
  hardware: HardwareConfig;
  dispenser?: { buttons: Array<{ id: string }> } | undefined;
  counters: Array<{ id: string }>;
}): Array<{ path: Array<string | number>; message: string }> {
  const problems: Array<{ path: Array<string | number>; message: string }> = [];
  const b = cfg.hardware.buttons;
  if (b.driver !== 'sim') {
    const ids = new Set((cfg.dispenser?.buttons ?? []).map((x) => x.id));
    b.pins.forEach((p, i) => {
      if (!ids.has(p.button)) {
        problems.push({
          path: ['hardware', 'buttons', 'pins', i, 'button'],
          message: `unknown dispenser button "${p.button}" (dispenser.buttons[].id)`,
        });
      }
    });
  }
  const k = cfg.hardware.keypads;
  if (k.driver !== 'sim') {
    const ids = new Set(cfg.counters.map((c) => c.id));
    k.devices.forEach((d, i) => {
      if (!ids.has(d.counter))
        problems.push({
          path: ['hardware', 'keypads', 'devices', i, 'counter'],
          message: `unknown counter "${d.counter}"`,
        });
    });
  }
  problems.push(...keypadBindingProblems(cfg.hardware));
  return problems;
}

/**
 * Two counters bound to the same keypad (the same serial, port, path, or the same vendor:product
 * for two keypads of one model, the easy copy-paste): each counter would get whichever keypad the
 * USB list named first, so a clerk's "next" could call at the counter next door, and swap after a
 * reboot. Refused like any other bad reference.
 */
function keypadBindingProblems(hardware: HardwareConfig): Array<{ path: Array<string | number>; message: string }> {
  const hw = hardware.keypads;
  if (hw.driver === 'sim') return [];
  const problems: Array<{ path: Array<string | number>; message: string }> = [];
  const seen = new Map<string, number>();
  hw.devices.forEach((d, i) => {
    for (const how of ['serial', 'port', 'usb', 'path'] as const) {
      const value = d[how];
      if (value === undefined) continue;
      const key = `${how}=${how === 'usb' ? value.toLowerCase() : value}`;
      const first = seen.get(key);
      if (first === undefined) {
        seen.set(key, i);
        continue;
      }
      const hint =
        how === 'usb'
          ? 'keypads of the same model are told apart by serial or port ("npm run hw -- list")'
          : 'each counter needs its own keypad';
      problems.push({
        path: ['hardware', 'keypads', 'devices', i, how],
        message: `"${value}" is also the keypad of counter "${hw.devices[first]!.counter}" (devices.${first}): ${hint}`,
      });
    }
  });
  return problems;
}
