// Device health (collectHealth), the status file, and what `npm run status` prints.
import { captureLogger } from './hw-fakes.ts';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Bus } from '../device/bus.ts';
import { configSchema } from '../device/config/schema.ts';
import type { ExtensionContext } from '../device/extension.ts';
import { createHealthExtension, statusWriteTrouble } from '../device/health-extension.ts';
import type { QueueService } from '../device/queue/service.ts';
import type { QueueEvent } from '../device/queue/types.ts';
import { gatherStatus, otherRelease, renderStatus, statusJson } from '../deploy/status-report.ts';
import {
  collectHealth,
  type DeviceHealth,
  type HealthDeps,
  readStatusFile,
  STATUS_FILE,
  writeStatusFile,
} from '../device/health.ts';
import { healthy } from '../device/ports/health.ts';

const NOW = Date.parse('2026-11-26T01:15:00.000Z');
let dir: string;
let sys: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'beonho-health-'));
  sys = join(dir, 'sys');
  await mkdir(join(sys, 'class/thermal/thermal_zone0'), { recursive: true });
  await writeFile(join(sys, 'class/thermal/thermal_zone0/temp'), '48213\n');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const deps = (over: Partial<HealthDeps> = {}): Partial<HealthDeps> => ({
  now: () => NOW,
  sysRoot: sys,
  statfs: async () => ({ bavail: 1_000_000, blocks: 4_000_000, bsize: 4096 }),
  memoryUsage: () => ({ rss: 90_000_000, heapUsed: 40_000_000 }),
  freemem: () => 3_000_000_000,
  totalmem: () => 4_000_000_000,
  systemUptimeSec: () => 86_400.7,
  ...over,
});

const input = {
  dataDir: '/var/lib/beonho',
  office: 'singok2',
  device: 'main',
  startedAt: NOW - 3_725_000,
  bytesWritten: 1_234_567,
  ticketsIssued: 812,
  components: new Map([
    ['keypad-1', healthy({ pressesRejected: 3, sinks: [{ nested: 'left out' }] })],
    ['printer', { connected: false, lastError: 'printer-offline', lastErrorAt: '2026-11-26T10:01:00.000+09:00' }],
  ]),
};

// node's own, kept before a test fakes the timers: waiting for real file I/O needs real time
const realSetTimeout = globalThis.setTimeout;
describe('collectHealth', () => {
  it('gathers version, uptime, disk, memory, temperature, writes per ticket and component errors', async () => {
    const h = await collectHealth(input, deps());
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '../package.json'), 'utf8')) as { version: string };
    expect(h).toEqual({
      v: 1,
      office: 'singok2',
      device: 'main',
      at: '2026-11-26T01:15:00.000Z',
      version: pkg.version,
      node: process.versions.node,
      uptimeSec: 3725,
      systemUptimeSec: 86401,
      disk: {
        path: '/var/lib/beonho',
        freeBytes: 4_096_000_000,
        totalBytes: 16_384_000_000,
        freePct: 25,
        blockBytes: 4096,
      },
      memory: {
        rssBytes: 90_000_000,
        heapUsedBytes: 40_000_000,
        systemFreeBytes: 3_000_000_000,
        systemTotalBytes: 4_000_000_000,
      },
      cpuTempC: 48.2,
      writes: { bytesWritten: 1_234_567, ticketsIssued: 812, bytesPerTicket: 1520 },
      components: {
        // scalar counters pass through (presses refused by the rate limit, etc.)
        'keypad-1': { connected: true, lastError: null, lastErrorAt: null, pressesRejected: 3 },
        printer: { connected: false, lastError: 'printer-offline', lastErrorAt: '2026-11-26T10:01:00.000+09:00' },
      },
    });
  });

  it('reports no temperature where the board has none, no disk when statfs fails, no ratio before a ticket', async () => {
    const h = await collectHealth(
      { ...input, ticketsIssued: 0, components: {} },
      deps({ sysRoot: join(dir, 'nowhere'), statfs: () => Promise.reject(new Error('ENOENT')) }),
    );
    expect(h.cpuTempC).toBeNull();
    expect(h.disk).toBeNull();
    expect(h.writes.bytesPerTicket).toBeNull();
    expect(h.components).toEqual({});
  });

  it('measures the real data dir with the default statfs', async () => {
    const h = await collectHealth({ ...input, dataDir: dir }, { now: () => NOW, sysRoot: sys });
    expect(h.disk?.totalBytes).toBeGreaterThan(0);
    expect(h.disk?.freeBytes).toBeLessThanOrEqual(h.disk?.totalBytes ?? 0);
  });
});

