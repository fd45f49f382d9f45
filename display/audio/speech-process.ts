// The espeak voice, synthesised in a child process (speech-child.ts) that is started on demand and
// ends when idle. espeak-ng's WASM costs ~100 MB while it speaks; in the daemon's own process that
// memory stayed (a heap keeps what it once needed), on a 512 MB board beside the queue, the board's
// frames and the broker. In a child it is given back whenever the office is quiet, and a crash or
// a hang of the synthesiser cannot take the queue with it: the call fails with `espeak-failed`,
// is logged and skipped (the board still shows it), and the next call starts a fresh process.
import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { buildFile } from '../../device/util/build-root.ts';
import { type SpokenPart, spokenText } from './call-sentence.ts';
import { AudioError } from './errors.ts';
import { EspeakVoice } from './espeak-voice.ts';
import type { SpeechReply, SpeechSettings } from './speech-child.ts';
import type { Voice } from './voice.ts';
import type { Pcm } from './wav.ts';

export interface SpeechProcessOptions {
  /** espeak voice name; "ko" is Korean */
  voice?: string;
  /** words per minute */
  rate?: number;
  logger: Logger;
  /** the process ends this long after its last sentence (default 60 s: a busy hour keeps it) */
  idleMs?: number;
  /** a sentence not spoken within this is given up and the process killed (default 30 s; a Pi's
   * first sentence, with the module to compile, takes a second or two) */
  timeoutMs?: number;
  /** the child's module and node options (default: speech-child beside this file); tests run a
   * fake that crashes or hangs */
  child?: { entry: string; execArgv?: string[]; execPath?: string };
}

const HERE = fileURLToPath(import.meta.url);
/** the child of this build: .js in dist/, .ts under tsx; found from the build's root, as the
 * daemon runs as one bundle in another folder than this module's */
const CHILD_ENTRY = buildFile(`display/audio/speech-child${path.extname(HERE)}`);
/** The child's memory (its peak, measured: 171 MiB with none of these but gc, 138 with all):
 * - --liftoff-only: espeak's WASM stays with V8's baseline compiler; the optimising tier compiled
 *   it again in the background for ~30 MiB more, and a sentence took no less time (~0.1 s);
 * - a young generation of 1 MB a semi-space (the default 16 MB held garbage instances);
 * - gc() to drop a finished instance (32 MiB of memory) before the next sentence needs one. */
const CHILD_NODE_OPTIONS = ['--liftoff-only', '--max-semi-space-size=1', '--expose-gc'];

