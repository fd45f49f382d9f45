import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Bus, type BusEvents } from '../device/bus.ts';
import { type ConfigInput, configSchema } from '../device/config/schema.ts';
import type { ExtensionContext } from '../device/extension.ts';
import type { QueueService } from '../device/queue/service.ts';
import type { QueueEvent } from '../device/queue/types.ts';
import { AplayAudioOut } from '../display/audio/alsa-out.ts';
import { CHIME_MS } from '../display/audio/chime.ts';
import { createAnnouncerExtension } from '../display/audio/extension.ts';
import { SimAudioOut, simAudioDir, simAudioName } from '../display/audio/sim-out.ts';
import { encodeWav, readWavInfo, silence } from '../display/audio/wav.ts';

const logger = pino({ level: 'silent' });
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'beonho-audio-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

async function script(name: string, body: string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, `#!/bin/sh\n${body}\n`);
  await chmod(file, 0o755);
  return file;
}

const wav = (ms = 50) => encodeWav(silence(22050, ms));

describe('ALSA output (aplay)', () => {
  it('pipes the WAV to aplay -D <device> and reports health', async () => {
    const got = path.join(dir, 'got.wav');
    const args = path.join(dir, 'args');
    const aplay = await script('aplay', `echo "$@" > ${args}\ncat > ${got}`);
    const out = new AplayAudioOut({ device: 'plughw:1,0', aplay, logger });
    const bytes = wav(200);
    await out.play(bytes, 'test');
    expect(new Uint8Array(await readFile(got))).toEqual(bytes);
    expect((await readFile(args, 'utf8')).trim()).toBe('-q -N -D plughw:1,0 -t wav -');
    expect(out.health()).toMatchObject({ connected: true, lastError: null, played: 1, device: 'plughw:1,0' });
  });

  it('a missing aplay is audio-aplay-missing: rejected, reported, never thrown synchronously', async () => {
    const out = new AplayAudioOut({ device: 'default', aplay: path.join(dir, 'no-such-aplay'), logger });
    await expect(out.play(wav(), 'test')).rejects.toMatchObject({
      code: 'audio-aplay-missing',
      message: expect.stringContaining('alsa-utils'),
    });
    expect(out.health()).toMatchObject({ connected: false, lastError: 'audio-aplay-missing', failed: 1 });
    expect(out.health().lastErrorAt).toEqual(expect.any(String));
  });

  it('a missing sound card is audio-device-missing, even when aplay quits before reading the sound', async () => {
    // aplay's own message when the PCM cannot be opened; exits without reading stdin (EPIPE for us)
    const aplay = await script(
      'aplay',
      `echo 'aplay: main:850: audio open error: No such file or directory' >&2\nexit 1`,
    );
    const out = new AplayAudioOut({ device: 'hw:5,0', aplay, logger });
    await expect(out.play(wav(3000), 'test')).rejects.toMatchObject({
      code: 'audio-device-missing',
      message: expect.stringMatching(/hw:5,0.*aplay -L/),
    });
  });

  it('a busy device is audio-device-busy; any other failure audio-play-failed', async () => {
    const busy = await script(
      'busy',
      `cat >/dev/null; echo 'aplay: main:850: audio open error: Device or resource busy' >&2; exit 1`,
    );
    await expect(new AplayAudioOut({ device: 'default', aplay: busy, logger }).play(wav(), 't')).rejects.toMatchObject({
      code: 'audio-device-busy',
    });
    const odd = await script('odd', `cat >/dev/null; echo 'something else' >&2; exit 3`);
    await expect(new AplayAudioOut({ device: 'default', aplay: odd, logger }).play(wav(), 't')).rejects.toMatchObject({
      code: 'audio-play-failed',
      message: expect.stringContaining('something else'),
    });
  });

  it('a device another program holds fails at once as audio-device-busy, not after the time-out', async () => {
    // aplay on a held device: a blocking open waits until the device is free, a non-blocking one
    // (-N) fails with EBUSY; the time-out is long, so only the second gives the busy code
    const held = await script(
      'held',
      `case " $* " in *" -N "*) echo 'aplay: main:852: audio open error: Device or resource busy' >&2; exit 1;; esac
exec sleep 30`,
    );
    const out = new AplayAudioOut({ device: 'hw:0,0', aplay: held, logger, graceMs: 20_000 });
    await expect(out.play(wav(10), 't')).rejects.toMatchObject({
      code: 'audio-device-busy',
      message: expect.stringContaining('busy'),
    });
    await out.close();
  });

  it('kills an aplay that never ends: audio-play-timeout', async () => {
    const stuck = await script('stuck', 'exec sleep 30');
    const out = new AplayAudioOut({ device: 'default', aplay: stuck, logger, graceMs: 200 });
    await expect(out.play(wav(10), 't')).rejects.toMatchObject({ code: 'audio-play-timeout' });
  });
});