describe('the status file', () => {
  it('is written atomically and read back; no temp file stays behind', async () => {
    const h = await collectHealth(input, deps());
    await writeStatusFile(join(dir, 'run'), h);
    await writeStatusFile(join(dir, 'run'), { ...h, uptimeSec: 3755 });
    expect(await readdir(join(dir, 'run'))).toEqual([STATUS_FILE]);
    const r = await readStatusFile(join(dir, 'run'));
    expect(r.ok && r.health.uptimeSec).toBe(3755);
  });

  it('says missing or corrupt instead of throwing', async () => {
    expect(await readStatusFile(join(dir, 'none'))).toMatchObject({ ok: false, reason: 'missing' });
    await writeFile(join(dir, STATUS_FILE), '{"v":1,"at"');
    expect(await readStatusFile(dir)).toMatchObject({ ok: false, reason: 'corrupt' });
    await writeFile(join(dir, STATUS_FILE), '{"v":2,"at":"x"}');
    expect(await readStatusFile(dir)).toMatchObject({ ok: false, reason: 'corrupt' });
  });
});

describe('npm run status', () => {
  /** a status file the daemon wrote at `at` by its own clock, at `mtime` by the system's */
  async function written(at: number, where = join(dir, 'run'), mtime = at): Promise<DeviceHealth> {
    const h = await collectHealth(input, deps({ now: () => at }));
    await writeStatusFile(where, h);
    await utimes(join(where, STATUS_FILE), mtime / 1000, mtime / 1000);
    return h;
  }

  it('prints the daemon status with live disk and temperature, fresh within 90 s', async () => {
    await written(NOW - 12_000);
    const r = await gatherStatus({ dirs: [join(dir, 'run'), join(dir, 'data')], dataDir: '/var/lib/beonho' }, deps());
    expect(r.stale).toBe(false);
    expect(r.ageSec).toBe(12);
    const text = renderStatus(r);
    expect(text).toMatch(/^status file +.*run\/status\.json, written 12 s ago$/m);
    expect(text).toMatch(/^office \/ device +singok2 \/ main$/m);
    expect(text).toMatch(/^daemon uptime +1 h 1 min$/m);
    expect(text).toMatch(
      /^disk \(data dir\) +3\.8 GiB free of 15\.3 GiB \(25 %\) on \/var\/lib\/beonho, 4096-byte blocks \(1024-byte blocks send an SD card less: docs\/deploy\.md, "SD-card wear"\)$/m,
    );
    expect(text).toMatch(/^CPU temperature +48\.2 °C$/m);
    expect(text).toMatch(/^writes \/ ticket +1\.5 KiB \(812 tickets, 1\.2 MiB since start\)$/m);
    expect(text).toMatch(/^ {2}printer +DISCONNECTED, last error printer-offline at 2026-11-26T10:01:00\.000\+09:00$/m);
    expect(text).toMatch(/^ {2}keypad-1 +connected$/m);
    // a data partition formatted as docs/deploy.md says: no advice
    const small = await gatherStatus(
      { dirs: [join(dir, 'run')], dataDir: '/var/lib/beonho' },
      deps({ statfs: async () => ({ bavail: 4_000_000, blocks: 16_000_000, bsize: 1024 }) }),
    );
    expect(renderStatus(small)).toMatch(/^disk \(data dir\) +.* on \/var\/lib\/beonho, 1024-byte blocks$/m);
  });

  it('says NOT READY for a printer that is connected but cannot print (paper out while online)', async () => {
    // lastError is the last failure, kept after the refill: only `ready` tells out from refilled
    const at = '2026-11-26T01:01:00.000Z';
    const printer = (ready: boolean) => ({ connected: true, lastError: 'printer-paper-out', lastErrorAt: at, ready });
    const render = async (ready: boolean): Promise<string> => {
      const h = await collectHealth({ ...input, components: new Map([['printer', printer(ready)]]) }, deps());
      await writeStatusFile(join(dir, 'run'), h);
      return renderStatus(await gatherStatus({ dirs: [join(dir, 'run')], dataDir: '/var/lib/beonho' }, deps()));
    };
    expect(await render(false)).toMatch(/^ {2}printer +connected, NOT READY, last error printer-paper-out at /m);
    expect(await render(true)).toMatch(/^ {2}printer +connected, last error printer-paper-out at /m);
  });

  it('says what holds now beside the last error: the voice resting, senders out of command ids', async () => {
    const at = '2026-11-26T01:01:00.000Z';
    const components = new Map<string, Record<string, unknown>>([
      [
        'audio',
        {
          connected: true,
          lastError: null,
          lastErrorAt: null,
          lastCallError: 'speech-oom-killed',
          voiceRestsUntil: at,
        },
      ],
      ['commands', { connected: true, lastError: 'command-memory-full', lastErrorAt: at, full: ['broker:central'] }],
      ['printer', { connected: true, lastError: null, lastErrorAt: null, voiceRestsUntil: null, full: [] }],
    ]);
    const h = await collectHealth({ ...input, components } as typeof input, deps());
    await writeStatusFile(join(dir, 'run'), h);
    const text = renderStatus(await gatherStatus({ dirs: [join(dir, 'run')], dataDir: '/var/lib/beonho' }, deps()));
    expect(text).toMatch(
      /^ {2}audio +connected; voice RESTS until 2026-11-26T01:01:00\.000Z, calls by the chime alone$/m,
    );
    expect(text).toMatch(
      /^ {2}commands +connected, last error command-memory-full at .*; OUT OF COMMAND IDS today: broker:central \(mqtt\.commands\.idsPerDay\)$/m,
    );
    expect(text).toMatch(/^ {2}printer +connected$/m);
  });

  it("prints the link's failure with its reason, which the status file carries", async () => {
    const link = {
      connected: false,
      lastError: 'uplink-down',
      lastErrorAt: '2026-11-26T10:02:00.000+09:00',
      lastErrorReason: 'connect ECONNREFUSED 10.20.0.5:8883',
    };
    const h = await collectHealth({ ...input, components: new Map([['mqtt-uplink', link]]) }, deps());
    await writeStatusFile(join(dir, 'run'), h);
    const text = renderStatus(await gatherStatus({ dirs: [join(dir, 'run')], dataDir: '/var/lib/beonho' }, deps()));
    expect(text).toMatch(
      /^ {2}mqtt-uplink +DISCONNECTED, last error uplink-down \(connect ECONNREFUSED 10\.20\.0\.5:8883\) at 2026-11-26T10:02:00\.000\+09:00$/m,
    );
  });

  it("prints no control character of the status file to the admin's terminal", async () => {
    // status.json is the daemon's (user beonho, listening on the LAN); `sudo npm run status` prints
    // it to a root terminal, where ESC and its kin would set the title, the clipboard (OSC 52) or
    // hide lines
    const esc = '\u001b]52;c;ZWNobyBwd25lZA==\u0007\u001b[2K\r\u009b1A';
    await mkdir(join(dir, 'run'), { recursive: true });
    const h = await collectHealth(input, deps());
    const bad = {
      ...h,
      office: `singok2${esc}`,
      version: `0.1.0${esc}`,
      components: { [`keypad-1${esc}`]: { connected: false, lastError: `keypad-unplugged${esc}`, lastErrorAt: esc } },
    };
    await writeFile(join(dir, 'run', STATUS_FILE), JSON.stringify(bad));
    const text = renderStatus(await gatherStatus({ dirs: [join(dir, 'run')], dataDir: '/var/lib/beonho' }, deps()));
    const controls = [...text].filter((ch) => {
      const c = ch.codePointAt(0) ?? 0;
      return (c < 0x20 && ch !== '\n') || (c >= 0x7f && c <= 0x9f);
    });
    expect(controls).toEqual([]);
    expect(text).toMatch(/^office \/ device +singok2\?\]52;c;ZWNobyBwd25lZA==\?\?\[2K\?\?1A \/ main$/m);
    expect(text).toMatch(/^ {2}keypad-1\?.* +DISCONNECTED, last error keypad-unplugged\?/m);
  });

  it('prints no C1 control or bidirectional override of the status file with --json either', async () => {
    // JSON.stringify escapes C0 but leaves U+009B (a C1 CSI) and U+202E (right-to-left override,
    // which redraws the rest of the line backwards) as they are
    const evil = '\u009b2J\u202edetcennoc\u2066x\u2069\u200f';
    await mkdir(join(dir, 'run'), { recursive: true });
    const h = await collectHealth(input, deps());
    const bad = { ...h, office: `singok2${evil}`, components: { [`keypad-1${evil}`]: { connected: false } } };
    await writeFile(join(dir, 'run', STATUS_FILE), JSON.stringify(bad));
    const report = await gatherStatus({ dirs: [join(dir, 'run')], dataDir: '/var/lib/beonho' }, deps());
    for (const text of [statusJson(report), renderStatus(report)]) {
      const unsafe = [...text].filter((ch) => {
        const c = ch.codePointAt(0) ?? 0;
        return (
          (c < 0x20 && ch !== '\n') || (c >= 0x7f && c <= 0x9f) || /[\u200e\u200f\u202a-\u202e\u2066-\u2069]/.test(ch)
        );
      });
      expect(unsafe).toEqual([]);
    }
    // the same values to a script that parses it
    const parsed = JSON.parse(statusJson(report));
    expect(parsed.file.health.office).toBe(`singok2${evil}`);
    expect(Object.keys(parsed.file.health.components)).toContain(`keypad-1${evil}`);
    expect(statusJson(report)).toContain('"office": "singok2\\u009b2J\\u202edetcennoc\\u2066x\\u2069\\u200f"');
  });

  it('says while the latest call got the chime alone, not after a call was spoken again', async () => {
    const audio = (lastCallVoiced: boolean) =>
      new Map<string, Record<string, unknown>>([
        [
          'audio',
          {
            connected: true,
            lastError: null,
            lastErrorAt: null,
            lastCallError: 'speech-low-memory',
            lastCallVoiced,
            voiceRestsUntil: null,
          },
        ],
      ]);
    const render = async (components: Map<string, Record<string, unknown>>) => {
      const h = await collectHealth({ ...input, components } as typeof input, deps());
      await writeStatusFile(join(dir, 'run'), h);
      return renderStatus(await gatherStatus({ dirs: [join(dir, 'run')], dataDir: '/var/lib/beonho' }, deps()));
    };
    expect(await render(audio(false))).toMatch(
      /^ {2}audio +connected; the last call had NO VOICE \(speech-low-memory\): chime alone$/m,
    );
    expect(await render(audio(true))).toMatch(/^ {2}audio +connected$/m);
  });

  it('says when the config file changed after the daemon started (no live reload: a restart is needed)', async () => {
    // the daemon wrote its status at NOW, up 3725 s: it started at NOW - 3725 s by the system clock
    await written(NOW);
    const config = join(dir, 'config.yaml');
    await writeFile(config, 'office: {}\n');
    const report = async (mtime: number): Promise<string> => {
      await utimes(config, mtime / 1000, mtime / 1000);
      const r = await gatherStatus(
        { dirs: [join(dir, 'run')], dataDir: '/var/lib/beonho', configFile: config },
        deps(),
      );
      return renderStatus(r);
    };
    expect(await report(NOW - 3_800_000)).not.toMatch(/^config /m);
    expect(await report(NOW - 60_000)).toMatch(/^config +CHANGED since the daemon started: .*restart/m);
  });

  it('flags a stale status and a missing one', async () => {
    await written(NOW - 5 * 60_000);
    const stale = await gatherStatus({ dirs: [join(dir, 'run')], dataDir: dir }, deps());
    expect(stale.stale).toBe(true);
    expect(renderStatus(stale)).toMatch(/written 5 min ago {2}<< STALE: is the daemon running\?/);
    const none = await gatherStatus({ dirs: [join(dir, 'empty')], dataDir: dir }, deps());
    expect(none.stale).toBe(true);
    expect(renderStatus(none)).toMatch(/empty\/status\.json: none yet/);
    expect(renderStatus(none)).toMatch(/^CPU temperature +48\.2 °C$/m);
  });

  it("tells fresh from stale by the system's clock when the daemon's own time keeps away from it", async () => {
    // A board booted at 1970 whose NTP never answers: the daemon goes on from its last event, hours
    // ahead of the system clock. Dead for five minutes, it must not look fresh.
    await written(NOW + 9 * 3600_000, join(dir, 'run'), NOW - 5 * 60_000);
    const dead = await gatherStatus({ dirs: [join(dir, 'run')], dataDir: dir }, deps());
    expect(dead).toMatchObject({ stale: true, ageSec: 300 });
    // A step made by chrony, which the daemon does not follow (no timesyncd flag): its time is
    // hours behind the system's. Written 10 s ago, it is running.
    await written(NOW - 8 * 3600_000, join(dir, 'run'), NOW - 10_000);
    const running = await gatherStatus({ dirs: [join(dir, 'run')], dataDir: dir }, deps());
    expect(running).toMatchObject({ stale: false, ageSec: 10 });
  });

  it('takes the newest of the runtime dir and the data dir', async () => {
    await written(NOW - 60_000, join(dir, 'data'));
    await utimes(join(dir, 'data', STATUS_FILE), (NOW - 60_000) / 1000, (NOW - 60_000) / 1000);
    await written(NOW - 5_000, join(dir, 'run'));
    await utimes(join(dir, 'run', STATUS_FILE), (NOW - 5_000) / 1000, (NOW - 5_000) / 1000);
    const r = await gatherStatus({ dirs: [join(dir, 'data'), join(dir, 'run')], dataDir: dir }, deps());
    expect(r.file.path).toBe(join(dir, 'run', STATUS_FILE));
  });

  it('--json prints the same for a script, and exits 0 while the status is fresh', async () => {
    await writeStatusFile(join(dir, 'run'), await collectHealth(input, deps({ now: Date.now })));
    const r = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'deploy/status.ts', '--json', '--run-dir', join(dir, 'run'), '--data-dir', dir],
      { cwd: join(import.meta.dirname, '..') },
    );
    const report = JSON.parse(r.stdout) as { stale: boolean; file: { ok: boolean; health: DeviceHealth } };
    expect(report.stale).toBe(false);
    expect(report.file.health.components.printer?.lastError).toBe('printer-offline');
  });
});

