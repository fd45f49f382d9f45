import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gpioBase, listGpioChips, sysfsNumber } from '../device/hw/gpio-numbering.ts';

function sysfs(chips: Array<[string, number, number, string]>): string {
  const root = mkdtempSync(join(tmpdir(), 'beonho-chips-'));
  for (const [name, base, ngpio, label] of chips) {
    mkdirSync(join(root, name));
    writeFileSync(join(root, name, 'base'), `${base}\n`);
    writeFileSync(join(root, name, 'ngpio'), `${ngpio}\n`);
    writeFileSync(join(root, name, 'label'), `${label}\n`);
  }
  // the export/unexport files sit next to the chips and must not confuse the listing
  writeFileSync(join(root, 'export'), '');
  return root;
}

describe('BCM -> sysfs GPIO numbering', () => {
  it('kernel before 6.6 (Pi 3/4): base 0, GPIO17 is 17', async () => {
    const root = sysfs([
      ['gpiochip0', 0, 58, 'pinctrl-bcm2711'],
      ['gpiochip504', 504, 8, 'raspberrypi-exp-gpio'],
    ]);
    expect(sysfsNumber(17, await gpioBase({ sysfsRoot: root }))).toBe(17);
  });

  it('kernel 6.6+ on a Pi 4: base 512, GPIO17 is 529', async () => {
    const root = sysfs([
      ['gpiochip504', 504, 8, 'raspberrypi-exp-gpio'],
      ['gpiochip512', 512, 58, 'pinctrl-bcm2711'],
    ]);
    expect(sysfsNumber(17, await gpioBase({ sysfsRoot: root }))).toBe(529);
  });

  it('Pi 5 (RP1): base 571, GPIO17 is 588', async () => {
    const root = sysfs([
      ['gpiochip512', 512, 32, 'gpio-brcmstb@107d508500'],
      ['gpiochip544', 544, 4, 'gpio-brcmstb@107d517c00'],
      ['gpiochip571', 571, 54, 'pinctrl-rp1'],
    ]);
    expect(sysfsNumber(17, await gpioBase({ sysfsRoot: root }))).toBe(588);
    expect((await listGpioChips(root)).map((c) => c.base)).toEqual([512, 544, 571]);
  });

  it('a single unknown chip is taken as the header (other boards)', async () => {
    expect(await gpioBase({ sysfsRoot: sysfs([['gpiochip0', 0, 32, 'gpio-mockup-A']]) })).toBe(0);
  });

  it('several unknown chips: an error naming them and the setting to use', async () => {
    const root = sysfs([
      ['gpiochip0', 0, 32, 'foo'],
      ['gpiochip32', 32, 32, 'bar'],
    ]);
    await expect(gpioBase({ sysfsRoot: root })).rejects.toThrow(
      /gpio-chip-unknown.*gpiochip0 "foo" base 0.*hardware\.buttons\.gpioBase/,
    );
  });

  it('the configured base wins', async () => {
    expect(await gpioBase({ sysfsRoot: '/nonexistent', override: 512 })).toBe(512);
  });
});
