// What `npm run status` shows a person on site: the daemon's last status file (the daemon owns the
// data dir, so we read what it wrote rather than open its store) plus the values we can measure
// live from here (disk, temperature, memory), so a dead daemon still gets a useful screen.
import { stat } from 'node:fs/promises';
import { ConfigError, loadConfig } from '../device/config/load.ts';
import {
  cpuTemperature,
  type DeviceHealth,
  diskFree,
  type HealthDeps,
  defaultHealthDeps,
  readStatusFile,
  type StatusFileRead,
} from '../device/health.ts';
import { type DriverChoice, driversOf } from '../device/simulated.ts';

/** The daemon rewrites its status every 30 s; three missed writes mean it is not running. */
export const STALE_AFTER_SEC = 90;

/** uptimeSec is rounded and the start takes a moment after the config is read: a config saved
 * within this of the start is taken as read by it */
const CONFIG_CLOCK_SLACK_MS = 2_000;

export interface StatusReport {
  /** the newest status file found, or why there is none */
  file: StatusFileRead;
  /** seconds since the daemon wrote it; null without a file */
  ageSec: number | null;
  stale: boolean;
  installedVersion: string;
  live: {
    disk: DeviceHealth['disk'];
    cpuTempC: number | null;
    systemFreeBytes: number;
    systemTotalBytes: number;
    systemUptimeSec: number;
  };
  /** `systemctl is-active beonho`, when asked for */
  service?: string;
  /** each part's driver as the installed config names it (`sim`: the simulator's), or why unknown */
  drivers?: DriverChoice[] | { unknown: string };
  /** the config file was written after the running daemon started: it runs the old one (no live
   * reload) until a restart */
  configChanged?: boolean;
}

export interface StatusOptions {
  /** where to look for status.json, in order: the runtime dir (tmpfs), then the data dir */
  dirs: string[];
  dataDir: string;
  /** the installed config, for the drivers it names (the daemon reads the same file at start) */
  configFile?: string;
}

export async function gatherStatus(o: StatusOptions, deps: Partial<HealthDeps> = {}): Promise<StatusReport> {
  const d = { ...defaultHealthDeps, ...deps };
  let file: StatusFileRead | null = null;
  let newest = -Infinity;
  let writtenAt = 0;
  for (const dir of o.dirs) {
    const r = await readStatusFile(dir);
    if (file === null) file = r;
    if (r.ok) {
      const mtime = await stat(r.path).then(
        (s) => s.mtimeMs,
        () => 0,
      );
      const at = Math.max(Date.parse(r.health.at) || 0, mtime);
      if (at > newest) {
        newest = at;
        file = r;
        writtenAt = mtime;
      }
    } else if (!file.ok && file.reason === 'missing' && r.reason !== 'missing') {
      file = r; // "denied" or "corrupt" says more than "missing"
    }
  }
  if (file === null) file = await readStatusFile(o.dataDir);
  const now = d.now();
  // The age by the file's mtime, which the kernel stamps from the same system clock we read now:
  // the `at` inside is the daemon's disciplined time (device/clock.ts), which keeps away from the
  // system clock for as long as a step goes unsynchronised (a boot at 1970 or behind the last
  // event on a network without NTP; a step made by chrony or ntpd, which the daemon cannot see).
  // Against our clock it made a dead daemon look fresh for ever, or a running one stale.
  const stamp = writtenAt > 0 ? writtenAt : file.ok ? Date.parse(file.health.at) : Number.NaN;
  const ageSec = file.ok ? Math.max(0, Math.round((now - stamp) / 1000)) : null;
  // The daemon's start by the system clock (the file's mtime less its uptime), set against the
  // config's mtime: the drivers line reads the file as it is now, which the daemon does not.
  const startedSys = file.ok && writtenAt > 0 ? writtenAt - file.health.uptimeSec * 1000 : null;
  const configChanged =
    o.configFile !== undefined && startedSys !== null
      ? await stat(o.configFile).then(
          (c) => c.mtimeMs > startedSys + CONFIG_CLOCK_SLACK_MS,
          () => false,
        )
      : undefined;
  return {
    file,
    ageSec,
    ...(o.configFile === undefined ? {} : { drivers: await configDrivers(o.configFile) }),
    ...(configChanged ? { configChanged } : {}),
    stale: ageSec === null || ageSec > STALE_AFTER_SEC,
    installedVersion: d.version(),
    live: {
      disk: await diskFree(o.dataDir, d),
      cpuTempC: await cpuTemperature(d.sysRoot),
      systemFreeBytes: d.freemem(),
      systemTotalBytes: d.totalmem(),
      systemUptimeSec: Math.round(d.systemUptimeSec()),
    },
  };
}

