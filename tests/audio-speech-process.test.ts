// The espeak voice runs in a child process (display/audio/speech-process.ts): started by the first
// sentence, ended when idle, and never able to take the daemon down: a crash or a hang fails the
// call it was speaking (espeak-failed), the board still shows the call, and the next call starts a
// fresh process.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { calledEvent, memoryOut, officeWithAudio } from './audio-helpers.ts';
import { Bus } from '../device/bus.ts';
import { configSchema } from '../device/config/schema.ts';
import { healthy } from '../device/ports/health.ts';
import type { AudioOut, DisplaySink, Frame, PatchFrame } from '../device/ports/outputs.ts';
import type { QueueService } from '../device/queue/service.ts';
import { callParts } from '../display/audio/call-sentence.ts';
import { createAnnouncerExtension } from '../display/audio/extension.ts';
import { SPEECH_OOM_SCORE_ADJ } from '../display/audio/speech-child.ts';
import { memAvailableMiB } from '../device/util/available-memory.ts';
import { SPEECH_MIN_AVAILABLE_MIB, SpeechProcessVoice } from '../display/audio/speech-process.ts';
import { durationMs } from '../display/audio/wav.ts';
import { BoardExtension } from '../display/board-extension.ts';
import { prepareRenderer } from '../display/board/render.ts';
import { morningSnapshot } from '../bench/lib/board-morning.ts';

