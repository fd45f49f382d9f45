// BCM GPIO number -> sysfs GPIO number. Up to kernel 6.5 the Pi's main gpiochip started at 0, so
// GPIO17 was sysfs 17. From kernel 6.6 (Pi 5, current Pi OS on every model) chips are numbered
// dynamically from 512 upwards: GPIO17 is 529 on a Pi 4 (base 512) and 588 on a Pi 5 (base 571,
// chip "pinctrl-rp1"). We read the base of the SoC's pin controller from /sys/class/gpio.
// See https://github.com/raspberrypi/linux/issues/6037 and the onoff README's note on 6.6.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HardwareError } from './errors.ts';

export interface GpioChip {
  name: string;
  base: number;
  ngpio: number;
  label: string;
}

/** Labels of the chip that drives the 40-pin header, on every Pi model we know of. */
const HEADER_CHIP = /^pinctrl-(rp1|bcm2711|bcm2712|bcm2835|bcm2836|bcm2837)$/;

export async function listGpioChips(sysfsRoot = '/sys/class/gpio'): Promise<GpioChip[]> {
  let names: string[];
  try {
    names = (await readdir(sysfsRoot)).filter((n) => n.startsWith('gpiochip'));
  } catch {
    return [];
  }
  const chips: GpioChip[] = [];
  for (const name of names) {
    const read = async (f: string): Promise<string> => (await readFile(join(sysfsRoot, name, f), 'utf8')).trim();
    try {
      chips.push({
        name,
        base: Number(await read('base')),
        ngpio: Number(await read('ngpio')),
        label: await read('label'),
      });
    } catch {
      // a chip directory without the usual files is not one we can use
    }
  }
  return chips.sort((a, b) => a.base - b.base);
}

/** The header chip: by its label; a lone chip is taken as it is (older kernels, other boards). */
export function headerChip(chips: GpioChip[]): GpioChip | undefined {
  return chips.find((c) => HEADER_CHIP.test(c.label)) ?? (chips.length === 1 ? chips[0] : undefined);
}

export async function gpioBase(opts: { sysfsRoot?: string; override?: number | undefined } = {}): Promise<number> {
  if (opts.override !== undefined) return opts.override;
  const chips = await listGpioChips(opts.sysfsRoot);
  const chip = headerChip(chips);
  if (!chip) {
    const seen = chips.map((c) => `${c.name} "${c.label}" base ${c.base}`).join(', ') || 'none';
    throw new HardwareError(
      'gpio-chip-unknown',
      `cannot tell which gpiochip drives the pin header (found: ${seen}). Set hardware.buttons.gpioBase to that chip's base.`,
    );
  }
  return chip.base;
}

export function sysfsNumber(bcm: number, base: number): number {
  return base + bcm;
}
