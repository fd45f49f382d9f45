// Settings of the outputs: board, printer, audio, ticket QR. Owned by display/.
import { z } from 'zod';

export const outputsSchema = z.strictObject({
  board: z.strictObject({ driver: z.enum(['sim']).default('sim') }).prefault({}),
  printer: z.strictObject({ driver: z.enum(['sim']).default('sim') }).prefault({}),
  // Announcements (chime + Korean voice call). See docs/audio.md.
  audio: z
    .strictObject({
      /** false: no chime and no voice at all (the board still shows calls) */
      enabled: z.boolean().default(true),
      /** sim: WAV files under <dataDir>/sim/audio; alsa: played with aplay; none: silent */
      driver: z.enum(['sim', 'alsa', 'none']).default('sim'),
      /** ALSA PCM name handed to `aplay -D`, e.g. "default", "plughw:1,0", "hdmi:CARD=vc4hdmi0" */
      device: z.string().min(1).default('default'),
      /** the aplay executable (a path, or a name looked up on PATH) */
      aplay: z.string().min(1).default('aplay'),
      /** espeak: offline synthesis (espeak-ng WASM); clips: a recorded clip pack from clipsDir */
      voice: z.enum(['espeak', 'clips']).default('espeak'),
      /** directory of the clip pack (absolute, or relative to the working directory) */
      clipsDir: z.string().min(1).optional(),
      /** espeak speaking rate, words per minute (espeak's default is 175; slower is clearer) */
      rate: z.number().int().min(80).max(300).default(150),
      /** linear gain applied to the samples, 0 to 1 */
      volume: z.number().min(0).max(1).default(0.8),
      /** play the ding-dong before the voice */
      chime: z.boolean().default(true),
      /** how many times the sentence is spoken per call (after one chime) */
      repeat: z.number().int().min(1).max(3).default(1),
    })
    .refine((a) => a.voice !== 'clips' || a.clipsDir !== undefined, {
      message: 'voice "clips" needs clipsDir, the directory of the clip pack',
      path: ['clipsDir'],
    })
    .prefault({}),
});
export type OutputsConfig = z.infer<typeof outputsSchema>;