const logger = pino({ level: 'silent' });
// plain JavaScript: it starts in a few tens of milliseconds, well inside the timeouts below
const FAKE = { entry: path.join(import.meta.dirname, 'support/speech-child-fake.mjs'), execArgv: [] };

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until(what: string, ok: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The pid of the process the voice starts for a sentence just asked for, once it runs. */
async function startedPid(voice: SpeechProcessVoice): Promise<number> {
  await until('the speech process', () => voice.pid !== null && voice.childReady);
  return voice.pid!;
}

const voices: SpeechProcessVoice[] = [];
const NO_CGROUP = { procCgroup: '/nonexistent/cgroup' };
const NO_MEMINFO = '/nonexistent/meminfo';

function speechVoice(o: Partial<ConstructorParameters<typeof SpeechProcessVoice>[0]> = {}): SpeechProcessVoice {
  // the machine's own memory (a busy CI runner's, a Pi's) and cgroup limit (a CI container's) are
  // not the test's: the memory check has nothing to read unless a test gives it a file
  const v = new SpeechProcessVoice({ logger, cgroup: NO_CGROUP, meminfo: NO_MEMINFO, ...o });
  voices.push(v);
  return v;
}

afterEach(async () => {
  for (const v of voices.splice(0)) await v.close();
});

describe('the speech process', () => {
  it('is started by the first sentence, speaks the Korean call, and ends when idle', async () => {
    const voice = speechVoice({ idleMs: 300 });
    expect(voice.pid).toBeNull();
    const pcm = await voice.synth(callParts('1035', '3', '3번 창구'));
    expect(pcm.rate).toBeGreaterThanOrEqual(16000);
    expect(durationMs(pcm)).toBeGreaterThan(2000);
    expect(durationMs(pcm)).toBeLessThan(8000);
    const pid = voice.pid!;
    expect(pid).not.toBe(process.pid);
    expect(alive(pid)).toBe(true);
    // the first the kernel kills when memory runs out, before the daemon
    expect(Number(readFileSync(`/proc/${pid}/oom_score_adj`, 'utf8'))).toBe(SPEECH_OOM_SCORE_ADJ);
    await until('the idle process to end', () => voice.pid === null && !alive(pid));
    // the next sentence starts a new one
    await voice.speak('일번 고객님');
    expect(voice.started).toBe(2);
    expect(voice.pid).not.toBe(pid);
  });

  it('stays up between sentences that come before it is idle', async () => {
    const voice = speechVoice({ idleMs: 60_000 });
    await voice.speak('일번 고객님');
    const pid = voice.pid;
    await voice.speak('이번 고객님');
    expect(voice.pid).toBe(pid);
    expect(voice.started).toBe(1);
  });

  it('fails only the sentence it was speaking when it is killed, and the next one starts it again', async () => {
    const voice = speechVoice({ child: FAKE });
    const said = voice.speak('느림');
    // killed while it works on the sentence (the fake answers it after 5 s)
    process.kill(await startedPid(voice), 'SIGKILL');
    await expect(said).rejects.toMatchObject({ code: 'espeak-failed', message: expect.stringContaining('SIGKILL') });
    expect((await voice.speak('일번 고객님')).samples.length).toBe(4410);
    expect(voice.started).toBe(2);
  });

  it('fails a sentence whose process crashes (fake child)', async () => {
    const voice = speechVoice({ child: FAKE });
    await expect(voice.speak('천삼십오번 고객님')).rejects.toMatchObject({
      code: 'espeak-failed',
      message: expect.stringContaining('exit code 3'),
    });
    expect(voice.pid).toBeNull();
    expect((await voice.speak('일번 고객님')).samples.length).toBe(4410);
  });

  it('kills a process that does not answer within the timeout', async () => {
    const voice = speechVoice({ child: FAKE, timeoutMs: 1500 });
    const said = voice.speak('멈춤');
    // started or still starting when the timeout strikes: either way it is killed
    await until('the speech process', () => voice.pid !== null);
    const pid = voice.pid!;
    await expect(said).rejects.toMatchObject({ code: 'espeak-failed', message: expect.stringContaining('no speech') });
    await until('the hung process to be killed', () => !alive(pid));
    expect((await voice.speak('일번 고객님')).samples.length).toBe(4410);
  });

  it('close() ends the process and refuses later sentences', async () => {
    const voice = speechVoice({ child: FAKE });
    await voice.speak('일번 고객님');
    const pid = voice.pid!;
    await voice.close();
    expect(alive(pid)).toBe(false);
    await expect(voice.speak('이번 고객님')).rejects.toMatchObject({ code: 'espeak-failed' });
  });
});

describe('a speech process the kernel kills for want of memory', () => {
  it('fails the sentence with speech-oom-killed and rests, the rest doubling at each kill in a row', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, { write: (l: string) => lines.push(l) });
    let kills = 0;
    let t = Date.parse('2026-12-03T01:00:00Z');
    const voice = speechVoice({
      logger: log,
      child: FAKE,
      oomKills: () => kills,
      now: () => t,
      restMs: 60_000,
      restMaxMs: 100_000,
    });
    /** the OOM killer takes the process while it speaks a sentence (the fake takes 5 s for 느림) */
    const killedWhileSpeaking = async (): Promise<void> => {
      const said = voice.speak('느림');
      const pid = await startedPid(voice);
      kills++;
      process.kill(pid, 'SIGKILL');
      await expect(said).rejects.toMatchObject({ code: 'speech-oom-killed', message: expect.stringContaining('OOM') });
    };
    await killedWhileSpeaking();
    expect(voice.restsUntil).toBe(new Date(t + 60_000).toISOString());
    // while it rests, a call starts no process (each would be one more OOM kill)
    await expect(voice.speak('일번 고객님')).rejects.toMatchObject({ code: 'speech-oom-killed' });
    expect(voice.started).toBe(1);
    t += 60_000;
    await killedWhileSpeaking();
    expect(voice.restsUntil).toBe(new Date(t + 100_000).toISOString()); // 120 s, capped
    t += 100_000;
    // a sentence spoken ends the series: the next kill rests 60 s again
    expect((await voice.speak('일번 고객님')).samples.length).toBe(4410);
    await killedWhileSpeaking();
    expect(voice.restsUntil).toBe(new Date(t + 60_000).toISOString());
    expect(voice.oomKilled).toBe(3);
    expect(voice.started).toBe(3); // the last kill took the process that had spoken
    expect(lines.filter((l) => l.includes('"code":"speech-oom-killed"'))).toHaveLength(3);
  });

  it('a SIGKILL the OOM killer did not send is a crash: espeak-failed, no rest', async () => {
    const voice = speechVoice({ child: FAKE, oomKills: () => 7 });
    const said = voice.speak('느림');
    process.kill(await startedPid(voice), 'SIGKILL');
    await expect(said).rejects.toMatchObject({ code: 'espeak-failed' });
    expect(voice.restsUntil).toBeNull();
    expect(voice.oomKilled).toBe(0);
    expect((await voice.speak('일번 고객님')).samples.length).toBe(4410);
  });

  it('in the daemon: an idle process killed makes the next call the chime alone, and the health says so', async () => {
    const config = officeWithAudio();
    const bus = new Bus();
    const ctx = { config, bus, logger, dataDir: '/nonexistent', now: () => Date.now() };
    const played: number[] = [];
    const out = memoryOut(played);
    let kills = 0;
    const voice = speechVoice({ child: FAKE, oomKills: () => kills });
    const audio = createAnnouncerExtension(ctx, { out, voice });
    await audio.start();
    try {
      bus.emit('queueEvents', { events: [calledEvent('1036', 901)] });
      await audio.idle();
      const pid = voice.pid!;
      kills++;
      process.kill(pid, 'SIGKILL');
      await until('the kill to be seen', () => voice.oomKilled === 1);
      bus.emit('queueEvents', { events: [calledEvent('1037', 902)] });
      await audio.idle();
      // chime (0.8 s) + 150 ms + the fake's 200 ms; then the chime alone
      expect(played).toEqual([1200, 800]);
      expect(voice.started).toBe(1);
      expect(audio.health()).toMatchObject({
        announced: 1,
        failedCalls: 1,
        chimeOnly: 1,
        lastCallError: 'speech-oom-killed',
        speechOomKilled: 1,
        voiceRestsUntil: expect.any(String),
      });
    } finally {
      await audio.stop();
    }
  });
});

