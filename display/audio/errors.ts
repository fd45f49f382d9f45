// Errors of the announcement path. Each carries a stable code (logged, shown in device health,
// listed in docs/audio.md) and a sentence a person can act on.

export type AudioErrorCode =
  | 'WAV_INVALID'
  | 'WAV_UNSUPPORTED'
  | 'WAV_RATE_MISMATCH'
  | 'AUDIO_APLAY_MISSING'
  | 'AUDIO_DEVICE_MISSING'
  | 'AUDIO_DEVICE_BUSY'
  | 'AUDIO_PLAY_FAILED'
  | 'AUDIO_PLAY_TIMEOUT'
  | 'AUDIO_SINK_CLOSED'
  | 'AUDIO_SIM_WRITE_FAILED'
  | 'ESPEAK_LOAD_FAILED'
  | 'ESPEAK_FAILED'
  | 'CLIP_PACK_UNREADABLE'
  | 'CLIP_MISSING';

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

/** The stable code of any error: ours, a Node system error's (ENOENT…), or AUDIO_PLAY_FAILED. */
export function errorCode(err: unknown): string {
  if (err instanceof AudioError) return err.code;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'AUDIO_PLAY_FAILED';
}
