import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeReport, keyName, parseReportDescriptor } from '../device/hw/hid-report.ts';

const r = (hexBytes: string): Uint8Array => Uint8Array.from(Buffer.from(hexBytes.replace(/\s+/g, ''), 'hex'));

describe('boot keyboard report decoding', () => {
  it('a key down, then up', () => {
    const a = decodeReport(r('00 00 59 00 00 00 00 00'), []);
    expect(a.down).toEqual([{ usage: 0x59, key: '1' }]);
    expect(a.up).toEqual([]);
    const b = decodeReport(r('00 00 00 00 00 00 00 00'), a.keys);
    expect(b.down).toEqual([]);
    expect(b.up).toEqual([{ usage: 0x59, key: '1' }]);
    expect(b.keys).toEqual([]);
  });

  it('6-key rollover: a second key while the first is held; slots may shift', () => {
    const a = decodeReport(r('00 00 62 00 00 00 00 00'), []);
    const b = decodeReport(r('00 00 62 5b 00 00 00 00'), a.keys);
    expect(b.down.map((k) => k.key)).toEqual(['3']);
    // the first key is released: the second moves into slot 0, which is no new press
    const c = decodeReport(r('00 00 5b 00 00 00 00 00'), b.keys);
    expect(c.down).toEqual([]);
    expect(c.up.map((k) => k.key)).toEqual(['0']);
  });

  it('ignores the rollover error report and keeps the previous state', () => {
    const a = decodeReport(r('00 00 59 00 00 00 00 00'), []);
    const b = decodeReport(r('00 00 01 01 01 01 01 01'), a.keys);
    expect(b).toMatchObject({ down: [], up: [], keys: [0x59], ignored: 'rollover' });
  });

  it('reads the modifier byte: Shift+= is +, Shift+8 is *', () => {
    expect(decodeReport(r('02 00 2e 00 00 00 00 00'), []).down[0]?.key).toBe('+');
    expect(decodeReport(r('20 00 25 00 00 00 00 00'), []).down[0]?.key).toBe('*');
    expect(decodeReport(r('00 00 2e 00 00 00 00 00'), []).down[0]?.key).toBe('=');
    expect(keyName(0x25)).toBe('8');
  });

  it('names the keypad block and leaves unknown usages unnamed', () => {
    const names = [0x54, 0x55, 0x56, 0x57, 0x58, 0x62, 0x63, 0x53, 0xb0].map((u) => keyName(u));
    expect(names).toEqual(['/', '*', '-', '+', 'enter', '0', '.', 'numlock', '00']);
    expect(keyName(0x3a)).toBeUndefined(); // F1
  });

  it('strips a report id: configured, or guessed from a 9-byte report', () => {
    expect(decodeReport(r('01 00 00 57 00 00 00 00 00'), [], 1).down[0]?.key).toBe('+');
    expect(decodeReport(r('02 e9 00'), [], 1).ignored).toBe('report-id');
    expect(decodeReport(r('01 00 00 57 00 00 00 00 00'), []).down[0]?.key).toBe('+');
  });

  it('ignores a report too short to hold keys', () => {
    expect(decodeReport(r('00'), [0x59])).toMatchObject({ ignored: 'length', keys: [0x59] });
  });
});

// Report descriptors of real keypads (tests/fixtures/hid/README.md says where each comes from).
function realDescriptors(file: string): Uint8Array[] {
  const fx = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'hid', file), 'utf8')) as {
    interfaces: Array<{ descriptor: string }>;
  };
  return fx.interfaces.map((i) => r(i.descriptor));
}

describe('report descriptors of real keypads', () => {
  it('Holtek 04d9:1203: a boot keyboard on interface 0, no keys on interface 1', () => {
    const [kbd, extras] = realDescriptors('real-holtek-04d9-1203.json');
    expect(parseReportDescriptor(kbd!)).toEqual([
      {
        reportId: null,
        bytes: 8,
        modifiers: 0,
        array: { offset: 16, count: 6, size: 8, usageMin: 0, logicalMin: 0 },
        bitmap: null,
      },
    ]);
    // System Control (id 1) and Consumer (id 2): no Keyboard/Keypad page field at all
    expect(parseReportDescriptor(extras!)).toEqual([]);
  });

  it('QMK with KEYBOARD_SHARED_EP: keys in report id 1, other ids ignored without any config', () => {
    const [shared] = realDescriptors('real-qmk-shared-ep-report-id.json');
    const layouts = parseReportDescriptor(shared!);
    expect(layouts).toEqual([
      {
        reportId: 1,
        bytes: 8,
        modifiers: 0,
        array: { offset: 16, count: 6, size: 8, usageMin: 0, logicalMin: 0 },
        bitmap: null,
      },
    ]);
    expect(decodeReport(r('01 00 00 5b 00 00 00 00 00'), [], undefined, layouts).down).toEqual([
      { usage: 0x5b, key: '3' },
    ]);
    // the Calc key (consumer report id 4) is not a key report, whatever its bytes
    expect(decodeReport(r('04 92 01'), [0x5b], undefined, layouts)).toMatchObject({
      ignored: 'report-id',
      keys: [0x5b],
    });
  });

  it('Keychron Q0 (QMK NKRO): a 240-key bitmap in report id 6; a palm on seven keys arrives whole', () => {
    const [boot, shared] = realDescriptors('real-keychron-q0-nkro.json');
    expect(parseReportDescriptor(boot!)[0]).toMatchObject({ reportId: null, bytes: 8 });
    const layouts = parseReportDescriptor(shared!);
    expect(layouts).toEqual([
      { reportId: 6, bytes: 31, modifiers: 0, array: null, bitmap: { offset: 8, count: 240, usageMin: 0 } },
    ]);
    const bits = new Uint8Array(32);
    bits[0] = 6;
    for (const u of [0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f]) bits[2 + (u >> 3)]! |= 1 << (u & 7);
    const palm = decodeReport(bits, [], undefined, layouts);
    expect(palm.ignored).toBeUndefined();
    expect(palm.down.map((k) => k.key)).toEqual(['1', '2', '3', '4', '5', '6', '7']);
    // the mouse report (id 2) of the same interface is no key report
    expect(decodeReport(r('02 00 00 00 00 00'), palm.keys, undefined, layouts)).toMatchObject({ ignored: 'report-id' });
    // a short report of the right id is refused rather than read past its end
    expect(decodeReport(r('06 00 00'), palm.keys, undefined, layouts)).toMatchObject({ ignored: 'length' });
  });

  it('refuses a descriptor cut in the middle of an item', () => {
    expect(() => parseReportDescriptor(r('05 01 09 06 a1 01 26 ff'))).toThrow(RangeError);
  });
});
