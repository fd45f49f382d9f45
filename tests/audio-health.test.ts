// The audio component's counters (`announced`, `failedCalls`, `chimeOnly`) reach the device status
// (status.json, `npm run status`, the MQTT status) even when no error changes: they travel on the
// bus's healthChanged, which the announcer used to emit only when its error or connection changed,
// so the status kept the count of the start (0) all day.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { calledEvent, memoryOut, officeWithAudio } from './audio-helpers.ts';
import { Bus } from '../device/bus.ts';
import { createHealthExtension } from '../device/health-extension.ts';
import type { SpokenPart } from '../display/audio/call-sentence.ts';
import { AudioError } from '../display/audio/errors.ts';
import { HEALTH_COUNTS_EVERY_MS } from '../device/health-counts.ts';
import { createAnnouncerExtension } from '../display/audio/extension.ts';
import type { Voice } from '../display/audio/voice.ts';

const logger = pino({ level: 'silent' });

const voice: Voice = {
  kind: 'fake',
  load: async () => {},
  synth: async (_parts: SpokenPart[]) => ({ rate: 8000, samples: new Int16Array(800).fill(1000) }),
};

const dirs: string[] = [];
afterEach(() => {
  vi.useRealTimers();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** The office, its bus and data dir, and an audio output in memory. */
function office() {
  const dir = mkdtempSync(path.join(tmpdir(), 'audio-health-'));
  dirs.push(dir);
  const bus = new Bus();
  const ctx = { config: officeWithAudio(), bus, logger, dataDir: dir, now: () => Date.now() };
  return { dir, bus, ctx, out: memoryOut() };
}

describe('the audio counts in the device status', () => {
  it('follow the calls announced, at most once per HEALTH_COUNTS_EVERY_MS, with no error changing', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { dir, bus, ctx, out } = office();
    const emitted: number[] = [];
    bus.on('healthChanged', emitted, ({ component, health }) => {
      if (component === 'audio') emitted.push(health.announced as number);
    });
    const health = createHealthExtension(ctx, { bytesWritten: () => 0, dir, everyMs: 3_600_000 });
    const audio = createAnnouncerExtension(ctx, { out, voice });
    await health.start();
    await audio.start();
    try {
      expect(emitted).toEqual([0]);
      for (const [i, ticket] of ['1001', '1002', '1003'].entries()) {
        bus.emit('queueEvents', { events: [calledEvent(ticket, 900 + i)] });
        await audio.idle();
      }
      // three calls, one report, once the interval is over: not one status a call
      expect(emitted).toEqual([0]);
      await vi.advanceTimersByTimeAsync(HEALTH_COUNTS_EVERY_MS);
      expect(emitted).toEqual([0, 3]);
      expect((await health.current()).components.audio).toMatchObject({ announced: 3, chimeOnly: 0 });
      // nothing new: nothing more
      await vi.advanceTimersByTimeAsync(HEALTH_COUNTS_EVERY_MS * 2);
      expect(emitted).toEqual([0, 3]);
      expect((await health.current()).components.audio).toMatchObject({ lastCallVoiced: true });
    } finally {
      await audio.stop();
      await health.stop();
      bus.removeListeners(emitted);
    }
  });

  it('are not sent after stop: the call that was playing when it stopped arms no timer', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { bus, ctx, out } = office();
    let release = (): void => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const slow: Voice = { ...voice, synth: async (parts: SpokenPart[]) => gate.then(() => voice.synth(parts)) };
    const emitted: number[] = [];
    bus.on('healthChanged', emitted, ({ component, health }) => {
      if (component === 'audio') emitted.push(health.announced as number);
    });
    const audio = createAnnouncerExtension(ctx, { out, voice: slow });
    await audio.start();
    try {
      bus.emit('queueEvents', { events: [calledEvent('1001', 900)] });
      await vi.advanceTimersByTimeAsync(0);
      // stopped while the call is synthesised: the call ends, then the extension is stopped
      const stopped = audio.stop();
      release();
      await stopped;
      await vi.advanceTimersByTimeAsync(HEALTH_COUNTS_EVERY_MS * 2);
      expect(emitted).toEqual([0]);
    } finally {
      bus.removeListeners(emitted);
    }
  });

  it('say at once whether the latest call was spoken: false while the voice fails, true again after', async () => {
    const { bus, ctx, out } = office();
    let failing = true;
    const flaky: Voice = {
      kind: 'fake',
      load: async () => {},
      synth: async (parts: SpokenPart[]) => {
        if (failing) throw new AudioError('speech-low-memory', 'memory is short');
        return voice.synth(parts);
      },
    };
    const emitted: unknown[] = [];
    bus.on('healthChanged', emitted, ({ component, health }) => {
      if (component === 'audio') emitted.push(health.lastCallVoiced);
    });
    const audio = createAnnouncerExtension(ctx, { out, voice: flaky });
    await audio.start();
    try {
      expect(emitted).toEqual([null]);
      bus.emit('queueEvents', { events: [calledEvent('1001', 900)] });
      await audio.idle();
      expect(emitted).toEqual([null, false]);
      expect(audio.health()).toMatchObject({ lastCallVoiced: false, lastCallError: 'speech-low-memory', chimeOnly: 1 });
      failing = false;
      bus.emit('queueEvents', { events: [calledEvent('1002', 901)] });
      await audio.idle();
      // the last failure stays named; what holds now has changed, and is told at once
      expect(emitted).toEqual([null, false, true]);
      expect(audio.health()).toMatchObject({ lastCallVoiced: true, lastCallError: 'speech-low-memory', announced: 1 });
    } finally {
      await audio.stop();
      bus.removeListeners(emitted);
    }
  });
});
