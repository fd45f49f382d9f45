// Clip pack helper.
//   tsx display/audio/make-clip-pack.ts list  [config.yaml]          the clips this office needs
//   tsx display/audio/make-clip-pack.ts check <dir> [config.yaml]    which of them <dir> lacks
//   tsx display/audio/make-clip-pack.ts espeak <dir> [config.yaml]   write a starter pack with espeak
//   tsx display/audio/make-clip-pack.ts say <out.wav> <ticket> <counter-id> [config.yaml] [clips-dir]
// The espeak starter pack sounds like espeak; it exists to try the clip voice end to end and as a
// checklist of file names to replace with recordings. Without a config file, the built-in
// simulator config is used.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../device/config/load.ts';
import { Announcer } from './announcer.ts';
import { clipWords, missingClips } from './clip-pack.ts';
import { ClipVoice } from './clip-voice.ts';
import { EspeakVoice } from './espeak-voice.ts';
import { encodeWav, readWavInfo } from './wav.ts';

const logger = pino({ level: 'warn' });

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  switch (command) {
    case 'list': {
      const { config } = await loadConfig(args[0]);
      for (const w of clipWords(config)) console.log(`${w}.wav`);
      return 0;
    }
    case 'check': {
      if (!args[0]) return usage();
      const { config } = await loadConfig(args[1]);
      const missing = await missingClips(args[0], config);
      for (const w of missing) console.log(`missing: ${w}.wav`);
      console.log(
        missing.length === 0 ? 'the pack can say every call of this office' : `${missing.length} clip(s) missing`,
      );
      return missing.length === 0 ? 0 : 1;
    }
    case 'espeak': {
      if (!args[0]) return usage();
      const { config } = await loadConfig(args[1]);
      const voice = new EspeakVoice({ logger });
      await mkdir(args[0], { recursive: true });
      for (const w of clipWords(config)) {
        const file = path.join(args[0], `${w}.wav`);
        await writeFile(file, encodeWav(await voice.speak(w)));
        console.log(file);
      }
      return 0;
    }
    case 'say': {
      const [out, ticket, counter, configFile, clipsDir] = args;
      if (!out || !ticket || !counter) return usage();
      const { config } = await loadConfig(configFile);
      const voice = clipsDir ? new ClipVoice({ dir: clipsDir, logger }) : new EspeakVoice({ logger });
      await voice.load();
      const announcer = new Announcer({
        voice,
        out: {
          kind: 'none',
          play: async () => {},
          close: async () => {},
          health: () => ({ connected: true, lastError: null, lastErrorAt: null }),
        },
        logger,
        counterName: (id) => config.counters.find((c) => c.id === id)?.name,
        volume: config.outputs.audio.volume,
        repeat: config.outputs.audio.repeat,
        chime: config.outputs.audio.chime,
      });
      const wav = await announcer.render({ ticket, counter, recall: false });
      await writeFile(out, wav);
      console.log(`${out}: ${Math.round(readWavInfo(wav).durationMs)} ms`);
      return 0;
    }
    default:
      return usage();
  }
}

function usage(): number {
  console.error(
    'usage: make-clip-pack.ts list [config] | check <dir> [config] | espeak <dir> [config] | say <out.wav> <ticket> <counter-id> [config] [clips-dir]',
  );
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error & { code?: string }) => {
    console.error(err.code ? `${err.code}: ${err.message}` : err.message);
    process.exitCode = 1;
  },
);