describe('a board short of memory', () => {
  /** a /proc/meminfo as a 512 MB board's kernel writes it, with MemAvailable set by the test */
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  function meminfo(availableMiB: number | null): { file: string; set: (mib: number | null) => void } {
    const dir = mkdtempSync(path.join(tmpdir(), 'meminfo-'));
    dirs.push(dir);
    const file = path.join(dir, 'meminfo');
    const set = (mib: number | null): void =>
      writeFileSync(
        file,
        `MemTotal:         443164 kB\nMemFree:           21480 kB\n${
          mib === null ? '' : `MemAvailable:   ${String(mib * 1024).padStart(8)} kB\n`
        }Buffers:           10240 kB\nCached:            90112 kB\n`,
      );
    set(availableMiB);
    return { file, set };
  }

  it('reads MemAvailable in MiB; null where it is missing or cannot be read', () => {
    expect(memAvailableMiB(meminfo(187).file)).toBe(187);
    expect(memAvailableMiB(meminfo(null).file)).toBeNull();
    expect(memAvailableMiB('/nonexistent/meminfo')).toBeNull();
  });

  it('starts no process below the threshold (speech-low-memory, logged once), and uses one already running', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, { write: (l: string) => lines.push(l) });
    const mem = meminfo(60);
    const voice = speechVoice({ logger: log, child: FAKE, meminfo: mem.file, minAvailableMiB: 100 });
    for (const text of ['일번 고객님', '이번 고객님', '삼번 고객님']) {
      await expect(voice.speak(text)).rejects.toMatchObject({
        code: 'speech-low-memory',
        message: expect.stringContaining('60 MiB'),
      });
    }
    expect(voice.started).toBe(0);
    expect(voice.lowMemory).toBe(3);
    // a busy hour of calls is one line, not one a call
    const low = () => lines.filter((l) => l.includes('"code":"speech-low-memory"')).map((l) => JSON.parse(l));
    expect(low()).toHaveLength(1);
    expect(low()[0]).toMatchObject({ level: 40, availableMiB: 60, minAvailableMiB: 100 });
    // memory back: the next call starts the process
    mem.set(300);
    expect((await voice.speak('사번 고객님')).samples.length).toBe(4410);
    expect(voice.started).toBe(1);
    // short again while it runs: the process there is used (its memory is already taken)
    mem.set(60);
    expect((await voice.speak('오번 고객님')).samples.length).toBe(4410);
    expect(voice.started).toBe(1);
    expect(voice.lowMemory).toBe(3);
    // closing sums up what the rate limit held back
    await voice.close();
    expect(low()).toHaveLength(2);
    expect(low()[1]).toMatchObject({ suppressed: 2 });
  });

  it("holds back under the service's cgroup limit too, with the board's memory free", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cgroup-'));
    dirs.push(dir);
    const unit = path.join(dir, 'system.slice', 'beonho.service');
    mkdirSync(unit, { recursive: true });
    writeFileSync(path.join(dir, 'self-cgroup'), '0::/system.slice/beonho.service\n');
    // MemoryMax=256M, 200 MiB charged, 10 of it page cache the kernel drops first: 66 MiB of room
    writeFileSync(path.join(unit, 'memory.max'), `${256 * 2 ** 20}\n`);
    writeFileSync(path.join(unit, 'memory.current'), `${200 * 2 ** 20}\n`);
    writeFileSync(path.join(unit, 'memory.stat'), `anon 199229440\ninactive_file ${10 * 2 ** 20}\n`);
    const cgroup = { procCgroup: path.join(dir, 'self-cgroup'), root: dir };
    const voice = speechVoice({ child: FAKE, meminfo: meminfo(3000).file, cgroup, minAvailableMiB: 100 });
    await expect(voice.speak('일번 고객님')).rejects.toMatchObject({
      code: 'speech-low-memory',
      message: expect.stringContaining("66 MiB of memory available under the service's memory limit (cgroup)"),
    });
    expect(voice.started).toBe(0);
    // the limit raised (systemctl set-property beonho MemoryMax=512M): it starts
    writeFileSync(path.join(unit, 'memory.max'), `${512 * 2 ** 20}\n`);
    expect((await voice.speak('이번 고객님')).samples.length).toBe(4410);
    expect(voice.started).toBe(1);
  });

  it('starts as before where MemAvailable cannot be read (not Linux), or the threshold is 0', async () => {
    const none = speechVoice({ child: FAKE, meminfo: NO_MEMINFO, minAvailableMiB: 100 });
    expect((await none.speak('일번 고객님')).samples.length).toBe(4410);
    const old = speechVoice({ child: FAKE, meminfo: meminfo(null).file, minAvailableMiB: 100 });
    expect((await old.speak('일번 고객님')).samples.length).toBe(4410);
    const off = speechVoice({ child: FAKE, meminfo: meminfo(1).file, minAvailableMiB: 0 });
    expect((await off.speak('일번 고객님')).samples.length).toBe(4410);
  });

  it('in the daemon: the call gets the chime alone, and the health says why (outputs.audio.speechMinAvailableMiB)', async () => {
    const config = officeWithAudio({ speechMinAvailableMiB: 80 });
    // the schema's default is the voice's (the daemon does not load the schema: device/config/load-isolated.ts)
    expect(configSchema.parse({ ...config, outputs: { audio: {} } }).outputs.audio.speechMinAvailableMiB).toBe(
      SPEECH_MIN_AVAILABLE_MIB,
    );
    for (const bad of [-1, 1.5, 'lots'])
      expect(() => configSchema.parse({ ...config, outputs: { audio: { speechMinAvailableMiB: bad } } })).toThrow();
    const bus = new Bus();
    const ctx = { config, bus, logger, dataDir: '/nonexistent', now: () => Date.now() };
    const played: number[] = [];
    const out = memoryOut(played);
    // 70 MiB: below the configured 80; then 90: enough for 80, though not for the default 128
    const mem = meminfo(70);
    const audio = createAnnouncerExtension(ctx, {
      out,
      speech: { child: FAKE, meminfo: mem.file, cgroup: NO_CGROUP },
    });
    await audio.start();
    try {
      bus.emit('queueEvents', { events: [calledEvent('1036', 901)] });
      await audio.idle();
      expect(audio.health()).toMatchObject({
        announced: 0,
        chimeOnly: 1,
        lastCallError: 'speech-low-memory',
        speechLowMemory: 1,
      });
      mem.set(90);
      bus.emit('queueEvents', { events: [calledEvent('1037', 902)] });
      await audio.idle();
      // the chime alone; then chime (0.8 s) + 150 ms + the fake's 200 ms
      expect(played).toEqual([800, 1200]);
      expect(audio.health()).toMatchObject({ announced: 1, chimeOnly: 1, speechLowMemory: 1 });
    } finally {
      await audio.stop();
    }
  });
});

