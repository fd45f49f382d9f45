// HID boot-keyboard reports (USB HID 1.11, appendix B.1): byte 0 is the modifier bits, byte 1 is
// reserved, bytes 2-7 hold up to six usage codes of the keys down now (6-key rollover). A report
// is a state, not an event: a key press is a code that appears, a key release one that leaves.
// Usage names come from the HID Usage Tables, page 0x07 (Keyboard/Keypad).
import type { KeyName } from '../config/hardware-schema.ts';

/** Usage 0x01 in every slot: more keys are down than the keypad can report. */
const ERROR_ROLLOVER = 0x01;

const USAGE_NAMES: Record<number, KeyName> = {
  // keypad block
  0x53: 'numlock', 0x54: '/', 0x55: '*', 0x56: '-', 0x57: '+', 0x58: 'enter',
  0x59: '1', 0x5a: '2', 0x5b: '3', 0x5c: '4', 0x5d: '5', 0x5e: '6', 0x5f: '7', 0x60: '8', 0x61: '9', 0x62: '0',
  0x63: '.', 0x67: '=', 0xb0: '00', 0xb1: '000',
  // main block, for keypads that send it (and for testing with an ordinary keyboard)
  0x1e: '1', 0x1f: '2', 0x20: '3', 0x21: '4', 0x22: '5', 0x23: '6', 0x24: '7', 0x25: '8', 0x26: '9', 0x27: '0',
  0x28: 'enter', 0x29: 'escape', 0x2a: 'backspace', 0x2b: 'tab', 0x2d: '-', 0x2e: '=', 0x37: '.', 0x38: '/',
};

/** Main-block keys that mean something else with Shift held (US layout): Shift+= is +, Shift+8 is *. */
const SHIFTED: Record<number, KeyName> = { 0x2e: '+', 0x25: '*' };
const SHIFT_BITS = 0x02 | 0x20;

export interface KeyEvent {
  usage: number;
  /** undefined for a usage we have no name for: the caller logs and ignores it */
  key: KeyName | undefined;
}

export interface DecodedReport {
  down: KeyEvent[];
  up: KeyEvent[];
  /** the usages down after this report: pass it back in with the next one */
  keys: number[];
  /** the report carried no key state (rollover error, wrong length, other report id) */
  ignored?: 'rollover' | 'length' | 'report-id';
}

export function keyName(usage: number, modifiers = 0): KeyName | undefined {
  if (modifiers & SHIFT_BITS && SHIFTED[usage]) return SHIFTED[usage];
  return USAGE_NAMES[usage];
}

/**
 * Decodes one input report against the keys down before it.
 * `reportId`: set when the keypad prefixes its reports with a report id byte; reports with another
 * id (media keys, system control) are ignored. Without it, an 8-byte report is a boot report and a
 * 9-byte one is taken to start with a report id (hidraw passes report ids through).
 */
export function decodeReport(data: Uint8Array, previous: readonly number[], reportId?: number): DecodedReport {
  let body = data;
  if (reportId !== undefined) {
    if (data[0] !== reportId) return { down: [], up: [], keys: [...previous], ignored: 'report-id' };
    body = data.subarray(1);
  } else if (data.length === 9) {
    body = data.subarray(1);
  }
  if (body.length < 3) return { down: [], up: [], keys: [...previous], ignored: 'length' };
  const modifiers = body[0] ?? 0;
  const slots = Array.from(body.subarray(2, 8));
  if (slots.some((u) => u === ERROR_ROLLOVER)) return { down: [], up: [], keys: [...previous], ignored: 'rollover' };
  const keys = [...new Set(slots.filter((u) => u !== 0))];
  const down = keys.filter((u) => !previous.includes(u)).map((usage) => ({ usage, key: keyName(usage, modifiers) }));
  const up = previous.filter((u) => !keys.includes(u)).map((usage) => ({ usage, key: keyName(usage, modifiers) }));
  return { down, up, keys };
}

export function hex(data: Uint8Array): string {
  return Array.from(data, (b) => b.toString(16).padStart(2, '0')).join(' ');
}
