import { describe, expect, it } from 'vitest';
import { decodeReport, keyName } from '../device/hw/hid-report.ts';

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
