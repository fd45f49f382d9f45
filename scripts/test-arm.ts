// `npm run test:arm [-- --arch arm64|armhf]`: the release proven on the CPUs it is for, under
// qemu's user-mode emulation. For each CPU: install Debian's emulator, cross C libraries and cross
// compiler (apt-get, as root, only what is missing), build the release (npm run release), unpack
// it, take that CPU's Node from the npm registry, and run an office day with it
// (tests/arm/scenario.ts): start to ready with the example office, a ticket PNG, a call's board
// frame and Korean WAV, a counter display's framebuffer in XRGB8888's byte order, an online
// ticket over MQTT and the retained state, a SIGKILL and a restart that continues the numbering,
// a clean stop. Prints one line per CPU and a closing
// "test:arm: N passed, N failed"; exit code 1 when one failed.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkRelease } from '../deploy/release-check.ts';
import { swapModuleBytes } from '../display/sinks/swap-red-blue.ts';
import { runScenario } from '../tests/arm/scenario.ts';
import { ROOT } from './build.ts';
import { release } from './release.ts';
import { type Arch, nodeFor, TARGETS, type Target } from './targets.ts';

const SHIM = path.join(ROOT, 'scripts/arm/node20-crc32.mjs');

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** apt-get install what is missing (as root; `apt-get update` first). */
function ensureTools(targets: Target[]): void {
  const need = new Set<string>();
  const has = (cmd: string): boolean => {
    try {
      execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  for (const t of targets) {
    if (!t.qemu) continue;
    if (!has(t.qemu.bin)) need.add('qemu-user-static');
    // the cross compiler (release) and the sysroot's C and C++ libraries (node under qemu)
    if (!has(`${t.triple}-g++`) || !existsSync(path.join(t.qemu.sysroot, 'lib/libstdc++.so.6'))) {
      for (const p of t.qemu.apt) need.add(p);
    }
  }
  if (need.size === 0) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`missing ${[...need].join(' ')}: run as root, or: sudo apt-get install ${[...need].join(' ')}`);
  }
  say(`test:arm: apt-get install ${[...need].join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...need], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env,
  });
}

async function proveOn(target: Target, outDir: string): Promise<string> {
  const t0 = performance.now();
  const built = release({ arch: target.arch, outDir, log: (l) => say(`  ${l}`) });
  const work = mkdtempSync(path.join(tmpdir(), `beonho-arm-${target.arch}-`));
  try {
    execFileSync('tar', ['-xzf', built.tarball, '-C', work]);
    const app = path.join(work, built.manifest.name);
    await checkRelease({ dir: app, nodePath: '', live: false });
    const node = nodeFor(target, built.manifest.node.version, path.join(outDir, '.cache'));
    const q = target.qemu!;
    const emu = [q.bin, '-L', q.sysroot, node.bin];
    const probe = execFileSync(emu[0]!, [...emu.slice(1), '-p', 'process.arch + " " + typeof require("zlib").crc32'], {
      encoding: 'utf8',
    }).trim();
    if (probe.split(' ')[0] !== target.cpu) throw new Error(`the emulated node says it runs on ${probe}`);
    const shim = probe.endsWith('undefined');
    // which way this CPU's node converts a framebuffer's pixels (display/sinks/swap-red-blue.ts):
    // either gives the same bytes, which the scenario checks on a counter display's framebuffer
    const wasm = Buffer.from(swapModuleBytes()).toString('base64');
    const simd =
      execFileSync(emu[0]!, [...emu.slice(1), '-p', `WebAssembly.validate(Buffer.from('${wasm}', 'base64'))`], {
        encoding: 'utf8',
      }).trim() === 'true';
    if (shim) say(`  Node ${node.version} has no zlib.crc32: the test adds it (scripts/arm/node20-crc32.mjs)`);
    const data = path.join(work, 'day');
    mkdirSync(data);
    const r = await runScenario({
      appDir: app,
      node: [...emu, ...(shim ? ['--import', SHIM] : [])],
      work: data,
      // an emulated JIT is 5-20x slower than this machine, and the runner may be busy
      stepTimeoutMs: 240_000,
      log: (l) => say(`  ${target.arch}: ${l}`),
    });
    const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
    return (
      `ready ${s(r.readyMs)}, after SIGKILL ${s(r.restartReadyMs)}, first call to WAV ${s(r.firstCallWavMs)}, ` +
      `Node ${node.version}${shim ? ' + crc32 shim' : ''}, framebuffer pixels by ${simd ? 'WebAssembly SIMD' : 'swap32'}, ` +
      `whole ${s(performance.now() - t0)}`
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--arch');
  const archs: Arch[] = i > 0 ? [process.argv[i + 1] as Arch] : ['arm64', 'armhf'];
  const targets = archs.map((a) => {
    const t = TARGETS[a];
    if (!t?.qemu) throw new Error(`--arch ${a}: one of arm64, armhf`);
    return t;
  });
  ensureTools(targets);
  const outDir = path.join(ROOT, 'release');
  let passed = 0;
  let failed = 0;
  for (const t of targets) {
    say(`test:arm ${t.arch}: building the release and running it under ${t.qemu!.bin}`);
    try {
      const summary = await proveOn(t, outDir);
      say(`test:arm ${t.arch}: PASS (${summary})`);
      passed++;
    } catch (err) {
      say(`test:arm ${t.arch}: FAIL ${(err as Error).stack ?? err}`);
      failed++;
    }
  }
  say(`test:arm: ${passed} passed, ${failed} failed`);
  process.exit(failed > 0 ? 1 : 0);
}

await main();
