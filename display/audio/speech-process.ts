// The espeak voice, synthesised in a child process (speech-child.ts) that is started on demand and
// ends when idle. espeak-ng's WASM costs ~100 MB while it speaks; in the daemon's own process that
// memory stayed (a heap keeps what it once needed), on a 512 MB board beside the queue, the board's
// frames and the broker. In a child it is given back whenever the office is quiet, and a crash or
// a hang of the synthesiser cannot take the queue with it: the call fails with `espeak-failed`,
// is logged and skipped (the board still shows it), and the next call starts a fresh process.
import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { RateLimitedLog } from '../../device/util/rate-limited-log.ts';
import { buildFile } from '../../device/util/build-root.ts';
import { type AvailableMemory, type CgroupPaths, availableMemory } from '../../device/util/available-memory.ts';
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
  /** the kernel's count of OOM kills so far (`oom_kill` in /proc/vmstat), null when unknown: a
   * SIGKILL that did not come from this voice, with the count risen, is the OOM killer's */
  oomKills?: () => number | null;
  /** after a kill by the OOM killer, no process is started for this long (default 60 s), doubled at
   * each kill in a row up to restMaxMs (default 30 min); a sentence spoken ends the series */
  restMs?: number;
  restMaxMs?: number;
  now?: () => number;
  /** no process is started while the kernel's MemAvailable, or the room under the service's
   * cgroup memory limit, is below this many MiB (default SPEECH_MIN_AVAILABLE_MIB; 0: never held
   * back): the call gets the chime alone (`speech-low-memory`) rather than a process the OOM
   * killer takes. A process already running is used whatever the memory. */
  minAvailableMiB?: number;
  /** where MemAvailable is read (default /proc/meminfo; tests give a file of their own) */
  meminfo?: string;
  /** where this process's cgroup limits are read (default /proc/self/cgroup, /sys/fs/cgroup) */
  cgroup?: CgroupPaths;
  /** the voice began a rest (the extension reports its health) */
  onChange?: () => void;
}