describe('a crash of the speech process in the daemon', () => {
  it('never stops the announcements, and the board still shows the call', async () => {
    await prepareRenderer();
    const config = officeWithAudio({ chime: false });
    const bus = new Bus();
    const snap = morningSnapshot();
    const queue = { snapshot: () => structuredClone(snap) } as unknown as QueueService;
    const ctx = { config, bus, queue, logger, dataDir: '/nonexistent', now: () => Date.now() };
    const frames: Array<Frame | PatchFrame> = [];
    const sink: DisplaySink = {
      kind: 'memory',
      open: async () => {},
      write: async (f) => {
        frames.push(f);
      },
      close: async () => {},
      health: () => healthy({}),
    };
    const played: string[] = [];
    const out: AudioOut = {
      kind: 'memory',
      play: async (_wav, label) => {
        played.push(label);
      },
      close: async () => {},
      health: () => healthy({}),
    };
    const voice = speechVoice({ child: FAKE });
    const board = new BoardExtension(ctx, {
      outputs: [{ sink, target: { kind: 'board', layout: 'landscape' }, width: 1920, height: 1080 }],
    });
    const audio = createAnnouncerExtension(ctx, { out, voice });
    await board.start();
    await audio.start();
    try {
      const framesBefore = frames.length;
      bus.emit('queueEvents', { events: [calledEvent('1035', 901)] });
      await board.idle();
      await audio.idle();
      expect(board.model()?.highlight?.ticket).toBe('1035');
      expect(frames.length).toBeGreaterThan(framesBefore);
      expect(audio.health()).toMatchObject({ failedCalls: 1, lastCallError: 'espeak-failed', announced: 0 });
      expect(played).toEqual([]);
      bus.emit('queueEvents', { events: [calledEvent('1036', 902)] });
      await audio.idle();
      expect(audio.health()).toMatchObject({ failedCalls: 1, announced: 1 });
      expect(played).toEqual(['1036번 고객님, 3번 창구로 오십시오']);
    } finally {
      await audio.stop();
      await board.stop();
    }
    expect(voice.pid).toBeNull();
  });
});

