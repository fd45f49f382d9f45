// Settings of the outputs: board, printer, audio, ticket QR. Owned by display/.
import { z } from 'zod';

// The wall board and the small displays above counters. See docs/display.md.
const counterDisplaySchema = z.strictObject({
  /** counter id whose number this display shows */
  counter: z.string().min(1),
  driver: z.enum(['sim', 'framebuffer']).default('framebuffer'),
  /** framebuffer device, e.g. /dev/fb1 */
  device: z.string().min(1).default('/dev/fb1'),
  /** size used by the sim driver; a framebuffer's size comes from sysfs */
  width: z.number().int().min(160).max(3840).default(800),
  height: z.number().int().min(120).max(3840).default(480),
});

export const boardSchema = z
  .strictObject({
    /** sim: PNG files under <dataDir>/sim; framebuffer: /dev/fbN (HDMI on a Pi); none: no board */
    driver: z.enum(['sim', 'framebuffer', 'none']).default('sim'),
    /** landscape 1920x1080 by default; portrait for a board mounted on its side */
    layout: z.enum(['landscape', 'portrait']).default('landscape'),
    /** frame size for the sim driver; a framebuffer's own size wins (read from sysfs) */
    width: z.number().int().min(320).max(7680).optional(),
    height: z.number().int().min(240).max(7680).optional(),
    /** framebuffer device of the wall board */
    device: z.string().min(1).default('/dev/fb0'),
    /** pixel order of 32-bit framebuffers; sysfs does not tell it. bgra = XRGB8888 (Pi, most PCs) */
    pixelOrder: z.enum(['bgra', 'rgba']).default('bgra'),
    /** root of the graphics class in sysfs (tests point it at a fake tree) */
    sysfsRoot: z.string().min(1).default('/sys/class/graphics'),
    /** framebuffer driver: the virtual terminal shown on the board's screen, put in graphics mode
     * while the board runs (no console text, cursor or blanking); "none" leaves the console alone */
    vt: z.string().min(1).default('/dev/tty1'),
    /** how long the newest call stays highlighted */
    highlightSeconds: z.number().int().min(1).max(120).default(10),
    /** how long a refused dispenser press's message stays on the board */
    alertSeconds: z.number().int().min(1).max(600).default(20),
    /** sim driver: also write sim/counter-<id>.png for every counter */
    simCounterFrames: z.boolean().default(true),
    /** small displays above counters (real hardware, or sim) */
    counterDisplays: z.array(counterDisplaySchema).default([]),
  })
  .prefault({});

// The ticket printer (ESC/POS raster) and the signed QR link on the ticket. See docs/display.md.
export const printerSchema = z
  .strictObject({
    /** sim: PNGs under <dataDir>/sim/tickets; escpos: a USB (/dev/usb/lp0) or serial printer; none */
    driver: z.enum(['sim', 'escpos', 'none']).default('sim'),
    /** printer device: /dev/usb/lp0 (usblp), or a serial port such as /dev/ttyUSB0 */
    device: z.string().min(1).default('/dev/usb/lp0'),
    /** serial ports only: line speed set with stty before use; absent for USB printers */
    baudRate: z.number().int().min(1200).max(921600).optional(),
    /** printable width in dots: 576 for 80 mm paper, 384 for 58 mm (203 dpi) */
    widthDots: z.number().int().min(200).max(1024).multipleOf(8).default(576),
    /** ask the printer for paper/online status (DLE EOT). Turn off for a printer that never
     * answers (some cheap USB models): it then counts as ready whenever its device opens. */
    statusQuery: z.boolean().default(true),
    /** how long to wait for the printer's answer to a status query */
    statusTimeoutMs: z.number().int().min(50).max(5000).default(400),
    /** how often the printer extension asks for paper and online status */
    statusIntervalSec: z.number().int().min(1).max(3600).default(10),
    /** QR link on the ticket; {office} {day} {number} {token} are replaced (URL-encoded) */
    ticketUrl: z.string().min(1).default('https://example.invalid/q/{office}/{day}/{number}?t={token}'),
    /** HMAC secret of the QR token; env BEONHO_TICKET_SECRET wins. Required by the escpos driver. */
    ticketSecret: z.string().min(16).optional(),
  })
  .prefault({});

export const outputsSchema = z.strictObject({
  board: boardSchema,
  printer: printerSchema,
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
      /** espeak: no speech process is started while the kernel's MemAvailable, or the room under
       * the service's cgroup memory limit, is below this many MiB (the call gets the chime alone,
       * `speech-low-memory`); 0: always started. The default is SPEECH_MIN_AVAILABLE_MIB of
       * display/audio/speech-process.ts (docs/audio.md) */
      speechMinAvailableMiB: z.number().int().min(0).max(4096).default(128),
      /** the calls of this unit's area only (a floor, a waiting room): a call is announced when its
       * counter or its service is listed; absent: every call */
      area: z
        .strictObject({
          counters: z.array(z.union([z.number().int().min(0).transform(String), z.string().min(1)])).optional(),
          services: z.array(z.string().min(1)).optional(),
        })
        .optional(),
    })
    .refine((a) => a.voice !== 'clips' || a.clipsDir !== undefined, {
      message: 'voice "clips" needs clipsDir, the directory of the clip pack',
      path: ['clipsDir'],
    })
    .prefault({}),
});
export type OutputsConfig = z.infer<typeof outputsSchema>;
