// The announcement feature: listens for ticket.called / ticket.recalled on the bus and has the
// Announcer speak them through the configured output (ALSA on the Pi, WAV files in the
// simulator) with the configured voice. Disabled or driver "none": it listens to nothing.
import path from 'node:path';
import type { Extension, FeatureContext } from '../../device/extension.ts';
import type { ComponentHealth } from '../../device/ports/health.ts';
import type { AudioOut } from '../../device/ports/outputs.ts';
import { AplayAudioOut } from './alsa-out.ts';
import { type AnnouncementResult, Announcer } from './announcer.ts';
import { ClipVoice } from './clip-voice.ts';
import { errorCode } from './errors.ts';
import { FallbackVoice } from './fallback-voice.ts';
import { SimAudioOut, simAudioDir } from './sim-out.ts';
import { type SpeechProcessOptions, SpeechProcessVoice } from './speech-process.ts';
import type { Voice } from './voice.ts';
import { CountsThrottle } from '../../device/health-counts.ts';
import { encodeWav, silence } from './wav.ts';

export const AUDIO_COMPONENT = 'audio';

export interface AnnouncerExtension extends Extension {
  /** the output's health, or a disabled mark */
  health(): ComponentHealth;
  /** resolves when every call heard so far has been announced (tests, simulator) */
  idle(): Promise<void>;
}

export interface AnnouncerDeps {
  /** replace the output (tests); default: from config */
  out?: AudioOut;
  /** replace the voice (tests); default: from config */
  voice?: Voice;
  /** a counter's name as the board shows it (a satellite's: the main unit's); default: from config */
  counterName?: (id: string) => string | undefined;
  /** options of the speech process made from config (tests: a fake child, a meminfo file) */
  speech?: Pick<SpeechProcessOptions, 'child' | 'meminfo' | 'cgroup'>;
}