describe('the health extension', () => {
  const config = configSchema.parse({
    office: { id: 'singok2', name: '신곡2동' },
    services: [{ id: 'resident', name: '주민등록', numbers: { from: 1001, to: 1999 } }],
    counters: [{ id: '1', name: '1번 창구', services: ['resident'] }],
  });
  const ctx = (): ExtensionContext => ({
    config,
    bus: new Bus(),
    queue: {} as QueueService,
    logger: pino({ level: 'silent' }),
    dataDir: dir,
    now: () => NOW,
  });
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  };
  /** Until `cond` holds, in real time (these tests fake the timers; the file I/O is real and may be
   * slow on a busy machine), at most 10 s. */
  const until = async (cond: () => boolean | Promise<boolean>): Promise<void> => {
    const end = Date.now() + 10_000;
    while (!(await cond()) && Date.now() < end) await new Promise((r) => realSetTimeout(r, 5));
  };
  /** The status file once `ok` holds for it (the write is real file I/O). */
  const statusWhen = async (ok: (h: DeviceHealth) => boolean): Promise<Awaited<ReturnType<typeof readStatusFile>>> => {
    let read = await readStatusFile(join(dir, 'run'));
    await until(async () => {
      read = await readStatusFile(join(dir, 'run'));
      return read.ok && ok(read.health);
    });
    return read;
  };
  /** Until `fn` was called `n` times: a write waits for the one before it, whose file I/O is real. */
  const calledTimes = (fn: { mock: { calls: unknown[] } }, n: number): Promise<void> =>
    until(() => fn.mock.calls.length >= n);
  afterEach(() => {
    vi.useRealTimers();
  });

  it('writes status.json on start, every 30 s and on stop, counting tickets and errors from the bus', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'] });
    const c = ctx();
    let bytes = 0;
    const statfs = vi.fn(async () => ({ bavail: 1, blocks: 2, bsize: 4096 }));
    const ext = createHealthExtension(c, {
      bytesWritten: () => bytes,
      dir: join(dir, 'run'),
      startedAt: NOW,
      deps: deps({ statfs }),
    });
    await ext.start();
    expect(statfs).toHaveBeenCalledTimes(1);
    const first = await readStatusFile(join(dir, 'run'));
    expect(first.ok && first.health.writes).toEqual({ bytesWritten: 0, ticketsIssued: 0, bytesPerTicket: null });

    const issued = { type: 'ticket.issued' } as QueueEvent;
    c.bus.emit('queueEvents', { events: [issued, { type: 'ticket.called' } as QueueEvent, issued] });
    c.bus.emit('healthChanged', {
      component: 'printer',
      health: { connected: false, lastError: 'printer-offline', lastErrorAt: null },
    });
    bytes = 3000;
    // the printer's change is written within a second (below); then the next is the 30 s one
    vi.advanceTimersByTime(1_000);
    await calledTimes(statfs, 2);
    expect(statfs).toHaveBeenCalledTimes(2);
    vi.advanceTimersByTime(28_999);
    await settle();
    expect(statfs).toHaveBeenCalledTimes(2);
    vi.advanceTimersByTime(1);
    await calledTimes(statfs, 3);
    expect(statfs).toHaveBeenCalledTimes(3);
    // the write itself is real file I/O: wait for it to land
    const second = await statusWhen((h) => h.writes.bytesWritten === 3000);
    expect(second.ok && second.health.writes).toEqual({ bytesWritten: 3000, ticketsIssued: 2, bytesPerTicket: 1500 });
    expect(second.ok && second.health.components.printer?.lastError).toBe('printer-offline');

    await ext.stop();
    expect(statfs).toHaveBeenCalledTimes(4);
    c.bus.emit('queueEvents', { events: [issued] });
    expect((await ext.current()).writes.ticketsIssued).toBe(2);
  });

  it("writes within a second of a component's connection or error changing, not at every report", async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'] });
    const c = ctx();
    const statfs = vi.fn(async () => ({ bavail: 1, blocks: 2, bsize: 4096 }));
    const ext = createHealthExtension(c, { bytesWritten: () => 0, dir: join(dir, 'run'), deps: deps({ statfs }) });
    await ext.start();
    expect(statfs).toHaveBeenCalledTimes(1);
    const link = (connected: boolean, lastError: string | null) =>
      c.bus.emit('healthChanged', { component: 'main-link', health: { connected, lastError, lastErrorAt: null } });
    // a satellite's link drops (the cable pulled), and a moment later says why: one write
    link(false, null);
    link(false, 'main-link-reset');
    vi.advanceTimersByTime(999);
    await settle();
    expect(statfs).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1);
    await calledTimes(statfs, 2);
    expect(statfs).toHaveBeenCalledTimes(2);
    const read = await statusWhen((h) => Boolean(h.components['main-link']?.lastError));
    expect(read.ok && read.health.components['main-link']).toMatchObject({
      connected: false,
      lastError: 'main-link-reset',
    });
    // the same again (a component that reports each attempt) changes nothing: no write before the 30 s one
    link(false, 'main-link-reset');
    vi.advanceTimersByTime(5_000);
    await settle();
    expect(statfs).toHaveBeenCalledTimes(2);
    // linked again: written
    link(true, 'main-link-reset');
    vi.advanceTimersByTime(1_000);
    await calledTimes(statfs, 3);
    expect(statfs).toHaveBeenCalledTimes(3);
    await ext.stop();
  });

  it('writes within a second when only `ready` changes (a printer refilled keeps its lastError)', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'] });
    const c = ctx();
    const statfs = vi.fn(async () => ({ bavail: 1, blocks: 2, bsize: 4096 }));
    const ext = createHealthExtension(c, { bytesWritten: () => 0, dir: join(dir, 'run'), deps: deps({ statfs }) });
    await ext.start();
    const printer = (ready: boolean) =>
      c.bus.emit('healthChanged', {
        component: 'printer',
        health: { connected: true, lastError: 'printer-paper-out', lastErrorAt: null, ready },
      });
    printer(false);
    vi.advanceTimersByTime(1_000);
    await calledTimes(statfs, 2);
    // refilled: connected and lastError as they were, ready again
    printer(true);
    vi.advanceTimersByTime(1_000);
    await calledTimes(statfs, 3);
    expect(statfs).toHaveBeenCalledTimes(3);
    const read = await statusWhen((h) => h.components.printer?.ready === true);
    expect(read.ok && read.health.components.printer).toMatchObject({ ready: true, lastError: 'printer-paper-out' });
    await ext.stop();
  });

  it("writes within a second when only the uplink's `commands: refused` goes (its lastError is kept)", async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'] });
    const c = ctx();
    const statfs = vi.fn(async () => ({ bavail: 1, blocks: 2, bsize: 4096 }));
    const ext = createHealthExtension(c, { bytesWritten: () => 0, dir: join(dir, 'run'), deps: deps({ statfs }) });
    await ext.start();
    const failure = { connected: true, lastError: 'uplink-subscribe-failed', lastErrorAt: null };
    c.bus.emit('healthChanged', { component: 'mqtt-uplink', health: { ...failure, commands: 'refused' } });
    vi.advanceTimersByTime(1_000);
    await calledTimes(statfs, 2);
    // central's ACL fixed: the subscription taken, the refusal kept as the last failure
    c.bus.emit('healthChanged', { component: 'mqtt-uplink', health: failure });
    vi.advanceTimersByTime(1_000);
    await calledTimes(statfs, 3);
    const read = await statusWhen((h) => h.components['mqtt-uplink']?.commands === undefined);
    expect(read.ok && read.health.components['mqtt-uplink']).toEqual(failure);
    await ext.stop();
  });

  it('queues at most one write behind a slow one, however often a part flaps meanwhile', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'] });
    const c = ctx();
    // a card that stalls: each write's statfs waits until the test lets it go
    let stall = false;
    const waiting: Array<() => void> = [];
    const statfs = vi.fn(async () => {
      if (stall) await new Promise<void>((r) => waiting.push(r));
      return { bavail: 1, blocks: 2, bsize: 4096 };
    });
    const ext = createHealthExtension(c, { bytesWritten: () => 0, dir: join(dir, 'run'), deps: deps({ statfs }) });
    await ext.start();
    stall = true;
    for (let i = 0; i < 40; i++) {
      c.bus.emit('healthChanged', {
        component: 'printer',
        health: { connected: i % 2 === 0, lastError: i % 2 === 0 ? null : 'printer-offline', lastErrorAt: null },
      });
      vi.advanceTimersByTime(1_000);
      await settle();
    }
    // one write stalled in statfs, one queued behind it: not forty
    expect(statfs).toHaveBeenCalledTimes(2);
    stall = false;
    for (const go of waiting.splice(0)) go();
    await calledTimes(statfs, 3);
    await settle();
    expect(statfs).toHaveBeenCalledTimes(3);
    await ext.stop();
    expect(statfs).toHaveBeenCalledTimes(4);
  });

  it("goes to systemd's runtime dir by default, else to the data dir", async () => {
    const a = createHealthExtension(ctx(), {
      bytesWritten: () => 0,
      env: { RUNTIME_DIRECTORY: join(dir, 'rt') },
      deps: deps(),
    });
    await a.start();
    await a.stop();
    expect((await readStatusFile(join(dir, 'rt'))).ok).toBe(true);
    const b = createHealthExtension(ctx(), { bytesWritten: () => 0, env: {}, deps: deps() });
    await b.start();
    await b.stop();
    expect((await readStatusFile(dir)).ok).toBe(true);
  });

  it('keeps running when the status file cannot be written', async () => {
    await writeFile(join(dir, 'blocker'), 'a file where a directory should be');
    const { logger, lines } = captureLogger();
    const ext = createHealthExtension(
      { ...ctx(), logger },
      { bytesWritten: () => 0, dir: join(dir, 'blocker', 'run'), deps: deps() },
    );
    await ext.start();
    await ext.stop();
    // start and stop did not throw, the failure was said once (not at every write), and the
    // health is still there for the MQTT status
    expect(lines.filter((l) => l.code === 'status-write-failed')).toHaveLength(1);
    expect(await ext.current()).toMatchObject({ office: 'singok2', writes: { ticketsIssued: 0 } });
  });

  it("says a full or read-only card as such, not as the directory's permissions", () => {
    const e = (code: string) => Object.assign(new Error(code), { code });
    expect(statusWriteTrouble(e('ENOSPC'))).toBe('the disk is full');
    expect(statusWriteTrouble(e('EROFS'))).toMatch(/^the file system is read-only/);
    expect(statusWriteTrouble(e('EIO'))).toBe('the disk fails to write');
    expect(statusWriteTrouble(e('EACCES'))).toMatch(/writable by the service/);
  });
});

describe('the running release against the installed one', () => {
  it('tells two builds of one version apart by their commit, and a run from source from neither', () => {
    expect(otherRelease('0.1.0+690e177', '0.1.0+98ecc54')).toBe(true);
    expect(otherRelease('0.1.0+690e177', '0.1.0+690e177')).toBe(false);
    expect(otherRelease('0.1.0+690e177', '0.2.0+690e177')).toBe(true);
    // a daemon run from source in a checkout, a build of the same version beside it
    expect(otherRelease('0.1.0', '0.1.0+98ecc54')).toBe(false);
    expect(otherRelease('0.1.0', '0.2.0')).toBe(true);
  });
});
