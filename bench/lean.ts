// How lean the production daemon is (issue 13), measured on the compiled build (dist/, plain node):
// - exec to ready, against a bare `node -e 0` (and the same daemon under tsx, as it ran before);
// - peak RSS (VmHWM) of the daemon with the board on a framebuffer, after 1,000 tickets and 100
//   spoken calls (the example office, its embedded broker on, espeak's Korean voice), run as the
//   systemd unit runs it (its environment: deploy/unit.ts RUNTIME_ENV); and, apart, the peak of the
//   speech process it starts for the calls (display/audio/speech-process.ts), and of the two
//   together (sampled every 50 ms);
// - the production install: dist/ plus node_modules of an x64 release (npm run release).
//   npx tsx bench/lean.ts [--no-release] [--env KEY=VALUE ...] (KEY= drops one of the unit's)
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import pino from 'pino';
import { RUNTIME_ARGS, RUNTIME_ENV } from '../device/runtime-env.ts';
import { loadConfig } from '../device/config/load.ts';
import { clipWords } from '../display/audio/clip-pack.ts';
import { EspeakVoice } from '../display/audio/espeak-voice.ts';
import { encodeWav } from '../display/audio/wav.ts';
import { build, ROOT } from '../scripts/build.ts';
import { release } from '../scripts/release.ts';
import { freePort } from './lib/free-port.ts';
import { isMainModule } from '../device/util/main-module.ts';

export interface LeanResult {
  execToReadyMs: { dist: number; tsx: number; bareNode: number };
  /** the daemon's own peak (VmHWM) at ready and after the day; at the end of the day, how much of
   * its resident memory is private (heap, buffers) and how much file pages (node's binary, the
   * native modules: shared, and dropped by the kernel under pressure) */
  peakRssMiB: { idle: number; afterDay: number; anonAtEnd: number; fileAtEnd: number };
  /** the speech process: its own peak, and the peak of the daemon and it together */
  speechPeakMiB: number | null;
  togetherPeakMiB: number;
  speechProcesses: number;
  /** the same day with `voice: clips` (espeak's clips): the daemon's peak, with any child */
  clipVoice: { peakRssMiB: number; togetherPeakMiB: number; speechProcesses: number };
  tickets: number;
  calls: number;
  env: Record<string, string>;
  /** node's flags before the script */
  nodeArgs: readonly string[];
  installMiB: { total: number; nodeModules: number; dist: number } | null;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;

/** The example office with a framebuffer board (a file with a fake sysfs tree), the ESC/POS
 * printer writing to /dev/null and sim audio (the same synthesis as ALSA's, into WAV files), the
 * embedded broker on. */
export async function officeConfig(dir: string, audio: Record<string, unknown> = { voice: 'espeak' }): Promise<string> {
  const W = 1920;
  const H = 1080;
  const sysfs = path.join(dir, 'graphics');
  mkdirSync(path.join(sysfs, 'fb0'), { recursive: true });
  writeFileSync(path.join(sysfs, 'fb0', 'virtual_size'), `${W},${H}\n`);
  writeFileSync(path.join(sysfs, 'fb0', 'bits_per_pixel'), '32\n');
  writeFileSync(path.join(sysfs, 'fb0', 'stride'), `${W * 4}\n`);
  writeFileSync(path.join(dir, 'fb0'), Buffer.alloc(W * H * 4));
  const doc = parseYaml(readFileSync(path.join(ROOT, 'config/example.yaml'), 'utf8')) as {
    services: Array<Record<string, unknown>>;
  };
  doc.services = doc.services.map(({ cutoff: _c, cap: _k, ...s }) => s);
  const file = path.join(dir, `office-${String(audio.voice)}.yaml`);
  writeFileSync(
    file,
    stringify({
      ...doc,
      mqtt: { broker: { port: await freePort(), wsPort: null, demo: true } },
      outputs: {
        board: { driver: 'framebuffer', device: path.join(dir, 'fb0'), sysfsRoot: sysfs, vt: 'none' },
        // the Pi's printer path (render, dither, ESC/POS raster), its bytes to /dev/null
        printer: {
          driver: 'escpos',
          device: '/dev/null',
          statusQuery: false,
          ticketSecret: 'bench-ticket-secret-0123456789',
        },
        audio: { driver: 'sim', ...audio },
      },
    }),
  );
  return file;
}

class Proc {
  readonly child;
  private buf = '';
  private lines: string[] = [];
  private waiters: Array<{ re: RegExp; resolve: () => void }> = [];
  constructor(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}) {
    this.child = spawn(cmd, args, { cwd, env: { ...process.env, ...env, BEONHO_LOG_LEVEL: 'warn' } });
    this.child.stdout.on('data', (d: Buffer) => {
      this.buf += d.toString();
      let nl = this.buf.indexOf('\n');
      while (nl >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        this.waiters = this.waiters.filter((w) => {
          if (!w.re.test(line)) return true;
          w.resolve();
          return false;
        });
        if (this.waiters.length === 0) this.lines.length = 0;
        nl = this.buf.indexOf('\n');
      }
    });
    this.child.stderr.on('data', () => {});
  }
  until(re: RegExp): Promise<void> {
    return new Promise((resolve) => this.waiters.push({ re, resolve }));
  }
  send(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }
  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.child.on('exit', () => resolve());
      this.child.kill('SIGTERM');
    });
  }
}

