// What the installer was given with --keypad and --printer, kept in /etc/beonho/usb-ids. An upgrade
// runs the installer again (docs/deploy.md, "Upgrades"); without the options repeated, the udev
// rules would silently give the service every keypad of the config, or no longer its libusb
// printer. So an install that does not give one of them reuses what the file holds and says so; an
// explicit option replaces it, and `--keypad none` / `--printer none` clears it.
import { readFile } from 'node:fs/promises';
import { USB_IDS_FILE } from './paths.ts';
import { parseUsbId, type UsbId } from './udev.ts';

export interface UsbIds {
  keypads: UsbId[];
  printers: UsbId[];
}

/** What an install was given: a kind left out (undefined) is taken from the record. */
export interface UsbIdsGiven {
  keypads?: UsbId[] | undefined;
  printers?: UsbId[] | undefined;
}

const KINDS = [
  { key: 'keypads', word: 'keypad', what: 'only these keypads get a udev rule, not those the config names' },
  { key: 'printers', word: 'printer', what: 'the service keeps these libusb printers' },
] as const;

export const formatUsbId = (id: UsbId): string => `${id.vendor}:${id.product}`;

/** `--keypad VALUE`, repeated: a USB id, or `none` alone (clear what an earlier install recorded). */
export function collectUsbIds(option: string): (value: string, prev: UsbId[] | undefined) => UsbId[] {
  const cleared = new WeakSet<UsbId[]>();
  return (value, prev) => {
    const none = value.trim().toLowerCase() === 'none';
    if ((none && prev !== undefined) || (prev !== undefined && cleared.has(prev))) {
      throw Object.assign(new Error(`${option} none clears the recorded ids: give it alone, not with ids`), {
        code: 'deploy-bad-usb-id',
      });
    }
    if (!none) return [...(prev ?? []), parseUsbId(value)];
    const empty: UsbId[] = [];
    cleared.add(empty);
    return empty;
  };
}

export function formatUsbIdsRecord(ids: UsbIds): string {
  return [
    '# Written by `npm run install-service` (deploy/usb-ids.ts): the USB ids it was given with',
    '# --keypad and --printer. An install that does not give them uses these again; an option given',
    '# replaces its line(s), and `--keypad none` / `--printer none` removes them.',
    ...ids.keypads.map((id) => `keypad ${formatUsbId(id)}`),
    ...ids.printers.map((id) => `printer ${formatUsbId(id)}`),
    '',
  ].join('\n');
}

/** The record's ids; null when there is no file. A line it cannot read refuses the install: going
 * on without it would be the very loss the record is there to prevent. */
export function parseUsbIdsRecord(text: string): UsbIds {
  const ids: UsbIds = { keypads: [], printers: [] };
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^(keypad|printer)\s+(\S+)$/.exec(line);
    let id: UsbId | null = null;
    try {
      id = m ? parseUsbId(m[2]!) : null;
    } catch {}
    if (!m || !id) {
      throw Object.assign(
        new Error(
          `line ${i + 1} of ${USB_IDS_FILE} is not "keypad VVVV:PPPP" or "printer VVVV:PPPP" (${JSON.stringify(line.slice(0, 60))}): fix or remove that line, or give --keypad and --printer (each VID:PID, or none) to replace the file; nothing was changed`,
        ),
        { code: 'deploy-usb-ids-damaged' },
      );
    }
    (m[1] === 'keypad' ? ids.keypads : ids.printers).push(id);
  });
  return ids;
}

export async function readUsbIdsRecord(file: string): Promise<UsbIds | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw Object.assign(new Error(`cannot read ${USB_IDS_FILE}: ${(err as Error).message}`), {
      code: 'deploy-usb-ids-damaged',
    });
  }
  return parseUsbIdsRecord(text);
}

/** The ids this install uses: each kind as given, else as recorded. `notes` say what was reused
 * or cleared, for the installer's output; `record` is the file's next text (null: no file). */
export function resolveUsbIds(
  given: UsbIdsGiven,
  recorded: UsbIds | null,
): { ids: UsbIds; notes: string[]; record: string | null } {
  const ids: UsbIds = { keypads: [], printers: [] };
  const notes: string[] = [];
  for (const k of KINDS) {
    const was = recorded?.[k.key] ?? [];
    const now = given[k.key] ?? was;
    ids[k.key] = now;
    const list = (xs: UsbId[]) => xs.map((id) => `--${k.word} ${formatUsbId(id)}`).join(' ');
    if (given[k.key] === undefined && now.length > 0) {
      notes.push(
        `${list(now)}: reused from ${USB_IDS_FILE} (an earlier install was given it): ${k.what}; --${k.word} VID:PID replaces it, --${k.word} none clears it`,
      );
    } else if (given[k.key]?.length === 0 && was.length > 0) {
      notes.push(`${list(was)}: cleared from ${USB_IDS_FILE} (--${k.word} none)`);
    }
  }
  const record = ids.keypads.length + ids.printers.length > 0 ? formatUsbIdsRecord(ids) : null;
  return { ids, notes, record };
}
