// Offline Korean synthesis with the espeak-ng package: the espeak-ng CLI compiled to WASM, its
// voice data embedded in the .wasm file (18 MB). Each call runs the CLI's main() in a fresh
// instance (about 130 ms on a PC) and reads the WAV it wrote into its in-memory file system.
// Loaded lazily: nothing is read or compiled until the first call is spoken; the compiled module
// is kept so later calls only instantiate it, which matters on a Pi.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Logger } from 'pino';
import { type SpokenPart, spokenText } from './call-sentence.ts';
import { AudioError } from './errors.ts';
import type { Voice } from './voice.ts';
import { decodeWav, type Pcm } from './wav.ts';

export interface EspeakVoiceOptions {
  /** espeak voice name; "ko" is Korean */
  voice?: string;
  /** words per minute */
  rate?: number;
  logger: Logger;
  /** the program name espeak's main() sees (argv[0]); tests give a bad one to make it abort */
  program?: string;
}

type Factory = typeof import('espeak-ng').default;

const OUT_FILE = '/call.wav';

export class EspeakVoice implements Voice {
  readonly kind = 'espeak';
  private runtime: Promise<{ factory: Factory; wasm: WebAssembly.Module }> | null = null;
  /** espeak runs one utterance at a time; this chains the callers */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: EspeakVoiceOptions) {}

  /** Nothing to check ahead of time: the package is a dependency and loads on first use. */
  async load(): Promise<void> {}

  synth(parts: SpokenPart[]): Promise<Pcm> {
    const text = spokenText(parts);
    const run = this.tail.then(() => this.speak(text));
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Synthesise free text (Hangul); used by synth() and by the listen-free checks in tests. */
  async speak(text: string): Promise<Pcm> {
    const { factory, wasm } = await this.loadRuntime();
    const errors: string[] = [];
    // A leading "-" would be taken for an option by the CLI's argument parser.
    const safeText = text.replace(/^[\s-]+/, '');
    let espeak: Awaited<ReturnType<Factory>>;
    // a failed instantiation never calls receive(): without this the factory's promise would wait
    let instantiateFailed: (err: unknown) => void = () => {};
    const failed = new Promise<never>((_, reject) => {
      instantiateFailed = reject;
    });
    try {
      const running = factory({
        arguments: ['-v', this.opts.voice ?? 'ko', '-s', String(this.opts.rate ?? 150), '-w', OUT_FILE, safeText],
        // Not node's script path, the default: espeak copies it into its environment and asserts it
        // is ASCII, so a release unpacked under a Korean folder name (다운로드) aborted every call.
        thisProgram: this.opts.program ?? 'espeak-ng',
        print: () => {},
        printErr: (line) => {
          if (errors.length < 5) errors.push(line);
        },
        // The default exit handler sets process.exitCode: not something a voice may do to the daemon.
        quit: () => {},
        instantiateWasm: (imports, receive) => {
          WebAssembly.instantiate(wasm, imports)
            .then((instance) => receive(instance, wasm), instantiateFailed)
            // espeak's abort() rejects the factory's promise and then throws from receive(): that
            // throw must not escape (in the daemon's own process it was an uncaught exception)
            .catch(() => {});
          return {};
        },
      });
      espeak = await Promise.race([running, failed]);
    } catch (err) {
      throw new AudioError('espeak-failed', `espeak-ng failed to run: ${String(err)}`, { cause: err });
    }
    let bytes: Uint8Array;
    try {
      bytes = espeak.FS.readFile(OUT_FILE);
    } catch (err) {
      throw new AudioError(
        'espeak-failed',
        `espeak-ng wrote no audio${errors.length ? `: ${errors.join(' / ')}` : ''} (is the voice "${this.opts.voice ?? 'ko'}" valid?)`,
        { cause: err },
      );
    }
    const pcm = decodeWav(bytes);
    if (pcm.samples.length === 0) throw new AudioError('espeak-failed', 'espeak-ng produced an empty recording');
    return pcm;
  }

  private loadRuntime(): Promise<{ factory: Factory; wasm: WebAssembly.Module }> {
    if (!this.runtime) {
      this.runtime = (async () => {
        const started = Date.now();
        try {
          const entry = createRequire(import.meta.url).resolve('espeak-ng');
          const [mod, bytes] = await Promise.all([
            import('espeak-ng'),
            readFile(path.join(path.dirname(entry), 'espeak-ng.wasm')),
          ]);
          const wasm = await WebAssembly.compile(bytes);
          this.opts.logger.info({ ms: Date.now() - started }, 'espeak-ng loaded');
          return { factory: mod.default, wasm };
        } catch (err) {
          throw new AudioError(
            'espeak-load-failed',
            `could not load the espeak-ng package (${String(err)}); reinstall dependencies with npm ci`,
            { cause: err },
          );
        }
      })();
      // A failed load may succeed later (e.g. a file restored): do not cache the failure.
      this.runtime.catch(() => {
        this.runtime = null;
      });
    }
    return this.runtime;
  }
}