/** A /proc/<pid>/status field in MiB (VmHWM, VmRSS, RssAnon, RssFile); NaN once the process is gone. */
function statusMiB(pid: number, field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

const vmHwmMiB = (pid: number): number => statusMiB(pid, 'VmHWM');

function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Samples the daemon and its children (the speech process) until stopped: each child's own peak
 * (read while it lives: it may end when idle) and the largest sum of the two. */
class Sampler {
  readonly childPeak = new Map<number, number>();
  together = 0;
  private timer: ReturnType<typeof setInterval>;
  constructor(private readonly pid: number) {
    this.timer = setInterval(() => this.sample(), 50);
  }
  sample(): void {
    let sum = statusMiB(this.pid, 'VmRSS');
    for (const c of childPids(this.pid)) {
      const hwm = vmHwmMiB(c);
      if (!Number.isNaN(hwm)) this.childPeak.set(c, Math.max(this.childPeak.get(c) ?? 0, hwm));
      const rss = statusMiB(c, 'VmRSS');
      if (!Number.isNaN(rss)) sum += rss;
    }
    if (!Number.isNaN(sum)) this.together = Math.max(this.together, sum);
  }
  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }
}

async function startToReady(
  cmd: string,
  args: string[],
  dir: string,
  config: string,
  env: Record<string, string> = {},
): Promise<number> {
  const data = mkdtempSync(path.join(dir, 'ready-'));
  const t = performance.now();
  const p = new Proc(cmd, [...args, '--config', config, '--data-dir', data], ROOT, env);
  await p.until(/simulator ready/);
  const ms = performance.now() - t;
  await p.stop();
  return ms;
}

/** A day of the daemon: 1,000 tickets over four services, a call after every tenth, each call
 * spoken; its memory sampled throughout. */
