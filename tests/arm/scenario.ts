// One office day, run against a built daemon (dist/device/main.js with its node_modules): the
// compiled build on this machine (tests/release-build.test.ts, tests/release.test.ts) and an
// unpacked release under qemu for arm64 and armhf (`npm run test:arm`, scripts/test-arm.ts).
// Driven the way the simulator drives the core: terminal lines on stdin, and MQTT as central.
// Each step throws (node:assert) with what it expected; the result carries the timings.
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import mqtt from 'mqtt';
import { parse as parseYaml, stringify } from 'yaml';
import { freePort } from '../../bench/lib/free-port.ts';
import { colors } from '../../display/board/theme.ts';
import { Daemon } from '../helpers/daemon.ts';

export interface ScenarioOptions {
  /** a folder with dist/ and node_modules/: an unpacked release, or a build beside node_modules */
  appDir: string;
  /** how to run node; default this node. Under emulation: ['qemu-aarch64-static', '-L', ..., node] */
  node?: string[];
  /** the office's config to start from (the release's config/example.yaml by default) */
  configFile?: string;
  /** an empty folder for the config and the data dir */
  work: string;
  /** how long one step may take: generous under an emulator, where the JIT runs ~10x slower */
  stepTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface ScenarioResult {
  /** exec to "simulator ready", first start and after the SIGKILL */
  readyMs: number;
  restartReadyMs: number;
  /** a call to its WAV file on disk (the first call also loads espeak-ng's WASM) */
  firstCallWavMs: number;
  wavSeconds: number;
}

export async function runScenario(o: ScenarioOptions): Promise<ScenarioResult> {
  const timeout = o.stepTimeoutMs ?? 20_000;
  const log = o.log ?? (() => {});
  const data = path.join(o.work, 'data');
  const port = await freePort();
  const config = path.join(o.work, 'office.yaml');
  const doc = parseYaml(await readFile(o.configFile ?? path.join(o.appDir, 'config/example.yaml'), 'utf8')) as {
    office: { id: string };
    services: Array<Record<string, unknown>>;
  };
  // The example office as shipped, minus what would make the outcome depend on the hour (cut-offs),
  // with its embedded broker on a free port and the demo account for "central".
  doc.services = doc.services.map(({ cutoff: _c, ...s }) => s);
  // Counter 1's display on a framebuffer (a file, with sysfs's description of an 800x480 XRGB8888
  // screen): its bytes show the CPU's pixel path (display/sinks/swap-red-blue.ts) in the right order.
  const sysfs = path.join(o.work, 'graphics');
  const fb = path.join(o.work, 'fb1');
  await mkdir(path.join(sysfs, 'fb1'), { recursive: true });
  await writeFile(path.join(sysfs, 'fb1', 'virtual_size'), '800,480\n');
  await writeFile(path.join(sysfs, 'fb1', 'bits_per_pixel'), '32\n');
  await writeFile(path.join(sysfs, 'fb1', 'stride'), `${800 * 4}\n`);
  await writeFile(fb, Buffer.alloc(800 * 480 * 4));
  await writeFile(
    config,
    stringify({
      ...doc,
      // A login is a scrypt at the broker's default cost: under qemu-arm it took over the 5 s a socket
      // is given to log in (the client read ECONNRESET when the broker let it go), which a board's
      // own CPU does in a fraction of a second. The scenario checks what works, not how fast.
      mqtt: { broker: { port, wsPort: null, demo: true, limits: { connectTimeoutMs: 60_000 } } },
      outputs: {
        board: {
          driver: 'sim',
          sysfsRoot: sysfs,
          counterDisplays: [{ counter: '1', driver: 'framebuffer', device: fb }],
        },
        printer: { driver: 'sim' },
        audio: { driver: 'sim', voice: 'espeak' },
      },
    }),
  );
  const office = doc.office.id;
  const T = `beonho/v1/${office}`;
  const start = (): { d: Daemon; t0: number } => {
    const t0 = performance.now();
    const d = new Daemon(
      ['--config', config, '--data-dir', data],
      { BEONHO_LOG_LEVEL: 'warn' },
      { entry: path.join(o.appDir, 'dist/device/main.js'), cwd: o.appDir, ...(o.node ? { node: o.node } : {}) },
    );
    return { d, t0 };
  };
  const noErrors = (d: Daemon, when: string): void => {
    const bad = d.stderr
      .split('\n')
      .filter((l) => /"level":(50|60)/.test(l))
      .slice(0, 3);
    assert.deepEqual(bad, [], `error lines in the daemon's log ${when}`);
  };

  // 1. start to ready with a real config
  const first = start();
  let d = first.d;
  let client: mqtt.MqttClient | null = null;
  try {
    await until(d, /simulator ready/, timeout);
    const readyMs = performance.now() - first.t0;
    log(`ready in ${(readyMs / 1000).toFixed(1)} s`);

    // 2. a press gives a ticket PNG
    d.send('press resident');
    await until(d, /^ticket 1001 \(resident\): 0 ahead/, timeout);
    const tickets = path.join(data, 'sim/tickets');
    const ticketFile = await waitUntil(
      async () => (await readdir(tickets).catch(() => [])).find((f) => f.endsWith('-1001.png')),
      timeout,
      'the ticket PNG of 1001',
    );
    const ticket = pngSize(await readFile(path.join(tickets, ticketFile)));
    assert.equal(ticket.width, 576, 'ticket width: 80 mm paper, 576 dots');
    assert.ok(ticket.height > 300, `ticket height ${ticket.height}`);
    log(`ticket PNG ${ticket.width}x${ticket.height}`);

    // 3. a call gives a board PNG and a WAV with the Korean voice
    const calledAt = Date.now();
    const tCall = performance.now();
    d.send('key 1 next');
    await until(d, /^call 1001 -> counter 1$/, timeout);
    const board = path.join(data, 'sim/board.png');
    await waitUntil(
      async () => ((await stat(board).catch(() => null))?.mtimeMs ?? 0) >= calledAt - 5,
      timeout,
      'a board frame after the call',
    );
    const frame = pngSize(await waitUntil(() => readFile(board).catch(() => undefined), timeout, 'board.png'));
    assert.deepEqual(frame, { width: 1920, height: 1080 }, 'board frame size');
    // counter 1's display: its ground (or, lit by the call, its amber) in XRGB8888's byte order,
    // B, G, R, X, and never in the canvas's R, G, B, A
    const fbPixels = await waitUntil(
      async () => {
        const c = countColours(await readFile(fb));
        return c.xrgb > 100_000 ? c : undefined;
      },
      timeout,
      "counter 1's display on its framebuffer",
    );
    assert.equal(fbPixels.rgba, 0, "counter 1's framebuffer holds pixels in the canvas's byte order");
    log(`counter display framebuffer: ${fbPixels.xrgb} pixels of its colours in XRGB8888 order`);
    const audioDir = path.join(data, 'sim/audio');
    const wavName = await waitUntil(
      async () => (await readdir(audioDir).catch(() => [])).find((f) => /^\d+\.wav$/.test(f)),
      timeout * 3,
      'the WAV of the first call',
    );
    const firstCallWavMs = performance.now() - tCall;
    const wav = parseWav(await readFile(path.join(audioDir, wavName)));
    // chime (~1.5 s) then "천일번 고객님, 일번 창구로 오십시오": a chime alone, or a voice that
    // failed to load, is far shorter; the voice's part must not be silence.
    assert.ok(wav.seconds > 3, `the call's WAV lasts ${wav.seconds.toFixed(2)} s: no voice after the chime?`);
    assert.ok(wav.peakAfter(2) > 3000, `the WAV is silent after the chime (peak ${wav.peakAfter(2)})`);
    log(`call WAV ${wav.seconds.toFixed(2)} s after ${(firstCallWavMs / 1000).toFixed(1)} s`);

    // 4. an online ticket over MQTT, and the retained state that follows it
    client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
      username: 'central',
      password: 'central',
      clientId: `scenario-${process.pid}`,
      reconnectPeriod: 0,
    });
    const results: Array<{ id: string; ok: boolean; result?: { ticket?: { number?: string } } }> = [];
    client.on('message', (topic, payload) => {
      if (topic === `${T}/cmd/result`) results.push(JSON.parse(payload.toString()));
    });
    await client.subscribeAsync(`${T}/cmd/result`, { qos: 1 });
    await client.publishAsync(
      `${T}/cmd`,
      JSON.stringify({ id: 'arm-1', type: 'ticket.issue', service: 'passport', channel: 'online', ref: 'opaque-1' }),
      { qos: 1 },
    );
    const res = await waitUntil(async () => results.find((r) => r.id === 'arm-1'), timeout, 'the command result');
    assert.equal(res.ok, true, `online ticket refused: ${JSON.stringify(res)}`);
    assert.equal(res.result?.ticket?.number, '2001');
    await client.endAsync();
    client = null;
    const state = await retainedState(port, T, (s) => waiting(s, 'passport') === 1, timeout);
    assert.equal(waiting(state, 'resident'), 0);
    log('online ticket 2001 over MQTT; retained state shows it');