interface Pending {
  id: number;
  text: string;
  resolve: (pcm: Pcm) => void;
  reject: (err: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class SpeechProcessVoice implements Voice {
  readonly kind = 'espeak';
  private child: ChildProcess | null = null;
  /** the child said it runs (its first message): an exit after that is a crash, not a failed start */
  private ready = new WeakSet<ChildProcess>();
  private pending: Pending | null = null;
  private idleTimer: ReturnType<typeof setTimeout> | null = null;
  private nextId = 1;
  private stderrTail = '';
  private closed = false;
  /** espeak in this process, when no speech process can be started (speakInProcess) */
  private inProcess: EspeakVoice | null = null;
  /** one sentence at a time: this chains the callers */
  private tail: Promise<unknown> = Promise.resolve();
  /** processes started so far (status, tests) */
  started = 0;

  constructor(private readonly opts: SpeechProcessOptions) {}

  /** Nothing to check ahead of time: the process starts with the first sentence. */
  async load(): Promise<void> {}

  /** The speech process's pid while it runs, else null. */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** The speech process runs its code (it said so), as opposed to just started. */
  get childReady(): boolean {
    return this.child !== null && this.ready.has(this.child);
  }

  synth(parts: SpokenPart[]): Promise<Pcm> {
    return this.speak(spokenText(parts));
  }

  /** Synthesise free text (Hangul) in the speech process, starting it if it is not running. */
  speak(text: string): Promise<Pcm> {
    const run = this.tail.then(() => this.request(text));
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** End the process now (the daemon stops): a sentence under way is rejected, and this resolves
   * once the process is gone. */
  async close(): Promise<void> {
    this.closed = true;
    await this.stop();
  }

  private request(text: string): Promise<Pcm> {
    if (this.closed) return Promise.reject(new AudioError('espeak-failed', 'the speech process is closed'));
    if (this.inProcess) return this.inProcess.speak(text);
    this.clearIdle();
    let child: ChildProcess;
    try {
      child = this.child ?? this.spawn();
    } catch (err) {
      return this.speakInProcess(text, err as Error);
    }
    // a sentence under way holds the daemon open; an idle process does not (armIdle)
    child.ref();
    child.channel?.ref();
    const id = this.nextId++;
    return new Promise<Pcm>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(child, `no speech after ${this.opts.timeoutMs ?? 30_000} ms; the speech process was killed`);
        child.kill('SIGKILL');
      }, this.opts.timeoutMs ?? 30_000);
      this.pending = { id, text, resolve, reject, timer };
      child.send({ id, text }, (err) => {
        // a child that never ran: its exit follows, and decides (speaks in this process instead)
        if (err && this.ready.has(child)) this.fail(child, `could not reach the speech process: ${err.message}`);
      });
    });
  }

  private spawn(): ChildProcess {
    const entry = this.opts.child?.entry ?? CHILD_ENTRY;
    const execArgv =
      this.opts.child?.execArgv ??
      (entry.endsWith('.ts') ? ['--import', 'tsx', ...CHILD_NODE_OPTIONS] : CHILD_NODE_OPTIONS);
    const settings: SpeechSettings = { voice: this.opts.voice ?? 'ko', rate: this.opts.rate ?? 150 };
    const child = fork(entry, [JSON.stringify(settings)], {
      execArgv,
      ...(this.opts.child?.execPath ? { execPath: this.opts.child.execPath } : {}),
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    if (child.pid === undefined) {
      // not started at all (the error follows as an event): nothing to wait for or to kill
      child.on('error', () => {});
      throw new Error('no process could be started');
    }
    this.child = child;
    this.started++;
    this.stderrTail = '';
    child.stderr?.on('data', (d: Buffer) => {
      this.stderrTail = (this.stderrTail + d.toString()).slice(-400);
    });
    child.on('message', (reply: SpeechReply) => this.onReply(child, reply));
    child.on('error', (err) => this.fail(child, `the speech process failed: ${err.message}`));
    child.on('exit', (code, signal) => {
      const tail = this.stderrTail.trim().split('\n').at(-1);
      const why = `the speech process ended (${signal ?? `exit code ${code}`}) before it spoke${tail ? `: ${tail}` : ''}`;
      const p = this.pending;
      // Killed by a signal before it said it runs: the kernel's OOM killer on a board short of
      // memory (the child is its first choice), or someone's kill. Not a system where no process
      // can start: espeak's ~100 MB in the daemon itself would only move the next kill there. The
      // sentence fails, and the next starts a fresh process.
      if (p && !this.ready.has(child) && signal === null) {
        // It never ran its code (node under qemu-user: exec of a foreign binary falls back to sh,
        // which exits 2): not a crash of the synthesiser but a process that cannot start.
        this.pending = null;
        clearTimeout(p.timer);
        if (this.child === child) this.child = null;
        this.speakInProcess(p.text, new Error(why)).then(p.resolve, p.reject);
        return;
      }
      this.fail(child, why);
      if (this.child === child) this.child = null;
    });
    this.opts.logger.debug({ speechPid: child.pid }, 'speech process started');
    return child;
  }

  /** A system where the process cannot start (no fork allowed; node under qemu's user emulation,
   * which cannot exec another foreign binary; a child that exits before it runs its code): the
   * daemon speaks in its own process, as before the speech process existed, rather than not at
   * all. Said once in the log. */
  private speakInProcess(text: string, why: Error): Promise<Pcm> {
    this.opts.logger.warn(
      { err: why.message },
      'the speech process cannot start; espeak-ng runs in the daemon process (about 100 MB more)',
    );
    this.inProcess = new EspeakVoice({
      ...(this.opts.voice ? { voice: this.opts.voice } : {}),
      ...(this.opts.rate ? { rate: this.opts.rate } : {}),
      logger: this.opts.logger,
    });
    return this.inProcess.speak(text);
  }

  private onReply(child: ChildProcess, reply: SpeechReply): void {
    if ('ready' in reply) {
      this.ready.add(child);
      return;
    }
    const p = this.pending;
    if (!p || p.id !== reply.id || child !== this.child) return;
    this.pending = null;
    clearTimeout(p.timer);
    if (reply.ok) {
      p.resolve({ rate: reply.rate, samples: reply.samples });
    } else {
      const code = reply.code === 'espeak-load-failed' ? 'espeak-load-failed' : 'espeak-failed';
      p.reject(new AudioError(code, reply.message));
    }
    this.armIdle();
  }

  /** The sentence under way (of this child) fails; the child is not asked again. */
  private fail(child: ChildProcess, message: string): void {
    if (this.child === child) this.child = null;
    const p = this.pending;
    if (!p) return;
    this.pending = null;
    clearTimeout(p.timer);
    p.reject(new AudioError('espeak-failed', message));
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }

  private armIdle(): void {
    this.clearIdle();
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (!this.pending) void this.stop();
    }, this.opts.idleMs ?? 60_000);
    // an idle speech process must not hold the daemon (or a test) open
    this.idleTimer.unref();
    this.child?.unref();
    this.child?.channel?.unref();
  }

  private clearIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  /** End the process (idle, or closing); resolves once it has exited. */
  private stop(): Promise<void> {
    this.clearIdle();
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // held until it has exited: whoever awaits this must see the exit
    child.ref();
    this.fail(child, 'the speech process was stopped');
    this.opts.logger.debug({ speechPid: child.pid }, 'speech process ended');
    child.kill('SIGTERM');
    return exited;
  }
}
