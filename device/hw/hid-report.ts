// HID boot-keyboard reports (USB HID 1.11, appendix B.1): byte 0 is the modifier bits, byte 1 is
// reserved, bytes 2-7 hold up to six usage codes of the keys down now (6-key rollover). A report
// is a state, not an event: a key press is a code that appears, a key release one that leaves.
// Usage names come from the HID Usage Tables, page 0x07 (Keyboard/Keypad).
import type { KeyName } from '../config/hardware-schema.ts';

/** Usage 0x01 in every slot: more keys are down than the keypad can report. */
const ERROR_ROLLOVER = 0x01;

const USAGE_NAMES: Record<number, KeyName> = {
  // keypad block
  83: 'numlock',
  84: '/',
  85: '*',
  86: '-',
  87: '+',
  88: 'enter',
  89: '1',
  90: '2',
  91: '3',
  92: '4',
  93: '5',
  94: '6',
  95: '7',
  96: '8',
  97: '9',
  98: '0',
  99: '.',
  103: '=',
  176: '00',
  177: '000',
  // main block, for keypads that send it (and for testing with an ordinary keyboard)
  30: '1',
  31: '2',
  32: '3',
  33: '4',
  34: '5',
  35: '6',
  36: '7',
  37: '8',
  38: '9',
  39: '0',
  40: 'enter',
  41: 'escape',
  42: 'backspace',
  43: 'tab',
  45: '-',
  46: '=',
  55: '.',
  56: '/',
};

/** Main-block keys that mean something else with Shift held (US layout): Shift+= is +, Shift+8 is *. */
const SHIFTED: Record<number, KeyName> = { 46: '+', 37: '*' };
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
