// An office with one counter and audio, and its calls, for the announcer's tests in the daemon's
// wiring (audio-health, audio-speech-process).
import { type Config, configSchema } from '../device/config/schema.ts';
import type { AudioOut } from '../device/ports/outputs.ts';
import { healthy } from '../device/ports/health.ts';
import type { QueueEvent } from '../device/queue/types.ts';
import { decodeWav, durationMs } from '../display/audio/wav.ts';

/** Office yeoksam1: service resident (1001-1999) at counter 3, audio on the simulator with `audio`. */
export function officeWithAudio(audio: Record<string, unknown> = {}): Config {
  return configSchema.parse({
    office: { id: 'yeoksam1', name: '역삼1동 행정복지센터' },
    services: [{ id: 'resident', name: '주민등록 등·초본', numbers: { from: 1001, to: 1999 } }],
    counters: [{ id: '3', name: '3번 창구', services: ['resident'] }],
    outputs: { audio: { driver: 'sim', ...audio } },
  });
}

/** `ticket` called to counter 3, as the queue emits it. */
export const calledEvent = (ticket: string, seq: number): QueueEvent => ({
  v: 1,
  office: 'yeoksam1',
  seq,
  id: `e-${seq}`,
  at: new Date().toISOString(),
  type: 'ticket.called',
  ticket: { number: ticket, service: 'resident', channel: 'kiosk', priority: false },
  counter: '3',
});

/** An audio output in memory: each WAV played goes into `played` as its length, to 100 ms. */
export function memoryOut(played: number[] = []): AudioOut {
  return {
    kind: 'memory',
    play: async (wav) => {
      played.push(Math.round(durationMs(decodeWav(wav)) / 100) * 100);
    },
    close: async () => {},
    health: () => healthy({}),
  };
}
