// USB keypads end to end below the queue: recorded report sequences replayed through a fake
// node-hid (device list + HID class), the real decoder, keymap and hot-plug logic.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Config, configSchema } from '../device/config/schema.ts';
import { HardwareError } from '../device/hw/errors.ts';
import { createKeypadSource } from '../device/hw/factory.ts';
import { loadNodeHid } from '../device/hw/native.ts';
import type { HidDeviceInfo } from '../device/hw/native.ts';
import type { ComponentHealth } from '../device/ports/health.ts';
import type { KeypadInput, KeypadSource } from '../device/ports/keypad.ts';
import { captureLogger, FakeHid, FakeInputKernel, fakeHidrawSysfs } from './hw-fakes.ts';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'hid');

interface Fixture {
  description: string;
  /** hand-written fixtures: one interface, no report descriptor */
  device?: HidDeviceInfo;
  /** fixtures from real devices (README.md in the folder): the USB device, its interfaces and their descriptors */
  usb?: { vendorId: number; productId: number; manufacturer: string; product: string; port: string };
  interfaces?: Array<{ path: string; interface: number; collections: Array<[number, number]>; descriptor: string }>;
  config: Record<string, unknown>;
  reports: Array<{ at: number; hex: string; path?: string }>;
  expect: unknown[];
}

/** The kernel side the driver touches besides node-hid: no sysfs and a fake evdev, so a test
 * never opens a real input node of the machine it runs on. */
const noKernel = { hidrawSysfs: join(tmpdir(), 'beonho-no-sysfs'), fdIo: async () => new FakeInputKernel() };

function officeConfig(keypads: Record<string, unknown>): Config {
  return configSchema.parse({
    office: { id: 'test', name: '테스트동 행정복지센터' },
    services: [
      { id: 'resident', name: '주민등록', numbers: { from: 1001, to: 1999 } },
      { id: 'certificate', name: '제증명', numbers: { from: 2001, to: 2999 } },
    ],
    counters: [
      { id: '1', name: '1번 창구', services: ['resident', 'certificate'] },
      { id: '2', name: '2번 창구', services: ['resident'] },
      { id: '3', name: '3번 창구', services: ['certificate'] },
    ],
    hardware: { keypads: { driver: 'hid', ...keypads } },
  });
}

const keypadA: HidDeviceInfo = {
  vendorId: 0x1a2c,
  productId: 0x0e24,
  product: 'USB Keypad',
  path: '/dev/hidraw0',
  usagePage: 1,
  usage: 6,
};
const keypadB: HidDeviceInfo = { ...keypadA, path: '/dev/hidraw1' };

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

async function startPads(
  keypads: Record<string, unknown>,
  hid: FakeHid,
  kernelSide: { hidrawSysfs?: string; fdIo?: () => Promise<FakeInputKernel> } = {},
) {
  const { logger, lines } = captureLogger();
  const inputs: KeypadInput[] = [];
  const health: Array<{ component: string; health: ComponentHealth }> = [];
  const src = (await createKeypadSource(officeConfig(keypads), logger, {
    ...noKernel,
    ...kernelSide,
    load: { nodeHid: async () => hid.module },
    onHealth: (component, h) => health.push({ component, health: h }),
  })) as KeypadSource;
  const started = await src
    .start((i) => inputs.push(i))
    .then(
      () => null,
      (e: unknown) => e as HardwareError,
    );
  return { src, inputs, lines, health, error: started };
}

