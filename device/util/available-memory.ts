// The memory a new process can take: the board's MemAvailable, and the room under this process's
// cgroup limits. MemAvailable says nothing of a limit the service runs under (a `MemoryMax=` an IT
// department adds to the unit, a container's `--memory`): there the OOM killer comes when the
// cgroup is full, with the board's memory half free. Both cgroup versions are read, since a board
// may run either (Raspberry Pi OS's current releases: v2; older ones and some containers: v1).
import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface CgroupPaths {
  /** this process's cgroups (default /proc/self/cgroup) */
  procCgroup?: string;
  /** where the cgroup file systems are mounted (default /sys/fs/cgroup) */
  root?: string;
}

export interface AvailableMemory {
  mib: number;
  /** which bound it is: the board's MemAvailable, or a cgroup limit's room */
  limit: 'board' | 'cgroup';
}

/** The smaller of the board's MemAvailable and the room under the cgroup limits; null when neither
 * can be read (not Linux). */
export function availableMemory(paths: { meminfo?: string; cgroup?: CgroupPaths } = {}): AvailableMemory | null {
  const board = memAvailableMiB(paths.meminfo);
  const cgroup = cgroupRoomMiB(paths.cgroup);
  if (cgroup !== null && (board === null || cgroup < board)) return { mib: cgroup, limit: 'cgroup' };
  return board === null ? null : { mib: board, limit: 'board' };
}

/** `MemAvailable` of /proc/meminfo (Linux 3.14+) in MiB: what the kernel reckons can be
 * allocated without swapping, page cache it can drop included. null where it cannot be read (not
 * Linux) or is not there. */
export function memAvailableMiB(file = '/proc/meminfo'): number | null {
  try {
    const m = /^MemAvailable:\s+(\d+) kB$/m.exec(readFileSync(file, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** A v1 limit this large is no limit (the kernel's "unlimited", rounded down to a page). */
const V1_UNLIMITED = 2 ** 62;

/** The least room, in MiB, under the memory limits of this process's cgroup and of each cgroup
 * above it: a limit less what is charged to it, the page cache the kernel can drop first
 * (inactive_file) counted as room, as MemAvailable counts it. null when no limit is set or none
 * can be read (not Linux, no memory controller). */
export function cgroupRoomMiB(paths: CgroupPaths = {}): number | null {
  // resolved: no trailing slash, so that the walk up stops at the mount (walk())
  const root = path.resolve(paths.root ?? '/sys/fs/cgroup');
  let text: string;
  try {
    text = readFileSync(paths.procCgroup ?? '/proc/self/cgroup', 'utf8');
  } catch {
    return null;
  }
  let least: number | null = null;
  for (const line of text.split('\n')) {
    // hierarchy-id:controllers:path; v2's unified line is 0::path. Not trimmed: the kernel writes
    // the path as it is, and a cgroup's name may end in a space
    const m = /^(\d+):([^:]*):(\/.*)$/.exec(line);
    if (!m) continue;
    const [, id, controllers, own] = m as unknown as [string, string, string, string];
    let room: number | null = null;
    if (id === '0' && controllers === '') room = walk(root, own!, v2Room);
    else if (controllers!.split(',').includes('memory')) room = walk(path.join(root, 'memory'), own!, v1Room);
    if (room !== null && (least === null || room < least)) least = room;
  }
  return least === null ? null : least / 1024 / 1024;
}

/** The least room from the cgroup `own` up to the mount's root, each level read by `room`. */
function walk(mount: string, own: string, room: (dir: string) => number | null): number | null {
  let least: number | null = null;
  // resolved: a cgroup namespace's own root is `/` (a container's), and path.join would keep its
  // slash, so the walk would pass the mount by and read the directory above it
  let dir = path.resolve(mount, `.${own}`);
  // a cgroup outside the namespace's root (`/../..`) is not under this mount: nothing to read
  while (dir === mount || dir.startsWith(`${mount}${path.sep}`)) {
    const r = room(dir);
    if (r !== null && (least === null || r < least)) least = r;
    if (dir === mount) break;
    dir = path.dirname(dir);
  }
  return least;
}

function v2Room(dir: string): number | null {
  const max = read(path.join(dir, 'memory.max'));
  if (max === null || max === 'max') return null;
  const current = num(read(path.join(dir, 'memory.current')));
  if (!Number.isFinite(current)) return null;
  const limit = num(max);
  if (!Number.isFinite(limit)) return null;
  return Math.max(0, limit - current + statField(dir, 'inactive_file'));
}

function v1Room(dir: string): number | null {
  const limit = num(read(path.join(dir, 'memory.limit_in_bytes')));
  if (!Number.isFinite(limit) || limit >= V1_UNLIMITED) return null;
  const usage = num(read(path.join(dir, 'memory.usage_in_bytes')));
  if (!Number.isFinite(usage)) return null;
  // total_: this cgroup's and its children's, as the usage counts them
  return Math.max(0, limit - usage + statField(dir, 'total_inactive_file'));
}

function statField(dir: string, field: string): number {
  const m = new RegExp(`^${field} (\\d+)$`, 'm').exec(read(path.join(dir, 'memory.stat')) ?? '');
  return m ? Number(m[1]) : 0;
}

/** A number read from a file, NaN when it was not there or not a number. */
function num(text: string | null): number {
  return text === null || !/^\d+$/.test(text) ? Number.NaN : Number(text);
}

function read(file: string): string | null {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}
