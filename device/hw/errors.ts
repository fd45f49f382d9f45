// Errors of the hardware drivers. Each carries a stable code (the same code appears in logs, in the
// device status and in docs/hardware.md) and a sentence the installer can act on.

export type HardwareErrorCode =
  | 'hw-config-invalid'
  | 'gpio-module-unavailable'
  | 'gpio-not-accessible'
  | 'gpio-permission'
  | 'gpio-bad-pin'
  | 'gpio-busy'
  | 'gpio-chip-unknown'
  | 'firmata-module-unavailable'
  | 'firmata-port-missing'
  | 'firmata-port-denied'
  | 'firmata-timeout'
  | 'firmata-board-lost'
  | 'firmata-error'
  | 'hid-module-unavailable'
  | 'hid-permission'
  | 'keypad-none-found'
  | 'keypad-missing'
  | 'keypad-open-failed'
  | 'keypad-unplugged'
  | 'keypad-grab-denied'
  | 'keypad-grab-busy'
  | 'keypad-grab-unavailable'
  | 'keypad-ambiguous'
  | 'ioctl-module-unavailable';

export class HardwareError extends Error {
  constructor(
    readonly code: HardwareErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${message}`, options);
    this.name = 'HardwareError';
  }
}

/** The errno-style code of a Node or native error, when it has one. */
export function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (err && typeof err === 'object' && 'message' in err) return String((err as { message: unknown }).message);
  return String(err);
}