describe('recorded keypad reports', () => {
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.json'));
  it('has fixtures to replay', () => expect(files.length).toBeGreaterThanOrEqual(5));

  for (const file of files) {
    const fx = JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')) as Fixture;
    it(`${file}: ${fx.description}`, async () => {
      const hid = new FakeHid();
      const root = mkdtempSync(join(tmpdir(), 'beonho-fx-'));
      const kernel = new FakeInputKernel();
      let binding: Record<string, string>;
      let kernelSide = {};
      if (fx.usb && fx.interfaces) {
        // A real keypad as hidapi lists it (one entry per top-level collection) and as sysfs
        // shows it; bound by its USB id, so every keyboard interface of it is read.
        const { port, ...ids } = fx.usb;
        for (const i of fx.interfaces)
          for (const [usagePage, usage] of i.collections)
            hid.plug({ ...ids, path: i.path, interface: i.interface, usagePage, usage });
        const hidrawSysfs = fakeHidrawSysfs(
          root,
          fx.interfaces.map((i) => ({
            hidraw: i.path.replace('/dev/', ''),
            port,
            iface: i.interface,
            vendorId: ids.vendorId,
            productId: ids.productId,
            descriptor: i.descriptor,
            events: [`event${10 + i.interface}`],
          })),
        );
        kernelSide = { hidrawSysfs, fdIo: async () => kernel };
        binding = {
          usb: `${ids.vendorId.toString(16).padStart(4, '0')}:${ids.productId.toString(16).padStart(4, '0')}`,
        };
      } else {
        hid.plug(fx.device!);
        binding = { path: fx.device!.path! };
      }
      try {
        const { src, inputs, error } = await startPads(
          { devices: [{ counter: '1', ...binding }], ...fx.config },
          hid,
          kernelSide,
        );
        expect(error).toBeNull();
        let now = 0;
        for (const r of fx.reports) {
          await vi.advanceTimersByTimeAsync(r.at - now);
          now = r.at;
          hid.device(r.path ?? fx.device!.path!).send(r.hex);
        }
        await vi.advanceTimersByTimeAsync(3000);
        expect(inputs).toEqual(fx.expect.map((action) => ({ counter: '1', action })));
        if (fx.interfaces) {
          // every interface's input nodes are held, so none of these keys reached the console
          expect(kernel.grabs.size).toBe(fx.interfaces.length);
          expect(src.health()['1']).toMatchObject({ exclusive: true, lastError: null });
        }
        await src.stop();
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    });
  }
});

/** Two identical keypads at USB ports 1-1.2 (hidraw0) and 1-1.3 (hidraw1): the port comes from
 * sysfs on a real machine; the fake list has none, so it is injected. */
const PORTS: Record<string, string> = { '/dev/hidraw0': '1-1.2', '/dev/hidraw1': '1-1.3' };
async function sourceOverPorts(hid: FakeHid, devices: unknown[], logger: Logger): Promise<KeypadSource> {
  return (await createKeypadSource(officeConfig({ devices }), logger, {
    ...noKernel,
    load: { nodeHid: async () => hid.module },
    usbPort: (p) => (p ? PORTS[p] : undefined),
  }))!;
}

describe('keypad binding', () => {
  it('binds identical keypads by USB port, before a vendor:product binding listed first; each input carries its counter', async () => {
    for (const devices of [
      [
        { counter: '2', port: '1-1.3' },
        { counter: '1', port: '1-1.2' },
      ],
      // counter 2's keypad is listed first by USB: the config's order gave it to counter 1
      [
        { counter: '1', usb: '1a2c:0e24' },
        { counter: '2', port: '1-1.3' },
      ],
    ]) {
      const hid = new FakeHid();
      hid.plug(keypadB);
      hid.plug(keypadA);
      const { logger, lines } = captureLogger();
      const src = await sourceOverPorts(hid, devices, logger);
      const inputs: KeypadInput[] = [];
      await src.start((i) => inputs.push(i));
      hid.device('/dev/hidraw1').send('00 00 57 00 00 00 00 00');
      hid.device('/dev/hidraw0').send('00 00 56 00 00 00 00 00');
      expect(inputs).toEqual([
        { counter: '2', action: { type: 'next' } },
        { counter: '1', action: { type: 'recall' } },
      ]);
      expect(lines.filter((l) => l.code === 'keypad-ambiguous')).toEqual([]);
      await src.stop();
    }
  });

  it('a vendor:product binding that matches two plugged keypads takes one and says so once', async () => {
    const hid = new FakeHid();
    hid.plug(keypadB);
    hid.plug(keypadA);
    const alone = captureLogger();
    const one = await sourceOverPorts(hid, [{ counter: '1', usb: '1a2c:0e24' }], alone.logger);
    await one.start(() => {});
    await vi.advanceTimersByTimeAsync(5_000);
    const said = alone.lines.filter((l) => l.code === 'keypad-ambiguous');
    expect(said).toHaveLength(1);
    expect(said[0]).toMatchObject({ level: 40, counter: '1', took: '1-1.3', alsoMatching: ['1-1.2'] });
    await one.stop();
  });

  it('binds by serial number and by vendor:product, using the keyboard interface of a composite device', async () => {
    const hid = new FakeHid();
    hid.plug({ ...keypadA, path: '/dev/hidraw5', serialNumber: 'KP-0001', usagePage: 0x0c, usage: 1 }); // its consumer keys
    hid.plug({ ...keypadA, path: '/dev/hidraw4', serialNumber: 'KP-0001' });
    hid.plug({ vendorId: 0x04d9, productId: 0xa02a, path: '/dev/hidraw7', usagePage: 1, usage: 6 });
    const { src, inputs } = await startPads(
      {
        devices: [
          { counter: '1', serial: 'KP-0001' },
          { counter: '3', usb: '04D9:A02A' },
        ],
      },
      hid,
    );
    expect(hid.opened.sort()).toEqual(['/dev/hidraw4', '/dev/hidraw7']);
    hid.device('/dev/hidraw7').send('00 00 55 00 00 00 00 00');
    expect(inputs).toEqual([{ counter: '3', action: { type: 'skip' } }]);
    await src.stop();
  });
});

describe('hot-plug', () => {
  it('unplugging mid-press gives no phantom action; replugging reattaches within 2 s; both reported', async () => {
    const hid = new FakeHid();
    hid.plug(keypadA);
    hid.plug(keypadB);
    const { src, inputs, health } = await startPads(
      {
        devices: [
          { counter: '1', path: '/dev/hidraw0' },
          { counter: '2', path: '/dev/hidraw1' },
        ],
      },
      hid,
    );
    const pad = hid.device('/dev/hidraw0');
    // 1 0 typed, then 0 held down (the pause key) as the cable is pulled
    for (const hex of [
      '00 00 59 00 00 00 00 00',
      '00 00 00 00 00 00 00 00',
      '00 00 62 00 00 00 00 00',
      '00 00 00 00 00 00 00 00',
      '00 00 62 00 00 00 00 00',
    ]) {
      pad.send(hex);
    }
    hid.unplug('/dev/hidraw0');
    expect(src.health()['1']).toMatchObject({ connected: false, lastError: 'keypad-unplugged', unplugs: 1 });
    expect(health.at(-1)).toMatchObject({ component: 'keypad:1', health: { connected: false } });
    await vi.advanceTimersByTimeAsync(5000); // long past the hold time: no pause may fire
    expect(inputs).toEqual([]);
    expect(pad.closed).toBe(true);
    // the other counter's keypad is unaffected
    hid.device('/dev/hidraw1').send('00 00 57 00 00 00 00 00');
    expect(inputs).toEqual([{ counter: '2', action: { type: 'next' } }]);

    hid.plug(keypadA);
    await vi.advanceTimersByTimeAsync(2000);
    expect(src.health()['1']).toMatchObject({ connected: true, attaches: 2 });
    // nothing half-typed before the unplug survives: Enter alone is "resume", not "call 10"
    const again = hid.device('/dev/hidraw0');
    again.send('00 00 58 00 00 00 00 00');
    again.send('00 00 00 00 00 00 00 00');
    expect(inputs.at(-1)).toEqual({ counter: '1', action: { type: 'resume' } });
    await src.stop();
  });

  it('a keypad that vanishes from the list without a read error is detached by the poll', async () => {
    const hid = new FakeHid();
    hid.plug(keypadA);
    const { src } = await startPads({ devices: [{ counter: '1', path: '/dev/hidraw0' }] }, hid);
    hid.list = [];
    await vi.advanceTimersByTimeAsync(500);
    expect(src.health()['1']).toMatchObject({ connected: false, lastError: 'keypad-unplugged' });
    await src.stop();
  });

  it('a keypad listed whose reads keep failing is tried again less and less often, and said once', async () => {
    const hid = new FakeHid();
    hid.plug(keypadA);
    const { src, lines } = await startPads({ devices: [{ counter: '1', path: '/dev/hidraw0' }] }, hid);
    // a bad cable: every read fails just after the keypad is opened, and it stays listed
    for (let ms = 0; ms < 120_000; ms += 500) {
      if (hid.open.has('/dev/hidraw0') && src.health()['1']?.connected)
        hid.device('/dev/hidraw0').fail(new Error('EIO'));
      await vi.advanceTimersByTimeAsync(500);
    }
    // once a poll (500 ms) it was 240 attaches; backing off to a minute apart, a handful
    expect(hid.opened.length).toBeGreaterThan(3);
    expect(hid.opened.length).toBeLessThan(12);
    const said = lines.filter((l) => (l.level as number) >= 30 && l.counter === '1');
    expect(said.length).toBeLessThanOrEqual(4);
    // a good cable again: attached at its next try, and it stays
    await vi.advanceTimersByTimeAsync(61_000);
    expect(src.health()['1']).toMatchObject({ connected: true });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(src.health()['1']).toMatchObject({ connected: true });
    await src.stop();
  });

  it('a device list that keeps failing is said once, not at every poll', async () => {
    const hid = new FakeHid();
    hid.plug(keypadA);
    const { src, lines } = await startPads({ devices: [{ counter: '1', path: '/dev/hidraw0' }] }, hid);
    const devices = hid.module.devices;
    hid.module.devices = () => {
      throw new Error('hid_enumerate failed');
    };
    await vi.advanceTimersByTimeAsync(3600_000);
    const said = () => lines.filter((l) => (l.level as number) >= 30 && String(l.msg).startsWith('listing USB'));
    expect(said().map((l) => l.msg)).toEqual(['listing USB devices failed']);
    hid.module.devices = devices;
    await vi.advanceTimersByTimeAsync(500);
    expect(said().map((l) => l.msg)).toEqual(['listing USB devices failed', 'listing USB devices works again']);
    expect(src.health()['1']).toMatchObject({ connected: true });
    await src.stop();
  });

  it('a configured keypad missing at start is reported, and attached when plugged in', async () => {
    const hid = new FakeHid();
    hid.plug(keypadA);
    const { src, lines } = await startPads(
      {
        devices: [
          { counter: '1', path: '/dev/hidraw0' },
          { counter: '2', serial: 'NOT-YET' },
        ],
      },
      hid,
    );
    expect(src.health()['2']).toMatchObject({ connected: false, lastError: 'keypad-missing' });
    await vi.advanceTimersByTimeAsync(3000);
    // logged once, not on every poll
    expect(lines.filter((l) => l.code === 'keypad-missing')).toHaveLength(1);
    hid.plug({ ...keypadB, serialNumber: 'NOT-YET' });
    await vi.advanceTimersByTimeAsync(500);
    expect(src.health()['2']).toMatchObject({ connected: true, attaches: 1 });
    await src.stop();
  });

  it('stop closes the devices and polls no more', async () => {
    const hid = new FakeHid();
    hid.plug(keypadA);
    const { src } = await startPads({ devices: [{ counter: '1', path: '/dev/hidraw0' }] }, hid);
    await src.stop();
    expect(hid.device('/dev/hidraw0').closed).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('keypad errors an admin can act on', () => {
  it('none of the configured keypads present: start goes on, names what was seen, and attaches it when plugged', async () => {
    const hid = new FakeHid();
    hid.plug({
      vendorId: 0x046d,
      productId: 0xc31c,
      product: 'USB Keyboard',
      path: '/dev/hidraw3',
      usagePage: 1,
      usage: 6,
    });
    // the office opens without its keypads (its dispenser, board and online tickets need none)
    const { src, error, lines, inputs } = await startPads({ devices: [{ counter: '1', usb: '1a2c:0e24' }] }, hid);
    expect(error).toBeNull();
    const said = lines.filter((l) => l.code === 'keypad-none-found');
    expect(said).toHaveLength(1);
    expect(said[0]).toMatchObject({
      level: 50,
      msg: expect.stringMatching(/046d:c31c USB Keyboard.*npm run hw -- list/),
    });
    expect(src.health()['1']).toMatchObject({ connected: false, lastError: 'keypad-missing' });
    hid.plug(keypadA);
    await vi.advanceTimersByTimeAsync(500);
    expect(src.health()['1']).toMatchObject({ connected: true, attaches: 1 });
    const pad = hid.device('/dev/hidraw0');
    pad.send('00 00 58 00 00 00 00 00');
    pad.send('00 00 00 00 00 00 00 00');
    expect(inputs).toEqual([{ counter: '1', action: { type: 'resume' } }]);
    await src.stop();
  });

  it('permission denied on the hidraw node points to the udev rule', async () => {
    const hid = new FakeHid();
    hid.plug(keypadA);
    hid.plug(keypadB);
    hid.openError['/dev/hidraw1'] = new Error('cannot open device with path /dev/hidraw1: Permission denied');
    const { src } = await startPads(
      {
        devices: [
          { counter: '1', path: '/dev/hidraw0' },
          { counter: '2', path: '/dev/hidraw1' },
        ],
      },
      hid,
    );
    expect(src.health()['2']).toMatchObject({
      connected: false,
      lastError: 'hid-permission',
      lastErrorMessage: expect.stringMatching(/udev/),
    });
    await src.stop();
  });

  it('a counter that does not exist is refused before any hardware is touched', async () => {
    const hid = new FakeHid();
    // config validation names it first
    expect(() => officeConfig({ devices: [{ counter: '9', path: '/dev/hidraw0' }] })).toThrow(/unknown counter/);
    // and the factory refuses such a config if one reaches it some other way
    const config = structuredClone(officeConfig({ devices: [{ counter: '1', path: '/dev/hidraw0' }] }));
    (config.hardware.keypads as { devices: Array<{ counter: string }> }).devices[0]!.counter = '9';
    await expect(
      createKeypadSource(config, captureLogger().logger, {
        ...noKernel,
        load: { nodeHid: async () => hid.module },
      }),
    ).rejects.toMatchObject({
      code: 'hw-config-invalid',
      message: expect.stringMatching(/devices\.0\.counter: unknown counter "9"/),
    });
  });

  it('two counters bound to the same keypad (one model by vendor:product, a serial twice) are refused, naming the field', async () => {
    const hid = new FakeHid();
    hid.plug(keypadA);
    hid.plug(keypadB);
    for (const [devices, field, value] of [
      [
        [
          { counter: '1', usb: '1a2c:0e24' },
          { counter: '2', usb: '1A2C:0E24' },
        ],
        'devices.1.usb',
        '1A2C:0E24',
      ],
      [
        [
          { counter: '1', serial: 'KP-1' },
          { counter: '2', port: '1-1.3' },
          { counter: '3', serial: 'KP-1' },
        ],
        'devices.2.serial',
        'KP-1',
      ],
    ] as const) {
      const said = `hardware.keypads.${field}: "${value}" is also the keypad of counter "1"`;
      // by the config check (the daemon's start, the installer's, `npm run status`)
      let issues: Array<{ path: PropertyKey[]; message: string }> = [];
      try {
        officeConfig({ devices });
      } catch (err) {
        issues = (err as { issues: typeof issues }).issues;
      }
      expect(issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toContainEqual(expect.stringContaining(said));
      // and by the factory again, for a config that did not come through it
      const config = officeConfig({ devices: [{ counter: '1', usb: '0000:0001' }] });
      (config.hardware.keypads as { devices: unknown }).devices = devices;
      await expect(
        createKeypadSource(config, captureLogger().logger, {
          ...noKernel,
          load: { nodeHid: async () => hid.module },
        }),
      ).rejects.toMatchObject({ code: 'hw-config-invalid', message: expect.stringContaining(said) });
    }
    expect(hid.opened).toEqual([]);
  });

  it('node-hid that cannot load: start fails and the health of every keypad says why', async () => {
    const { logger } = captureLogger();
    const src = (await createKeypadSource(
      officeConfig({
        devices: [
          { counter: '1', path: '/dev/hidraw0' },
          { counter: '2', usb: '1a2c:0e24' },
        ],
      }),
      logger,
      {
        load: {
          nodeHid: async () => {
            throw new HardwareError('hid-module-unavailable', 'node-hid cannot load: install libusb-1.0-0');
          },
        },
      },
    ))!;
    await expect(src.start(() => {})).rejects.toMatchObject({ code: 'hid-module-unavailable' });
    expect(src.health()).toMatchObject({
      '1': { connected: false, lastError: 'hid-module-unavailable' },
      '2': { connected: false, lastError: 'hid-module-unavailable' },
    });
  });

  it('node-hid on this machine: loads, or fails with the library to install', async () => {
    // CI machines may have libusb-1.0-0 installed, the development container does not: both
    // outcomes are checked, neither is skipped.
    const outcome = await loadNodeHid('hidraw').then(
      (m) => m,
      (e: unknown) => e,
    );
    if (outcome instanceof HardwareError) {
      expect(outcome.code).toBe('hid-module-unavailable');
      expect(outcome.message).toMatch(/libusb-1\.0-0/);
    } else {
      expect(typeof (outcome as { devices: unknown }).devices).toBe('function');
    }
  });
});