/** `oom_kill` of /proc/vmstat (Linux 4.13+; every kill, the whole system's and a cgroup's), or null. */
export function kernelOomKills(): number | null {
  try {
    const m = /^oom_kill (\d+)$/m.exec(readFileSync('/proc/vmstat', 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** The default of outputs.audio.speechMinAvailableMiB (device/config/outputs-schema.ts, which
 * the daemon does not import): the room a spoken day took beyond what was in use at the process's
 * start, measured in a cgroup limit (~125 MiB: the process's own ~96 MiB, and the daemon's pixels
 * and files written meanwhile); with less, its first sentences take all there is and the OOM
 * killer comes (docs/audio.md, "When memory runs out"). */
export const SPEECH_MIN_AVAILABLE_MIB = 128;

/** Refused starts are logged once, then summed up every 10 minutes (longer while they go on): a
 * day short of memory is a few lines, not one a call (each call logs its chime alone anyway). */
const LOW_MEMORY_LOG_MS = 600_000;

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
  /** processes the kernel's OOM killer took, in all and in a row (a sentence spoken resets it) */
  oomKilled = 0;
  private oomInARow = 0;
  /** the memory there was when the check last let a process start (its start's log line) */
  private roomAtStart: { availableMiB?: number; limit?: AvailableMemory['limit'] } = {};
  /** calls for which no process was started, memory being short (speech-low-memory) */
  lowMemory = 0;
  private readonly lowMemoryLog: RateLimitedLog;
  /** no process is started before this (epoch ms): the voice rests after an OOM kill */
  private restUntil = 0;
  /** the kernel's OOM kill count when the current process started or last answered */
  private oomCountSeen: number | null = null;
  /** processes this voice killed itself (a time-out, a failed send): their SIGKILL is no OOM kill */
  private killedHere = new WeakSet<ChildProcess>();

  constructor(private readonly opts: SpeechProcessOptions) {
    this.lowMemoryLog = new RateLimitedLog(opts.logger, LOW_MEMORY_LOG_MS);
  }

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

  /** The voice rests until then (ISO time), after its process was killed for want of memory; null
   * when it does not. */
  get restsUntil(): string | null {
    return this.restUntil > this.now() ? new Date(this.restUntil).toISOString() : null;
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
    this.lowMemoryLog.close();
    await this.stop();
  }

  private request(text: string): Promise<Pcm> {
    if (this.closed) return Promise.reject(new AudioError('espeak-failed', 'the speech process is closed'));
    if (this.inProcess) return this.inProcess.speak(text);
    if (this.restsUntil !== null) {
      // A new process would need the same memory the last one was killed for: each try is one more
      // OOM kill, and the kernel may take the daemon with it (measured: docs/audio.md).
      return Promise.reject(
        new AudioError(
          'speech-oom-killed',
          `the voice rests until ${this.restsUntil}: its process was killed for want of memory (${this.oomInARow} time(s) in a row)`,
        ),
      );
    }
    if (!this.child) {
      const short = this.memoryShort();
      if (short) return Promise.reject(short);
    }
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
        this.kill(child);
      }, this.opts.timeoutMs ?? 30_000);
      this.pending = { id, text, resolve, reject, timer };
      child.send({ id, text }, (err) => {
        // a child that never ran: its exit follows, and decides (speaks in this process instead)
        if (err && this.ready.has(child)) this.fail(child, `could not reach the speech process: ${err.message}`);
      });
    });
  }

  /** A process would start into a shortage (MemAvailable, or the room under the service's cgroup
   * limit, below the threshold): it would be killed by the OOM killer, perhaps with the daemon
   * (docs/audio.md, "When memory runs out"). Unknown (no /proc/meminfo, no limit): it starts, as
   * before. */
  private memoryShort(): AudioError | null {
    const min = this.opts.minAvailableMiB ?? SPEECH_MIN_AVAILABLE_MIB;
    if (min <= 0) return null;
    const room = availableMemory({ meminfo: this.opts.meminfo, cgroup: this.opts.cgroup });
    const seen = room ? { availableMiB: Math.round(room.mib), limit: room.limit } : null;
    this.roomAtStart = seen ?? {};
    if (!room || !seen || room.mib >= min) return null;
    this.lowMemory++;
    this.lowMemoryLog.warn(
      'speech-low-memory',
      { ...seen, minAvailableMiB: min },
      'the speech process was not started: memory is short (calls get the chime alone)',
    );
    const where = room.limit === 'cgroup' ? "under the service's memory limit (cgroup)" : 'on the board (MemAvailable)';
    return new AudioError(
      'speech-low-memory',
      `the speech process was not started: ${seen.availableMiB} MiB of memory available ${where}, below the ${min} MiB it needs (outputs.audio.speechMinAvailableMiB)`,
    );
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
    this.oomCountSeen = this.oomKills();
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
      if (signal === 'SIGKILL' && !this.killedHere.has(child) && this.oomKillRose()) {
        this.oomKill(child, p !== null && this.child === child);
        return;
      }
      this.fail(child, why);
      if (this.child === child) this.child = null;
    });
    this.opts.logger.debug({ speechPid: child.pid, ...this.roomAtStart }, 'speech process started');
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
    this.oomCountSeen = this.oomKills();
    if (reply.ok) {
      this.oomInARow = 0;
      p.resolve({ rate: reply.rate, samples: reply.samples });
    } else {
      const code = reply.code === 'espeak-load-failed' ? 'espeak-load-failed' : 'espeak-failed';
      p.reject(new AudioError(code, reply.message));
    }
    this.armIdle();
  }

  /** The sentence under way (of this child) fails; the child is not asked again. */
  private fail(
    child: ChildProcess,
    message: string,
    code: 'espeak-failed' | 'speech-oom-killed' = 'espeak-failed',
  ): void {
    if (this.child === child) this.child = null;
    const p = this.pending;
    if (!p) return;
    this.pending = null;
    clearTimeout(p.timer);
    p.reject(new AudioError(code, message));
    if (child.exitCode === null && child.signalCode === null) this.kill(child);
  }

  private kill(child: ChildProcess): void {
    this.killedHere.add(child);
    child.kill('SIGKILL');
  }

  private oomKills(): number | null {
    return (this.opts.oomKills ?? kernelOomKills)();
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /** The kernel killed a process for want of memory since this one started or last answered
   * (unknown: an unexplained SIGKILL is taken for one, the likeliest). */
  private oomKillRose(): boolean {
    const n = this.oomKills();
    return n === null || this.oomCountSeen === null || n > this.oomCountSeen;
  }

  /** The kernel's OOM killer took the process (its oom_score_adj makes it the first choice): the
   * sentence under way fails, and the voice rests, so that calls do not start one process after
   * another into the same shortage, each another OOM kill that may take the daemon too. */
  private oomKill(child: ChildProcess, speaking: boolean): void {
    this.oomKilled++;
    this.oomInARow++;
    const rest = Math.min((this.opts.restMs ?? 60_000) * 2 ** (this.oomInARow - 1), this.opts.restMaxMs ?? 1_800_000);
    this.restUntil = this.now() + rest;
    const message = `the speech process was killed by the kernel's OOM killer (out of memory) ${speaking ? 'while it spoke' : 'while idle'}, ${this.oomInARow} time(s) in a row; the voice rests until ${new Date(this.restUntil).toISOString()} (calls get the chime alone)`;
    this.opts.logger.warn(
      { code: 'speech-oom-killed', speechPid: child.pid, inARow: this.oomInARow, restMs: rest },
      message,
    );
    if (speaking) this.fail(child, message, 'speech-oom-killed');
    if (this.child === child) this.child = null;
    this.opts.onChange?.();
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