describe('simulated output', () => {
  it('writes <dir>/<seq>.wav, zero-padded, counting on from files already there', async () => {
    const audio = simAudioDir(dir);
    expect(audio).toBe(path.join(dir, 'sim', 'audio'));
    const first = new SimAudioOut({ dir: audio, logger });
    await first.play(wav(), 'a');
    await first.play(wav(), 'b');
    expect(await readdir(audio)).toEqual(['000001.wav', '000002.wav']);
    expect(first.lastFile).toBe(path.join(audio, '000002.wav'));
    // A restarted daemon does not overwrite earlier announcements.
    const second = new SimAudioOut({ dir: audio, logger });
    await second.play(wav(), 'c');
    expect((await readdir(audio)).sort()).toEqual(['000001.wav', '000002.wav', '000003.wav']);
    expect(simAudioName(1234567)).toBe('1234567.wav');
    expect(readWavInfo(await readFile(path.join(audio, '000003.wav'))).durationMs).toBeCloseTo(50, 0);
  });

  it('keeps only the newest files', async () => {
    const out = new SimAudioOut({ dir, logger, keep: 2 });
    for (let i = 0; i < 4; i++) await out.play(wav(), String(i));
    expect((await readdir(dir)).sort()).toEqual(['000003.wav', '000004.wav']);
  });

  it('reports an unwritable directory as audio-sim-write-failed', async () => {
    const file = path.join(dir, 'a-file');
    await writeFile(file, '');
    const out = new SimAudioOut({ dir: path.join(file, 'audio'), logger });
    await expect(out.play(wav(), 'x')).rejects.toMatchObject({ code: 'audio-sim-write-failed' });
    expect(out.health()).toMatchObject({ connected: false, lastError: 'audio-sim-write-failed' });
  });
});

describe('createAnnouncerExtension', () => {
  // the speech process's memory check reads nothing of this machine (a busy runner, a Pi, a CI
  // container's limit): calls are spoken whatever it has free
  const NO_MACHINE_MEMORY = { meminfo: '/nonexistent/meminfo', cgroup: { procCgroup: '/nonexistent/cgroup' } };
  const baseConfig = (audio: Record<string, unknown>): ConfigInput => ({
    office: { id: 'test-office', name: '테스트동 행정복지센터' },
    services: [{ id: 'resident', name: '주민등록', numbers: { from: 1001, to: 1999 } }],
    counters: [
      { id: '3', name: '3번 창구', services: ['resident'] },
      { id: 'p', name: '민원실', services: ['resident'] },
    ],
    outputs: { audio } as ConfigInput['outputs'],
  });

  function context(audio: Record<string, unknown>) {
    const bus = new Bus();
    const health: Array<BusEvents['healthChanged']> = [];
    bus.on('healthChanged', health, (h) => health.push(h));
    const ctx: ExtensionContext = {
      config: configSchema.parse(baseConfig(audio)),
      bus,
      queue: {} as QueueService,
      logger,
      dataDir: dir,
      now: () => 0,
    };
    return { ctx, bus, health };
  }

  let seq = 0;
  const event = (type: 'ticket.called' | 'ticket.recalled', number: string, counter: string): QueueEvent => ({
    v: 1,
    office: 'test-office',
    seq: ++seq,
    id: `e${seq}`,
    at: '2026-11-26T09:00:00.000Z',
    type,
    counter,
    ticket: { number, service: 'resident', channel: 'kiosk', priority: false },
  });

  it('turns ticket.called and ticket.recalled into WAVs of chime + Korean call in sim/audio', async () => {
    const { ctx, bus } = context({ driver: 'sim' });
    const ext = createAnnouncerExtension(ctx, { speech: NO_MACHINE_MEMORY });
    await ext.start();
    bus.emit('queueEvents', {
      events: [event('ticket.called', '1035', '3'), event('ticket.called', '1036', 'p')],
    });
    await ext.idle();
    bus.emit('queueEvents', { events: [event('ticket.recalled', '1035', '3')] });
    await ext.idle();
    const audio = simAudioDir(dir);
    const files = (await readdir(audio)).sort();
    expect(files).toEqual(['000001.wav', '000002.wav', '000003.wav']);
    const [a, b, c] = await Promise.all(files.map((f) => readFile(path.join(audio, f))));
    const info = readWavInfo(a!);
    expect(info).toMatchObject({ format: 1, channels: 1, bitsPerSample: 16, rate: 22050 });
    expect(info.durationMs).toBeGreaterThan(CHIME_MS + 2000);
    expect(info.durationMs).toBeLessThan(CHIME_MS + 8000);
    expect(c!.equals(a!)).toBe(true); // the recall says the same
    expect(b!.equals(a!)).toBe(false);
    expect(ext.health()).toMatchObject({ connected: true, lastError: null, announced: 3, failedCalls: 0 });
    await ext.stop();
    // after stop, calls are not heard
    bus.emit('queueEvents', { events: [event('ticket.called', '1040', '3')] });
    await ext.idle();
    expect(await readdir(audio)).toHaveLength(3);
  });

  it('with ALSA and no aplay: start and calls go on, the error is in health and on the bus', async () => {
    const { ctx, bus, health } = context({ driver: 'alsa', aplay: path.join(dir, 'missing-aplay'), chime: true });
    const ext = createAnnouncerExtension(ctx, { speech: NO_MACHINE_MEMORY });
    await expect(ext.start()).resolves.toBeUndefined();
    bus.emit('queueEvents', { events: [event('ticket.called', '1001', '3')] });
    await ext.idle();
    await expect.poll(() => ext.health().lastError).toBe('audio-aplay-missing');
    expect(ext.health()).toMatchObject({
      connected: false,
      lastCallError: 'audio-aplay-missing',
      failedCalls: 1,
      announced: 0,
    });
    expect(health.some((h) => h.component === 'audio' && h.health.lastError === 'audio-aplay-missing')).toBe(true);
    await ext.stop();
  });

  it('does nothing when disabled or driver none', async () => {
    for (const audio of [{ enabled: false }, { driver: 'none' }]) {
      const { ctx, bus } = context(audio);
      const ext = createAnnouncerExtension(ctx, { speech: NO_MACHINE_MEMORY });
      await ext.start();
      bus.emit('queueEvents', { events: [event('ticket.called', '1001', '3')] });
      await ext.idle();
      expect(ext.health()).toMatchObject({ connected: false, disabled: true });
      await expect(readdir(simAudioDir(dir))).rejects.toMatchObject({ code: 'ENOENT' });
      await ext.stop();
    }
  });
});
