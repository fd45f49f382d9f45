// The device's own health, for the MQTT status topic and for `npm run status` on site: version,
// uptime, free disk on the data dir, memory, CPU temperature, SD-card writes per ticket and the last
// error of each component. Everything that touches the machine is injectable so a test can pin it.
import { mkdir, readFile, statfs } from 'node:fs/promises';
import * as os from 'node:os';
import { join } from 'node:path';
import type { ComponentHealth } from './ports/health.ts';
import { replaceFile } from './store/fs.ts';
import { packageVersion } from './util/build-root.ts';

export interface DeviceHealth {
  v: 1;
  office?: string;
  device?: string;
  /** when it was collected, ISO 8601 UTC */
  at: string;
  /** package.json version of the running release */
  version: string;
  node: string;
  /** seconds since the daemon started */
  uptimeSec: number;
  /** seconds since the machine booted */
  systemUptimeSec: number;
  /** the file system holding the data dir; null when it cannot be read. `blockBytes`: its block,
   * the least an fdatasync sends to the card (docs/deploy.md, "SD-card wear") */
  disk: { path: string; freeBytes: number; totalBytes: number; freePct: number; blockBytes: number } | null;
  memory: { rssBytes: number; heapUsedBytes: number; systemFreeBytes: number; systemTotalBytes: number };
  /** the SoC temperature in °C; null where the board exposes none */
  cpuTempC: number | null;
  /** SD-card wear: bytes the store wrote to the data dir, over tickets issued, since the start */
  writes: { bytesWritten: number; ticketsIssued: number; bytesPerTicket: number | null };
  /** last error per component (hardware, outputs, bridge, store); null when it never failed */
  components: Record<string, ComponentStatus>;
}

/** A component's part of the status: the common three fields, plus its scalar counters (e.g.
 * `rejected`: presses refused by a button's rate limit; `framesWritten`; `announced`) and lists
 * of words as one comma-separated string. */
export type ComponentStatus = { connected: boolean; lastError: string | null; lastErrorAt: string | null } & Record<
  string,
  string | number | boolean | null
>;

export interface HealthInput {
  dataDir: string;
  office?: string;
  device?: string;
  /** epoch ms the daemon started */
  startedAt: number;
  /** the store's counters since the start */
  bytesWritten: number;
  ticketsIssued: number;
  components: ReadonlyMap<string, ComponentHealth> | Record<string, ComponentHealth>;
}

export interface HealthDeps {
  now: () => number;
  /** where /sys is; a test points it at a fixture */
  sysRoot: string;
  statfs: (path: string) => Promise<{ bavail: number; blocks: number; bsize: number }>;
  memoryUsage: () => { rss: number; heapUsed: number };
  freemem: () => number;
  totalmem: () => number;
  systemUptimeSec: () => number;
  version: () => string;
}

export const defaultHealthDeps: HealthDeps = {
  now: Date.now,
  sysRoot: '/sys',
  statfs: (path) => statfs(path),
  memoryUsage: () => process.memoryUsage(),
  freemem: os.freemem,
  totalmem: os.totalmem,
  systemUptimeSec: os.uptime,
  version: packageVersion,
};

export async function collectHealth(input: HealthInput, deps: Partial<HealthDeps> = {}): Promise<DeviceHealth> {
  const d = { ...defaultHealthDeps, ...deps };
  const now = d.now();
  const mem = d.memoryUsage();
  const entries = input.components instanceof Map ? [...input.components] : Object.entries(input.components);
  const components: DeviceHealth['components'] = {};
  for (const [name, h] of entries) {
    const out: ComponentStatus = { connected: h.connected, lastError: h.lastError, lastErrorAt: h.lastErrorAt };
    // Scalars only: nested driver details stay in the logs, the status stays small and flat. A
    // list of words (the `commands` component's senders out of ids) is one string, comma-separated.
    for (const [k, v] of Object.entries(h)) {
      if (k in out) continue;
      if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
      else if (Array.isArray(v) && v.every((x) => typeof x === 'string')) out[k] = v.join(', ');
    }
    components[name] = out;
  }
  return {
    v: 1,
    ...(input.office ? { office: input.office } : {}),
    ...(input.device ? { device: input.device } : {}),
    at: new Date(now).toISOString(),
    version: d.version(),
    node: process.versions.node,
    uptimeSec: Math.max(0, Math.round((now - input.startedAt) / 1000)),
    systemUptimeSec: Math.round(d.systemUptimeSec()),
    disk: await diskFree(input.dataDir, d),
    memory: {
      rssBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
      systemFreeBytes: d.freemem(),
      systemTotalBytes: d.totalmem(),
    },
    cpuTempC: await cpuTemperature(d.sysRoot),
    writes: {
      bytesWritten: input.bytesWritten,
      ticketsIssued: input.ticketsIssued,
      bytesPerTicket: input.ticketsIssued > 0 ? Math.round(input.bytesWritten / input.ticketsIssued) : null,
    },
    components,
  };
}

export async function diskFree(
  path: string,
  deps: Pick<HealthDeps, 'statfs'> = defaultHealthDeps,
): Promise<DeviceHealth['disk']> {
  try {
    const s = await deps.statfs(path);
    const freeBytes = s.bavail * s.bsize;
    const totalBytes = s.blocks * s.bsize;
    return {
      path,
      freeBytes,
      totalBytes,
      freePct: totalBytes > 0 ? Math.round((freeBytes / totalBytes) * 1000) / 10 : 0,
      blockBytes: s.bsize,
    };
  } catch {
    return null;
  }
}

/** thermal_zone0 is the SoC on a Raspberry Pi; the file holds millidegrees. */
export async function cpuTemperature(sysRoot = '/sys'): Promise<number | null> {
  try {
    const raw = (await readFile(join(sysRoot, 'class/thermal/thermal_zone0/temp'), 'utf8')).trim();
    const milli = Number(raw);
    return raw !== '' && Number.isFinite(milli) ? Math.round(milli / 100) / 10 : null;
  } catch {
    return null;
  }
}

export const STATUS_FILE = 'status.json';

/**
 * Writes <dir>/status.json for `npm run status`. Atomic for readers (temp file, then rename), but not
 * fsync'd: it is rewritten every 30 s and losing it in a power cut costs nothing, while every fsync
 * costs the SD card. Pass the runtime dir ($RUNTIME_DIRECTORY, /run/beonho: tmpfs) when there is one.
 * The temp file has the store's pattern: in the data dir, start-up removes one a power cut left
 * (the runtime dir is emptied by systemd whenever the service stops).
 */
export async function writeStatusFile(dir: string, health: DeviceHealth): Promise<void> {
  await mkdir(dir, { recursive: true });
  await replaceFile(join(dir, STATUS_FILE), `${JSON.stringify(health, null, 2)}\n`);
}

export type StatusFileRead =
  | { ok: true; health: DeviceHealth; path: string }
  | { ok: false; reason: 'missing' | 'denied' | 'corrupt'; path: string };

/** The status file; `denied` tells a person on site to use sudo or join the beonho group. */
export async function readStatusFile(dir: string): Promise<StatusFileRead> {
  const path = join(dir, STATUS_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { ok: false, reason: code === 'EACCES' || code === 'EPERM' ? 'denied' : 'missing', path };
  }
  try {
    const parsed = JSON.parse(text) as Partial<DeviceHealth> | null;
    if (parsed && parsed.v === 1 && typeof parsed.at === 'string')
      return { ok: true, health: parsed as DeviceHealth, path };
  } catch {
    // fall through: a file we cannot parse is reported like one of the wrong shape
  }
  return { ok: false, reason: 'corrupt', path };
}