    // 5. a SIGKILL (power cut) and a restart that continues the numbering
    noErrors(d, 'before the power cut');
    await d.kill('SIGKILL');
    const second = start();
    d = second.d;
    await until(d, /simulator ready/, timeout);
    const restartReadyMs = performance.now() - second.t0;
    d.send('press resident');
    await until(d, /^ticket 1002 \(resident\): 0 ahead/, timeout);
    d.send('press passport');
    await until(d, /^ticket 2002 \(passport\): 1 ahead/, timeout);
    const after = await retainedState(port, T, (s) => waiting(s, 'passport') === 2, timeout);
    assert.equal(waiting(after, 'resident'), 1);
    log(`restarted after SIGKILL in ${(restartReadyMs / 1000).toFixed(1)} s; numbering continues (1002, 2002)`);

    // 6. a clean stop
    noErrors(d, 'after the restart');
    d.child.kill('SIGTERM');
    const code = await withTimeout(d.exited, timeout, 'the daemon to stop on SIGTERM');
    assert.equal(code, 0, `exit code after SIGTERM; stderr: ${d.stderr.slice(-1000)}`);
    log('clean stop: exit 0');
    return { readyMs, restartReadyMs, firstCallWavMs, wavSeconds: wav.seconds };
  } finally {
    await client?.endAsync(true);
    await d.kill('SIGKILL');
  }
}

