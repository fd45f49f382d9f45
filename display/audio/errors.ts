// Errors of the announcement path. Each carries a stable code (logged, shown in device health,
// listed in docs/errors.md; the list is AUDIO_ERRORS in device/error-codes.ts) and a sentence a
// person can act on.
import type { AudioErrorCode } from '../../device/error-codes.ts';

export type { AudioErrorCode };

export class AudioError extends Error {
  override readonly name = 'AudioError';
  constructor(
    readonly code: AudioErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The stable code of any error: ours, a Node system error's (ENOENT…), or audio-play-failed. */
export function errorCode(err: unknown): string {
  if (err instanceof AudioError) return err.code;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'audio-play-failed';
}