export function createAnnouncerExtension(ctx: FeatureContext, deps: AnnouncerDeps = {}): AnnouncerExtension {
  const cfg = ctx.config.outputs.audio;
  const logger = ctx.logger.child({ component: AUDIO_COMPONENT });
  let out: AudioOut | null = null;
  let voice: Voice | null = null;
  /** the espeak voice's process, when this unit has one (its OOM kills and rest go in the health) */
  let speech: SpeechProcessVoice | null = null;
  let announcer: Announcer | null = null;
  let lastReported = '';
  // Failures before the output is reached (synthesis, a broken clip) are not in the output's own
  // health; they are kept here so status shows them too.
  let lastCallError: string | null = null;
  // whether the latest call was spoken (null before the first): lastCallError is the last failure
  // ever, this is what holds now (`npm run status` says so while the voice fails)
  let lastCallVoiced: boolean | null = null;
  let announced = 0;
  let failedCalls = 0;
  /** calls whose voice failed, announced by the chime alone */
  let chimeOnly = 0;

  const currentHealth = (): ComponentHealth => {
    if (!out) return { connected: false, lastError: null, lastErrorAt: null, disabled: true };
    const memory = speech
      ? { speechOomKilled: speech.oomKilled, voiceRestsUntil: speech.restsUntil, speechLowMemory: speech.lowMemory }
      : {};
    return { ...out.health(), lastCallError, lastCallVoiced, announced, failedCalls, chimeOnly, ...memory };
  };

  // the errors and what holds now: a change is sent at once
  const stateKey = (h: ComponentHealth): string =>
    `${h.connected}|${h.lastError}|${lastCallError}|${lastCallVoiced === false}|${h.speechOomKilled}|${h.voiceRestsUntil}`;
  const send = (): void => {
    const health = currentHealth();
    lastReported = stateKey(health);
    counts.sent();
    ctx.bus.emit('healthChanged', { component: AUDIO_COMPONENT, health });
  };
  // the counts alone: at most every HEALTH_COUNTS_EVERY_MS (device/health-counts.ts)
  const counts = new CountsThrottle(() => {
    const h = currentHealth();
    return `${h.announced}|${h.failedCalls}|${h.chimeOnly}|${h.speechLowMemory}`;
  }, send);

  /** Send the health now when an error or what holds changed; a change of the counts alone waits. */
  const report = (): void => {
    if (!out) return;
    if (stateKey(currentHealth()) === lastReported) counts.changed();
    else send();
  };

  const ext: AnnouncerExtension = {
    name: AUDIO_COMPONENT,

    async start(): Promise<void> {
      if (!cfg.enabled || cfg.driver === 'none') {
        logger.info({ enabled: cfg.enabled, driver: cfg.driver }, 'announcements are off');
        return;
      }
      out =
        deps.out ??
        (cfg.driver === 'alsa'
          ? new AplayAudioOut({ device: cfg.device, aplay: cfg.aplay, logger })
          : new SimAudioOut({ dir: simAudioDir(ctx.dataDir), logger }));
      if (deps.voice) {
        voice = deps.voice;
        if (voice instanceof SpeechProcessVoice) speech = voice;
      } else {
        // in a process of its own, started on demand and ended when idle (speech-process.ts)
        speech = new SpeechProcessVoice({
          voice: 'ko',
          rate: cfg.rate,
          minAvailableMiB: cfg.speechMinAvailableMiB,
          logger,
          onChange: () => report(),
          ...deps.speech,
        });
        voice = withClips(ctx, logger, speech);
      }
      try {
        await voice.load();
      } catch (err) {
        // The espeak voice loads lazily and cannot fail here; a clip pack falls back. Log anyway.
        logger.error({ code: errorCode(err), err: (err as Error).message }, 'voice failed to load');
      }
      // The probe (ALSA only) runs in the background; calls wait for it rather than overlap it.
      const probed = out instanceof AplayAudioOut ? probe(out, logger).then(() => report()) : Promise.resolve(report());
      announcer = new Announcer({
        ready: probed,
        voice,
        out,
        logger,
        counterName: deps.counterName ?? ((id) => ctx.config.counters.find((c) => c.id === id)?.name),
        chime: cfg.chime,
        volume: cfg.volume,
        repeat: cfg.repeat,
        onResult: (r: AnnouncementResult) => {
          if (r.ok) announced++;
          else failedCalls++;
          if (r.chimeOnly) chimeOnly++;
          if (!r.ok) lastCallError = r.code ?? null;
          lastCallVoiced = r.ok;
          report();
        },
      });
      const inArea = areaFilter(cfg.area);
      ctx.bus.on('queueEvents', ext, ({ events }) => {
        for (const e of events) {
          if ((e.type === 'ticket.called' || e.type === 'ticket.recalled') && inArea(e.counter, e.ticket.service)) {
            announcer?.enqueue({
              ticket: e.ticket.number,
              counter: e.counter,
              recall: e.type === 'ticket.recalled',
              seq: e.seq,
            });
          }
        }
      });
      logger.info(
        { driver: out.kind, voice: voice.kind, device: cfg.driver === 'alsa' ? cfg.device : undefined },
        'announcements on',
      );
    },

    async stop(): Promise<void> {
      ctx.bus.removeListeners(ext);
      await announcer?.stop();
      announcer = null;
      await voice?.close?.();
      voice = null;
      speech = null;
      // last: the call let finish by announcer.stop() reports
      counts.stop();
    },

    health(): ComponentHealth {
      return currentHealth();
    },

    idle(): Promise<void> {
      return announcer?.idle() ?? Promise.resolve();
    },
  };
  return ext;
}

/** outputs.audio.area: a call is this unit's to announce when its counter or its service is
 * listed (a floor's speaker, a satellite's waiting room); no area: every call. */
export function areaFilter(area: { counters?: string[]; services?: string[] } | undefined) {
  if (!area || (area.counters === undefined && area.services === undefined)) return () => true;
  const counters = new Set(area.counters ?? []);
  const services = new Set(area.services ?? []);
  return (counter: string, service: string): boolean => counters.has(counter) || services.has(service);
}

/** `voice: clips`: the clip pack, espeak for what it cannot say; else espeak alone. */
function withClips(ctx: FeatureContext, logger: FeatureContext['logger'], espeak: SpeechProcessVoice): Voice {
  const cfg = ctx.config.outputs.audio;
  if (cfg.voice !== 'clips' || !cfg.clipsDir) return espeak;
  const clips = new ClipVoice({ dir: path.resolve(cfg.clipsDir), logger });
  return new FallbackVoice(clips, espeak, logger);
}

/** Play 50 ms of silence at start so a missing aplay or sound card shows in health before the
 * first citizen is called, not after. */
async function probe(out: AplayAudioOut, logger: FeatureContext['logger']): Promise<void> {
  try {
    await out.play(encodeWav(silence(22050, 50)), 'probe');
    logger.info({ device: out.health().device }, 'sound device ready');
  } catch (err) {
    logger.error(
      { code: errorCode(err), err: (err as Error).message },
      'sound device unavailable; calls will be shown but not heard',
    );
  }
}
