// The speech process: espeak-ng's WASM runs here, in a child of the daemon, not in the daemon
// itself. A sentence costs the process ~100 MB while it is synthesised (the 18 MB module, a
// fresh instance's 32 MB memory with the voice data copied in, the garbage of the instance
// before), and a process can give all of it back by ending, which a heap cannot
// (speech-process.ts starts it on demand and ends it when idle).
//
// Protocol (IPC, advanced serialisation): the process says { ready: true } first; then the parent
// sends SpeechRequest messages, one at a time, each answered by one reply. argv[2] is the voice's
// JSON settings. The process ends when its
// parent goes (the IPC channel closes).
import { writeFileSync } from 'node:fs';
import { pino } from 'pino';
import { errorCode } from './errors.ts';
import { EspeakVoice } from './espeak-voice.ts';
import { isMainModule } from '../../device/util/main-module.ts';

export interface SpeechSettings {
  /** espeak voice name, "ko" */
  voice: string;
  /** words per minute */
  rate: number;
}

export interface SpeechRequest {
  id: number;
  text: string;
}

export type SpeechReply =
  /** the first message, before espeak loads: the process runs its code */
  | { ready: true }
  | { id: number; ok: true; rate: number; samples: Int16Array }
  | { id: number; ok: false; code: string; message: string };

/** This process's oom_score_adj: when a small board runs out of memory, the kernel kills it
 * before the daemon (which the unit sets to -500). The daemon tells that kill from its own
 * (`speech-oom-killed`): the call gets the chime alone, the voice rests before a fresh process is
 * started (speech-process.ts), and the queue runs on. */
export const SPEECH_OOM_SCORE_ADJ = 500;

function preferOomKill(): void {
  try {
    // raising one's own score needs no privilege
    writeFileSync('/proc/self/oom_score_adj', String(SPEECH_OOM_SCORE_ADJ));
  } catch {
    // no /proc (not Linux): the kernel's own choice
  }
}

function serve(settings: SpeechSettings): void {
  preferOomKill();
  const voice = new EspeakVoice({ voice: settings.voice, rate: settings.rate, logger: pino({ enabled: false }) });
  const send = (reply: SpeechReply): void => {
    process.send?.(reply);
  };
  process.on('message', (req: SpeechRequest) => {
    void voice
      .speak(req.text)
      .then(
        (pcm) => send({ id: req.id, ok: true, rate: pcm.rate, samples: pcm.samples }),
        (err: unknown) => send({ id: req.id, ok: false, code: errorCode(err), message: (err as Error).message }),
      )
      .finally(() => {
        // the finished instance's memory (32 MB and more) goes now, not when the next one needs room
        (globalThis as { gc?: () => void }).gc?.();
      });
  });
  process.on('disconnect', () => process.exit(0));
  send({ ready: true });
}

if (isMainModule(import.meta.url) && process.send) {
  serve(JSON.parse(process.argv[2] ?? '{}') as SpeechSettings);
}