async function officeDay(daemon: string[], config: string, data: string, env: Record<string, string>) {
  const p = new Proc(process.execPath, [...daemon, '--config', config, '--data-dir', data], ROOT, env);
  await p.until(/simulator ready/);
  const pid = p.child.pid!;
  await new Promise((r) => setTimeout(r, 500));
  const idle = vmHwmMiB(pid);
  const sampler = new Sampler(pid);
  const buttons = ['resident', 'passport', 'seal', 'welfare'];
  let calls = 0;
  for (let i = 0; i < 1000; i++) {
    const answered = p.until(/^ticket /);
    p.send(`press ${buttons[i % buttons.length]}`);
    await answered;
    if (i % 10 === 9) {
      const counter = ['1', '2', '3'][calls % 3]!;
      const called = p.until(/^call |^refused/);
      p.send(`key ${counter} next`);
      await called;
      calls++;
    }
  }
  // every call spoken: the simulated loudspeaker names its files by sequence
  const audio = path.join(data, 'sim/audio');
  for (let t = 0; t < 1200; t++) {
    const last = readdirSync(audio)
      .filter((f) => /^\d+\.wav$/.test(f))
      .sort()
      .at(-1);
    if (last && Number.parseInt(last, 10) >= calls) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  sampler.stop();
  const peakRssMiB = {
    idle: round(idle),
    afterDay: round(vmHwmMiB(pid)),
    anonAtEnd: round(statusMiB(pid, 'RssAnon')),
    fileAtEnd: round(statusMiB(pid, 'RssFile')),
  };
  await p.stop();
  const speechPeaks = [...sampler.childPeak.values()];
  return {
    peakRssMiB,
    speechPeakMiB: speechPeaks.length > 0 ? round(Math.max(...speechPeaks)) : null,
    togetherPeakMiB: round(sampler.together),
    speechProcesses: speechPeaks.length,
    calls,
  };
}

/** espeak's clips of every word the office's calls need (the starter pack of make-clip-pack.ts). */
async function makeStarterPack(configFile: string, dir: string): Promise<void> {
  const { config } = await loadConfig(configFile);
  const voice = new EspeakVoice({ logger: pino({ level: 'silent' }) });
  mkdirSync(dir, { recursive: true });
  for (const w of clipWords(config)) writeFileSync(path.join(dir, `${w}.wav`), encodeWav(await voice.speak(w)));
}

export async function run(
  o: { release?: boolean; env?: Record<string, string>; args?: readonly string[] } = {},
): Promise<LeanResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'beonho-bench-lean-'));
  // the unit's environment, its compile cache (Node >= 22.1) in this run's directory
  const env = Object.fromEntries(
    Object.entries({ ...RUNTIME_ENV, NODE_COMPILE_CACHE: path.join(dir, 'compile-cache'), ...o.env }).filter(
      ([, v]) => v !== '',
    ),
  );
  try {
    const dist = build({ outDir: path.join(ROOT, 'dist'), log: () => {} });
    // node's flags as the unit gives them, then the script
    const daemon = [...(o.args ?? RUNTIME_ARGS), path.join(dist, 'device/main.js')];
    const config = await officeConfig(dir);

    const bare: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      execFileSync(process.execPath, ['-e', '0']);
      bare.push(performance.now() - t);
    }
    const fromDist: number[] = [];
    const fromTsx: number[] = [];
    for (let i = 0; i < 3; i++) {
      fromDist.push(await startToReady(process.execPath, daemon, dir, config, env));
      fromTsx.push(await startToReady(process.execPath, ['--import', 'tsx', 'device/main.ts'], dir, config));
    }

    const day = await officeDay(daemon, config, path.join(dir, 'day'), env);
    // the same day with a clip voice made from espeak's (display/audio/make-clip-pack.ts): the
    // calls are joined from clips in the daemon, and no speech process starts
    const clipsDir = path.join(dir, 'clips');
    await makeStarterPack(config, clipsDir);
    const clipConfig = await officeConfig(dir, { voice: 'clips', clipsDir });
    const clipDay = await officeDay(daemon, clipConfig, path.join(dir, 'clip-day'), env);

    let installMiB: LeanResult['installMiB'] = null;
    if (o.release !== false) {
      const r = release({ arch: 'x64', outDir: path.join(dir, 'release'), log: () => {} });
      const sum = (prefix: string): number =>
        r.manifest.files.filter((f) => f.path.startsWith(prefix)).reduce((a, f) => a + f.size, 0) / 1048576;
      installMiB = {
        total: round(r.manifest.size / 1048576),
        nodeModules: round(sum('node_modules/')),
        dist: round(sum('dist/')),
      };
    }
    return {
      execToReadyMs: {
        dist: round(median(fromDist), 0),
        tsx: round(median(fromTsx), 0),
        bareNode: round(median(bare), 0),
      },
      peakRssMiB: day.peakRssMiB,
      speechPeakMiB: day.speechPeakMiB,
      togetherPeakMiB: day.togetherPeakMiB,
      speechProcesses: day.speechProcesses,
      clipVoice: {
        peakRssMiB: clipDay.peakRssMiB.afterDay,
        togetherPeakMiB: clipDay.togetherPeakMiB,
        speechProcesses: clipDay.speechProcesses,
      },
      tickets: 1000,
      calls: day.calls,
      env,
      nodeArgs: daemon.slice(0, -1),
      installMiB,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (isMainModule(import.meta.url)) {
  const extra: Record<string, string> = {};
  process.argv.forEach((a, i) => {
    const kv = a === '--env' ? process.argv[i + 1] : undefined;
    if (kv?.includes('=')) extra[kv.slice(0, kv.indexOf('='))] = kv.slice(kv.indexOf('=') + 1);
  });
  // --node-args '<flags>': node's flags instead of the unit's (RUNTIME_ARGS), '' for none
  const at = process.argv.indexOf('--node-args');
  const args = at > 0 ? (process.argv[at + 1] ?? '').split(/\s+/).filter(Boolean) : undefined;
  const r = await run({ release: !process.argv.includes('--no-release'), env: extra, ...(args ? { args } : {}) });
  const e = r.execToReadyMs;
  const m = r.peakRssMiB;
  console.log('lean benchmark (the compiled daemon on plain node; baseline: a bare `node -e 0`)');
  console.log(
    `  environment                  ${
      Object.entries(r.env)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ') || '(none)'
    }; node ${r.nodeArgs.join(' ') || '(no flags)'}`,
  );
  console.log(
    `  exec -> ready                ${e.dist} ms   (bare node ${e.bareNode} ms: ${round(e.dist / e.bareNode)}x; under tsx ${e.tsx} ms)`,
  );
  console.log(`  peak RSS after ready         ${m.idle} MiB`);
  console.log(
    `  peak RSS, ${r.tickets} tickets + ${r.calls} spoken calls, board on a framebuffer: ${m.afterDay} MiB (goal <= 100); at the end ${m.anonAtEnd} MiB private + ${m.fileAtEnd} MiB file pages`,
  );
  console.log(
    `  the speech process           ${r.speechPeakMiB ?? '-'} MiB peak (${r.speechProcesses} started); daemon and speech process together: ${r.togetherPeakMiB} MiB`,
  );
  console.log(
    `  the same day, voice: clips    ${r.clipVoice.peakRssMiB} MiB peak; with its children ${r.clipVoice.togetherPeakMiB} MiB (${r.clipVoice.speechProcesses} speech processes started)`,
  );
  if (r.installMiB) {
    console.log(
      `  production install (x64 release)  ${r.installMiB.total} MiB: node_modules ${r.installMiB.nodeModules}, dist ${r.installMiB.dist} (goal <= 80)`,
    );
  }
}
