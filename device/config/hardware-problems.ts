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
  return problems;
}
