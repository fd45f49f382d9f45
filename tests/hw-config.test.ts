// The hardware section of the config: defaults, the documented examples, cross-references, and
// what an admin sees when the config names hardware this machine does not have.
import { validateConfig } from '../device/config/load.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { hardwareProblems } from '../device/config/hardware-problems.ts';
import { hardwareSchema } from '../device/config/hardware-schema.ts';
import { type Config, configSchema } from '../device/config/schema.ts';
import { HardwareError } from '../device/hw/errors.ts';
import { createButtonSource, createKeypadSource } from '../device/hw/factory.ts';
import { captureLogger } from './hw-fakes.ts';

const office = {
  office: { id: 'test', name: '테스트동 행정복지센터' },
  services: [
    { id: 'resident', name: '주민등록', numbers: { from: 1001, to: 1999 } },
    { id: 'seal', name: '인감', numbers: { from: 2001, to: 2999 } },
  ],
  counters: [
    { id: '1', name: '1번 창구', services: ['resident'] },
    { id: '2', name: '2번 창구', services: ['resident', 'seal'] },
    { id: '3', name: '3번 창구', services: ['seal'] },
  ],
};

function docExamples(): Map<string, Record<string, unknown>> {
  const md = readFileSync(join(import.meta.dirname, '..', 'docs', 'hardware.md'), 'utf8');
  const out = new Map<string, Record<string, unknown>>();
  for (const m of md.matchAll(/```yaml\n# example: (\w+)\n([\s\S]*?)```/g))
    out.set(m[1]!, parseYaml(m[2]!) as Record<string, unknown>);
  return out;
}

const parse = (extra: Record<string, unknown>): Config => configSchema.parse({ ...office, ...extra });

describe('hardware config', () => {
  it('is the simulator when nothing is configured, and the factories build nothing', async () => {
    const config = parse({});
    expect(config.hardware).toEqual({ buttons: { driver: 'sim' }, keypads: { driver: 'sim' } });
    const { logger } = captureLogger();
    expect(await createButtonSource(config, logger)).toBeNull();
    expect(await createKeypadSource(config, logger)).toBeNull();
  });

  it('accepts every example in docs/hardware.md, which build the documented drivers', async () => {
    const examples = docExamples();
    expect([...examples.keys()].sort()).toEqual(['firmata', 'gpio', 'hid']);
    const { logger } = captureLogger();
    const kinds: string[] = [];
    for (const [name, example] of examples) {
      const config = parse(example);
      expect(hardwareProblems(config), name).toEqual([]);
      const b = await createButtonSource(config, logger);
      const k = await createKeypadSource(config, logger);
      kinds.push(b?.kind ?? k?.kind ?? 'none');
    }
    expect(kinds.sort()).toEqual(['firmata', 'gpio', 'hid']);
  });

  it("fits each example of docs/hardware.md into the example office's config (its services and counters)", () => {
    const example = parseYaml(readFileSync(join(import.meta.dirname, '..', 'config', 'example.yaml'), 'utf8'));
    for (const [name, part] of docExamples()) {
      expect(() => validateConfig({ ...example, ...part }, `docs/hardware.md example: ${name}`), name).not.toThrow();
    }
  });

  it('rejects a keypad binding with two ways of matching, and an unknown key name', () => {
    const r = hardwareSchema.safeParse({
      keypads: { driver: 'hid', devices: [{ counter: '1', serial: 'x', usb: '1a2c:0e24' }], keys: { f1: 'next' } },
    });
    expect(r.success).toBe(false);
    const messages = r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n');
    expect(messages).toMatch(/keypads\.devices\.0: give exactly one of serial, port, usb or path/);
    expect(messages).toMatch(/keypads\.keys/);
  });

  it('rejects a pin used twice and a header pin number instead of a BCM number', () => {
    const r = hardwareSchema.safeParse({
      buttons: {
        driver: 'gpio',
        pins: [
          { pin: 17, button: 'a' },
          { pin: 17, button: 'b' },
          { pin: 40, button: 'c' },
        ],
      },
    });
    const paths = r.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['buttons.pins.1.pin', 'buttons.pins.2.pin']));
  });

  it('names pins that point at no dispenser button, at validation and in the factory', async () => {
    const input = {
      ...office,
      dispenser: { buttons: [{ id: 'resident', service: 'resident' }] },
      hardware: {
        buttons: {
          driver: 'gpio',
          pins: [
            { pin: 17, button: 'resident' },
            { pin: 27, button: 'passport' },
          ],
        },
      },
    };
    // config validation names the field
    expect(() => validateConfig(input)).toThrow(
      /hardware\.buttons\.pins\[1\]\.button: unknown dispenser button "passport"/,
    );
    // and the factory still refuses such a config if one reaches it some other way
    const valid = parse({
      dispenser: input.dispenser,
      hardware: { buttons: { driver: 'gpio', pins: [{ pin: 17, button: 'resident' }] } },
    });
    const config = structuredClone(valid);
    (config.hardware.buttons as { pins: Array<{ pin: number; button: string }> }).pins.push({
      pin: 27,
      button: 'passport',
    });
    expect(hardwareProblems(config)).toEqual([
      {
        path: ['hardware', 'buttons', 'pins', 1, 'button'],
        message: 'unknown dispenser button "passport" (dispenser.buttons[].id)',
      },
    ]);
    await expect(createButtonSource(config, captureLogger().logger)).rejects.toMatchObject({
      code: 'hw-config-invalid',
    });
  });
});

describe('a config naming hardware this machine does not have', () => {
  // These use the real native modules: on a development machine or CI runner there is no GPIO,
  // no Arduino and no keypad, and node-hid may not even load.
  const codeOf = async (start: () => Promise<void>): Promise<HardwareError> =>
    start().then(
      () => {
        throw new Error('start succeeded without the hardware');
      },
      (e: unknown) => e as HardwareError,
    );

  it('GPIO: fails start with a sentence an admin can act on', async () => {
    const config = parse({ ...docExamples().get('gpio') });
    const src = (await createButtonSource(config, captureLogger().logger))!;
    const err = await codeOf(() => src.start(() => {}));
    expect(err).toBeInstanceOf(HardwareError);
    expect(['gpio-not-accessible', 'gpio-module-unavailable']).toContain(err.code);
    expect(err.message).toMatch(/Raspberry Pi|npm install/);
  });

  it('Firmata: reports the missing serial port by name and goes on (the Arduino may be plugged in later)', async () => {
    const config = parse({ ...docExamples().get('firmata') });
    const src = (await createButtonSource(config, captureLogger().logger))!;
    await src.start(() => {});
    expect(src.health()).toMatchObject({
      connected: false,
      lastError: 'firmata-port-missing',
      lastErrorMessage: expect.stringMatching(/\/dev\/serial\/by-id\/usb-Arduino.*npm run hw -- list/),
    });
    await src.stop();
  });

  it('USB keypads: fails start saying what to install, or reports that none is plugged in and goes on', async () => {
    const config = parse({ ...docExamples().get('hid') });
    const log = captureLogger();
    const src = (await createKeypadSource(config, log.logger))!;
    const err = await src
      .start(() => {})
      .then(
        () => null,
        (e: unknown) => e as HardwareError,
      );
    await src.stop();
    if (err) {
      // node-hid cannot load here (no libusb)
      expect(err.code).toBe('hid-module-unavailable');
      expect(err.message).toMatch(/libusb-1\.0-0/);
    } else {
      const said = log.lines.find((l) => l.code === 'keypad-none-found');
      expect(said?.msg).toMatch(/none of the 3 configured keypads/);
    }
  });
});