describe('where no process can be started', () => {
  it('speaks in the daemon process when the process ends before it runs its code (qemu-user)', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, { write: (l: string) => lines.push(l) });
    // node refuses the option and exits at once, as sh does for a foreign binary under qemu-user
    const voice = speechVoice({ logger: log, child: { ...FAKE, execArgv: ['--no-such-node-option'] } });
    expect(durationMs(await voice.speak('일번 고객님'))).toBeGreaterThan(400);
    expect(voice.started).toBe(1);
    expect(durationMs(await voice.speak('이번 고객님'))).toBeGreaterThan(400);
    expect(voice.started).toBe(1);
    expect(lines.filter((l) => l.includes('the speech process cannot start'))).toHaveLength(1);
  });

  it('a process killed before it runs (the OOM killer) fails the sentence, and espeak stays out of the daemon', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, { write: (l: string) => lines.push(l) });
    const voice = speechVoice({
      logger: log,
      child: { entry: path.join(import.meta.dirname, 'support/speech-child-killed.mjs'), execArgv: [] },
    });
    for (const text of ['일번 고객님', '이번 고객님']) {
      await expect(voice.speak(text)).rejects.toMatchObject({
        code: 'espeak-failed',
        message: expect.stringContaining('SIGKILL'),
      });
    }
    expect(voice.started).toBe(2); // a fresh process each time, none in the daemon
    expect(lines.filter((l) => l.includes('the speech process cannot start'))).toHaveLength(0);
  });

  it('speaks in the daemon process instead, and says so once', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, { write: (l: string) => lines.push(l) });
    const voice = speechVoice({ logger: log, child: { ...FAKE, execPath: '/nonexistent/node' } });
    // the real espeak answers, not the fake's 200 ms tone
    expect(durationMs(await voice.speak('일번 고객님'))).toBeGreaterThan(400);
    expect(durationMs(await voice.speak('이번 고객님'))).toBeGreaterThan(400);
    expect(voice.pid).toBeNull();
    expect(voice.started).toBe(0);
    expect(lines.filter((l) => l.includes('the speech process cannot start'))).toHaveLength(1);
  });
});