/** A line on the daemon's stdout; fails at once, with its stderr, when the daemon exits first. */
async function until(d: Daemon, re: RegExp, timeoutMs: number): Promise<string> {
  const line = d.waitFor(re, timeoutMs);
  const died = d.exited.then((code) => {
    throw new Error(`the daemon exited (${code ?? d.signal}) waiting for ${re}; stderr: ${d.stderr.slice(-2000)}`);
  });
  line.catch(() => {});
  died.catch(() => {});
  return Promise.race([line, died]);
}

interface StateLike {
  services: Array<{ id: string; waiting: number }>;
}

function waiting(s: StateLike, service: string): number | undefined {
  return s.services.find((x) => x.id === service)?.waiting;
}

/** The retained state as a new subscriber sees it, once it satisfies `ok`. */
async function retainedState(
  port: number,
  T: string,
  ok: (s: StateLike) => boolean,
  timeoutMs: number,
): Promise<StateLike> {
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    username: 'central',
    password: 'central',
    clientId: `scenario-state-${process.pid}`,
    reconnectPeriod: 0,
  });
  try {
    let last: StateLike | null = null;
    c.on('message', (_t, payload, packet) => {
      // the first message after a subscribe is the retained one; later ones are live updates
      if (packet.retain || last !== null) last = JSON.parse(payload.toString()) as StateLike;
    });
    await c.subscribeAsync(`${T}/state`, { qos: 1 });
    return await waitUntil(async () => (last && ok(last) ? last : undefined), timeoutMs, `a retained state on ${T}`);
  } finally {
    await c.endAsync();
  }
}

export async function waitUntil<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  ms: number,
  what: string,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Pixels of a 32-bit framebuffer's bytes in the counter display's two grounds (its ground, and
 * amber when lit), in XRGB8888's byte order and in RGBA's. */
export function countColours(bytes: Buffer): { xrgb: number; rgba: number } {
  const rgb = [colors.ground, colors.accent].map((c) => [1, 3, 5].map((i) => Number.parseInt(c.slice(i, i + 2), 16)));
  let xrgb = 0;
  let rgba = 0;
  for (let i = 0; i + 3 < bytes.length; i += 4) {
    for (const [r, g, b] of rgb) {
      if (bytes[i + 1] !== g) continue;
      if (bytes[i] === b && bytes[i + 2] === r) xrgb++;
      else if (bytes[i] === r && bytes[i + 2] === b) rgba++;
    }
  }
  return { xrgb, rgba };
}

export function pngSize(buf: Buffer): { width: number; height: number } {
  assert.ok(buf.subarray(1, 4).toString('latin1') === 'PNG', 'not a PNG');
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

export function parseWav(buf: Buffer): { seconds: number; peakAfter(sec: number): number } {
  assert.equal(buf.subarray(0, 4).toString('latin1'), 'RIFF', 'not a WAV');
  assert.equal(buf.subarray(8, 12).toString('latin1'), 'WAVE', 'not a WAV');
  let off = 12;
  let rate = 0;
  let channels = 0;
  let bits = 0;
  while (off + 8 <= buf.length) {
    const id = buf.subarray(off, off + 4).toString('latin1');
    const size = buf.readUInt32LE(off + 4);
    if (id === 'fmt ') {
      channels = buf.readUInt16LE(off + 10);
      rate = buf.readUInt32LE(off + 12);
      bits = buf.readUInt16LE(off + 22);
    } else if (id === 'data') {
      assert.equal(bits, 16, 'expected 16-bit PCM');
      const samples = buf.subarray(off + 8, off + 8 + size);
      const frameBytes = channels * 2;
      return {
        seconds: size / (rate * frameBytes),
        peakAfter(sec) {
          let peak = 0;
          for (let i = Math.floor(sec * rate) * frameBytes; i + 1 < samples.length; i += 2) {
            peak = Math.max(peak, Math.abs(samples.readInt16LE(i)));
          }
          return peak;
        },
      };
    }
    off += 8 + size + (size % 2);
  }
  throw new Error('WAV without a data chunk');
}