async function configDrivers(file: string): Promise<DriverChoice[] | { unknown: string }> {
  try {
    return driversOf((await loadConfig(file)).config);
  } catch (err) {
    return { unknown: err instanceof ConfigError ? `${file}: ${err.problems[0]}` : (err as Error).message };
  }
}

/** A simulated part reports itself connected, so the drivers line is where it shows. */
function driversRow(d: NonNullable<StatusReport['drivers']>): string {
  if (!Array.isArray(d)) return `unknown (${d.unknown})`;
  const list = d.map((x) => `${x.part} ${x.driver === 'sim' ? 'SIMULATED' : x.driver}`).join(', ');
  return d.some((x) => x.driver === 'sim')
    ? `${list}  << the simulator's drivers: set hardware and outputs in the config (docs/deploy.md, step 5)`
    : list;
}

export function renderStatus(r: StatusReport): string {
  const rows: Array<[string, string]> = [];
  const h = r.file.ok ? r.file.health : null;
  if (r.service !== undefined) rows.push(['service', r.service]);
  if (r.file.ok) {
    rows.push([
      'status file',
      `${r.file.path}, written ${duration(r.ageSec ?? 0)} ago${r.stale ? '  << STALE: is the daemon running?' : ''}`,
    ]);
  } else {
    const why = {
      missing: 'none yet: the daemon has not written one (not running, or just started)',
      denied: 'not readable by you: run with sudo, or `sudo usermod -aG beonho $USER` and log in again',
      corrupt: 'unreadable (not a status file of this version)',
    }[r.file.reason];
    rows.push(['status file', `${r.file.path}: ${why}`]);
  }
  if (h?.office || h?.device) rows.push(['office / device', `${h.office ?? '?'} / ${h.device ?? '?'}`]);
  if (r.drivers !== undefined) rows.push(['drivers', driversRow(r.drivers)]);
  if (r.configChanged)
    rows.push([
      'config',
      'CHANGED since the daemon started: it runs the old one  << restart to use it (sudo systemctl restart beonho)',
    ]);
  rows.push([
    'version',
    h
      ? `${h.version} running, ${r.installedVersion} installed${otherRelease(h.version, r.installedVersion) ? '  << restart to run the new release' : ''}`
      : `${r.installedVersion} installed`,
  ]);
  if (h) rows.push(['daemon uptime', duration(h.uptimeSec)]);
  rows.push(['system uptime', duration(r.live.systemUptimeSec)]);
  const disk = r.live.disk;
  rows.push([
    'disk (data dir)',
    disk
      ? `${bytes(disk.freeBytes)} free of ${bytes(disk.totalBytes)} (${disk.freePct} %) on ${disk.path}, ${disk.blockBytes}-byte blocks${disk.blockBytes > 1024 ? ' (1024-byte blocks send an SD card less: docs/deploy.md, "SD-card wear")' : ''}`
      : 'unknown (data dir missing?)',
  ]);
  rows.push([
    'memory',
    `${h ? `daemon ${bytes(h.memory.rssBytes)} resident; ` : ''}system ${bytes(r.live.systemFreeBytes)} free of ${bytes(r.live.systemTotalBytes)}`,
  ]);
  rows.push([
    'CPU temperature',
    r.live.cpuTempC === null
      ? 'not exposed by this board'
      : `${r.live.cpuTempC} °C${r.live.cpuTempC >= 80 ? '  << throttling: check the case and fan' : ''}`,
  ]);
  if (h) {
    const w = h.writes;
    rows.push([
      'writes / ticket',
      w.bytesPerTicket === null
        ? `no ticket yet (${bytes(w.bytesWritten)} written)`
        : `${bytes(w.bytesPerTicket)} (${w.ticketsIssued} tickets, ${bytes(w.bytesWritten)} since start)`,
    ]);
    const comps = Object.entries(h.components);
    if (comps.length === 0) rows.push(['components', 'none reported']);
    for (const [name, c] of comps) {
      // A printer out of paper is still connected; without `ready` the line read the same before
      // and after the refill, since lastError is the last failure, kept once it has cleared.
      const state = c.connected ? (c.ready === false ? 'connected, NOT READY' : 'connected') : 'DISCONNECTED';
      rows.push([
        `  ${name}`,
        (c.lastError
          ? `${state}, last error ${c.lastError}${typeof c.lastErrorReason === 'string' ? ` (${c.lastErrorReason})` : ''} at ${c.lastErrorAt ?? '?'}`
          : state) + nowNotes(c),
      ]);
    }
  }
  const safe = rows.map(([k, v]) => [printable(k), printable(v)] as const);
  const width = Math.max(...safe.map(([k]) => k.length));
  return `${safe.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n')}\n`;
}

