// Keyboard input reports. Without a report descriptor they are taken for boot-keyboard reports
// (USB HID 1.11, appendix B.1): byte 0 is the modifier bits, byte 1 is reserved, bytes 2-7 hold up
// to six usage codes of the keys down now (6-key rollover); with one, its layout decides. A report
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
export function decodeReport(
  data: Uint8Array,
  previous: readonly number[],
  reportId?: number,
  /** from the keypad's report descriptor; when known it decides, and `reportId` is not needed */
  layouts?: readonly KeyReportLayout[],
): DecodedReport {
  if (layouts && layouts.length > 0) return decodeWithLayout(data, previous, layouts);
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

// --- report descriptors -------------------------------------------------------------------------
// A keypad tells in its report descriptor (HID 1.11, section 6.2.2) how its input reports are laid
// out. Boot keyboards send the 8-byte layout above; others put a report id first (composite
// keypads with a Calc key), or send every key as one bit of a bitmap (n-key rollover, NKRO). The
// parser keeps only what the decoder needs: per report id, where the modifier bits, the key array
// and the key bitmap of the Keyboard/Keypad page (0x07) sit.

const KEYBOARD_PAGE = 0x07;

export interface KeyReportLayout {
  /** the report id byte that starts these reports, or null when the device numbers none */
  reportId: number | null;
  /** report length in bytes, without the id byte */
  bytes: number;
  /** bit offset of the 8 modifier bits (Left Control to Right GUI), if any */
  modifiers: number | null;
  /** key array: `count` slots of `size` bits from bit `offset`; slot value v is usage v - logicalMin + usageMin */
  array: { offset: number; count: number; size: number; usageMin: number; logicalMin: number } | null;
  /** key bitmap: bit i from `offset` is usage usageMin + i */
  bitmap: { offset: number; count: number; usageMin: number } | null;
}

interface Globals {
  usagePage: number;
  logicalMin: number;
  reportSize: number;
  reportCount: number;
  reportId: number | null;
}

function itemValue(d: Uint8Array, at: number, size: number, signed: boolean): number {
  let v = 0;
  for (let i = 0; i < size; i++) v |= (d[at + i] ?? 0) << (8 * i);
  if (size === 4) return signed ? v | 0 : v >>> 0;
  if (signed && size > 0 && v & (1 << (8 * size - 1))) v -= 1 << (8 * size);
  return v;
}

/**
 * The key reports a report descriptor declares. Throws a RangeError on a descriptor that runs past
 * its end; a descriptor with no keyboard fields gives an empty list.
 */
export function parseReportDescriptor(d: Uint8Array): KeyReportLayout[] {
  let g: Globals = { usagePage: 0, logicalMin: 0, reportSize: 0, reportCount: 0, reportId: null };
  const stack: Globals[] = [];
  let usages: number[] = [];
  let usageMin: number | null = null;
  const bitsById = new Map<number | null, number>();
  const layouts = new Map<number | null, KeyReportLayout>();
  const layoutOf = (id: number | null): KeyReportLayout => {
    let l = layouts.get(id);
    if (!l) {
      l = { reportId: id, bytes: 0, modifiers: null, array: null, bitmap: null };
      layouts.set(id, l);
    }
    return l;
  };
  /** a local usage is 32 bits (page in the high half) when given in 4 bytes */
  const local = (v: number, size: number): { page: number; id: number } =>
    size === 4 ? { page: v >>> 16, id: v & 0xffff } : { page: g.usagePage, id: v };

  for (let i = 0; i < d.length; ) {
    const prefix = d[i]!;
    if (prefix === 0xfe) {
      // long item: skip it (none are defined for keyboards)
      const len = d[i + 1] ?? 0;
      i += 3 + len;
      continue;
    }
    const size = [0, 1, 2, 4][prefix & 3]!;
    if (i + 1 + size > d.length) throw new RangeError(`report descriptor item at byte ${i} runs past the end`);
    const type = (prefix >> 2) & 3;
    const tag = prefix >> 4;
    const u = itemValue(d, i + 1, size, false);
    const s = itemValue(d, i + 1, size, true);
    i += 1 + size;
    if (type === 1) {
      // global
      if (tag === 0x0) g.usagePage = u;
      else if (tag === 0x1) g.logicalMin = s;
      else if (tag === 0x7) g.reportSize = u;
      else if (tag === 0x8) g.reportId = u;
      else if (tag === 0x9) g.reportCount = u;
      else if (tag === 0xa) stack.push({ ...g });
      else if (tag === 0xb) g = stack.pop() ?? g;
      continue;
    }
    if (type === 2) {
      // local
      const { page, id } = local(u, size);
      if (tag === 0x0) usages.push((page << 16) | id);
      else if (tag === 0x1) usageMin = (page << 16) | id;
      continue;
    }
    if (type === 0) {
      // main
      if (tag === 0x8) {
        // Input
        const bits = g.reportSize * g.reportCount;
        const offset = bitsById.get(g.reportId) ?? 0;
        bitsById.set(g.reportId, offset + bits);
        const constant = (u & 1) !== 0;
        const variable = (u & 2) !== 0;
        const first = usageMin ?? usages[0] ?? 0;
        const page = first >>> 16;
        if (!constant && page === KEYBOARD_PAGE) {
          const l = layoutOf(g.reportId);
          const min = first & 0xffff;
          if (variable && g.reportSize === 1 && min === 0xe0 && g.reportCount === 8) l.modifiers = offset;
          else if (variable && g.reportSize === 1) l.bitmap = { offset, count: g.reportCount, usageMin: min };
          else if (!variable) {
            l.array = { offset, count: g.reportCount, size: g.reportSize, usageMin: min, logicalMin: g.logicalMin };
          }
        }
      }
      usages = [];
      usageMin = null;
    }
  }
  for (const [id, l] of layouts) l.bytes = Math.ceil((bitsById.get(id) ?? 0) / 8);
  return [...layouts.values()].filter((l) => l.array || l.bitmap);
}

function bitsAt(data: Uint8Array, offset: number, size: number): number {
  let v = 0;
  for (let b = 0; b < size; b++) {
    const bit = offset + b;
    if ((data[bit >> 3] ?? 0) & (1 << (bit & 7))) v |= 1 << b;
  }
  return v >>> 0;
}

/** Decode one input report with the layouts from the keypad's report descriptor. */
export function decodeWithLayout(
  data: Uint8Array,
  previous: readonly number[],
  layouts: readonly KeyReportLayout[],
): DecodedReport {
  const same = (ignored: DecodedReport['ignored']): DecodedReport => ({
    down: [],
    up: [],
    keys: [...previous],
    ignored,
  });
  const numbered = layouts.some((l) => l.reportId !== null);
  const layout = numbered ? layouts.find((l) => l.reportId === data[0]) : layouts[0];
  if (!layout) return same('report-id');
  const body = numbered ? data.subarray(1) : data;
  if (body.length < layout.bytes) return same('length');
  const modifiers = layout.modifiers === null ? 0 : bitsAt(body, layout.modifiers, 8);
  const keys: number[] = [];
  if (layout.array) {
    const a = layout.array;
    for (let s = 0; s < a.count; s++) {
      const v = bitsAt(body, a.offset + s * a.size, a.size);
      const usage = v - a.logicalMin + a.usageMin;
      if (usage === ERROR_ROLLOVER) return same('rollover');
      if (usage !== 0 && !keys.includes(usage)) keys.push(usage);
    }
  }
  if (layout.bitmap) {
    const m = layout.bitmap;
    for (let b = 0; b < m.count; b++) {
      const usage = m.usageMin + b;
      if (usage !== 0 && bitsAt(body, m.offset + b, 1) && !keys.includes(usage)) keys.push(usage);
    }
  }
  const down = keys.filter((u) => !previous.includes(u)).map((usage) => ({ usage, key: keyName(usage, modifiers) }));
  const up = previous.filter((u) => !keys.includes(u)).map((usage) => ({ usage, key: keyName(usage, modifiers) }));
  return { down, up, keys };
}

/** A short description of a report format, for logs and the installer's tool. */
export function layoutSummary(layouts: readonly KeyReportLayout[]): string {
  if (layouts.length === 0) return 'boot (no descriptor)';
  return layouts
    .map((l) => {
      const id = l.reportId === null ? '' : `id ${l.reportId} `;
      const kind = l.bitmap ? `bitmap of ${l.bitmap.count} keys (NKRO)` : `${l.array?.count ?? 0}-key array`;
      return `${id}${kind}, ${l.bytes} bytes`;
    })
    .join('; ');
}