/** What a terminal must not be handed raw from the status file: C0 and C1 controls (ESC's
 * sequences set the title or the clipboard, move the cursor over lines; a C1 CSI likewise), and
 * the bidirectional overrides and isolates, which reorder the text shown after them. */
const C1_AND_BIDI = '\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069';
const UNSAFE = new RegExp(`[\\u0000-\\u001f${C1_AND_BIDI}]`, 'g');
/** The same past JSON.stringify, which escapes C0 itself and puts its own line breaks between. */
const UNSAFE_IN_JSON = new RegExp(`[${C1_AND_BIDI}]`, 'g');

/** The status file is the daemon's (user beonho, on the LAN) and `sudo npm run status` prints it to
 * a root terminal: an unsafe character is shown as `?`, as `ls` does. */
function printable(text: string): string {
  return text.replace(UNSAFE, '?');
}

/** The report as JSON for `--json`, which goes to the same terminal as often as to a script:
 * JSON.stringify leaves C1 controls and bidirectional marks raw, so they are written as `\uXXXX`
 * escapes (the same value to a JSON parser). */
export function statusJson(r: StatusReport): string {
  const json = JSON.stringify(r, null, 2).replace(
    UNSAFE_IN_JSON,
    (ch) => `\\u${(ch.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`,
  );
  return `${json}\n`;
}

function duration(sec: number): string {
  if (sec < 60) return `${sec} s`;
  const m = Math.floor(sec / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/** What holds now that lastError (the last failure, kept once cleared) does not tell: the voice
 * resting after its process was killed for want of memory, or the last call announced without it
 * (docs/audio.md), the senders whose command ids of the day ran out (docs/mqtt.md). */
function nowNotes(c: Record<string, unknown>): string {
  let out = '';
  if (typeof c.voiceRestsUntil === 'string')
    out += `; voice RESTS until ${c.voiceRestsUntil}, calls by the chime alone`;
  else if (c.lastCallVoiced === false)
    out += `; the last call had NO VOICE${typeof c.lastCallError === 'string' ? ` (${c.lastCallError})` : ''}: chime alone`;
  if (typeof c.full === 'string' && c.full !== '')
    out += `; OUT OF COMMAND IDS today: ${c.full} (mqtt.commands.idsPerDay)`;
  return out;
}

/** Whether the daemon runs another release than the one installed. A build's version carries its
 * commit (`0.1.0+690e177`, scripts/git-commit.ts), so two releases of one package version differ;
 * a daemon run from source (tsx, in a checkout) reports the package's alone, and is not told to
 * restart for a build of the same version beside it. */
export function otherRelease(running: string, installed: string): boolean {
  if (running.includes('+') && installed.includes('+')) return running !== installed;
  return running.split('+')[0] !== installed.split('+')[0];
}
