// The room under this process's cgroup memory limits (device/util/available-memory.ts), read from
// cgroup trees laid out as the kernel's v2 and v1 file systems show them.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cgroupRoomMiB } from '../device/util/available-memory.ts';

const MiB = 2 ** 20;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A cgroup mount under a temporary root: `files` by path inside it, and this process's cgroups. */
function tree(self: string, files: Record<string, string>): { procCgroup: string; root: string } {
  const root = mkdtempSync(path.join(tmpdir(), 'cgroup-'));
  dirs.push(root);
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), `${text}\n`);
  }
  writeFileSync(path.join(root, 'self'), self);
  return { procCgroup: path.join(root, 'self'), root };
}

describe('the room under the cgroup memory limits', () => {
  it('v2: the limit less what is charged, inactive page cache counted as room', () => {
    const t = tree('0::/system.slice/beonho.service\n', {
      'system.slice/beonho.service/memory.max': String(256 * MiB),
      'system.slice/beonho.service/memory.current': String(200 * MiB),
      'system.slice/beonho.service/memory.stat': `anon ${150 * MiB}\nfile ${50 * MiB}\ninactive_file ${30 * MiB}`,
    });
    expect(cgroupRoomMiB(t)).toBe(86);
  });

  it("v2: the tightest of the service's own limit and its parents' (a slice's MemoryMax)", () => {
    const t = tree('0::/system.slice/beonho.service\n', {
      'system.slice/memory.max': String(300 * MiB),
      'system.slice/memory.current': String(280 * MiB),
      'system.slice/beonho.service/memory.max': 'max',
      'system.slice/beonho.service/memory.current': String(120 * MiB),
    });
    expect(cgroupRoomMiB(t)).toBe(20);
  });

  it('v1: memory.limit_in_bytes against the usage, total_inactive_file counted as room', () => {
    const t = tree('12:pids:/x\n4:memory:/beonho\n0::/\n', {
      'memory/memory.limit_in_bytes': '9223372036854771712',
      'memory/beonho/memory.limit_in_bytes': String(160 * MiB),
      'memory/beonho/memory.usage_in_bytes': String(150 * MiB),
      'memory/beonho/memory.stat': `inactive_file 0\ntotal_inactive_file ${4 * MiB}`,
    });
    expect(cgroupRoomMiB(t)).toBe(14);
  });

  it('null with no limit anywhere, no memory controller, a file missing, or no cgroup file at all', () => {
    expect(
      cgroupRoomMiB(
        tree('0::/a\n', { 'a/memory.max': 'max', 'a/memory.current': '1', 'memory.max': 'max', 'memory.current': '1' }),
      ),
    ).toBeNull();
    expect(
      cgroupRoomMiB(tree('4:memory:/b\n', { 'memory/b/memory.limit_in_bytes': '9223372036854771712' })),
    ).toBeNull();
    expect(cgroupRoomMiB(tree('3:cpu:/c\n', {}))).toBeNull();
    // a limit whose usage cannot be read is not taken as nothing used
    expect(cgroupRoomMiB(tree('0::/d\n', { 'd/memory.max': String(64 * MiB) }))).toBeNull();
    expect(cgroupRoomMiB({ procCgroup: '/nonexistent/cgroup' })).toBeNull();
  });

  it("a container's own cgroup namespace (`0::/`): the mount's limit, nothing read above the mount", () => {
    // the mount is `cgroup`; a tighter limit in the directory above it is no cgroup's
    const t = tree('0::/\n', {
      'memory.max': String(10 * MiB),
      'memory.current': String(9 * MiB),
      'cgroup/memory.max': String(500 * MiB),
      'cgroup/memory.current': String(100 * MiB),
    });
    const mount = path.join(t.root, 'cgroup');
    expect(cgroupRoomMiB({ procCgroup: t.procCgroup, root: mount })).toBe(400);
    // a cgroup outside the namespace's root, as the kernel shows it: not under the mount
    const outside = tree('0::/../..\n', {});
    expect(cgroupRoomMiB({ procCgroup: outside.procCgroup, root: mount })).toBeNull();
  });

  it('a cgroup whose name ends in a space, and a mount given with a trailing slash', () => {
    const t = tree('0::/odd name \n', {
      'memory.max': String(50 * MiB),
      'memory.current': String(40 * MiB),
      'odd name /memory.max': String(60 * MiB),
      'odd name /memory.current': String(55 * MiB),
      'odd name/memory.max': String(900 * MiB),
      'odd name/memory.current': '0',
    });
    expect(cgroupRoomMiB(t)).toBe(5);
    // the walk up reaches the mount's root (its 10 MiB) however the mount is written
    const u = tree('0::/a/b\n', {
      'a/b/memory.max': 'max',
      'a/b/memory.current': '1',
      'a/memory.max': String(50 * MiB),
      'a/memory.current': String(40 * MiB),
    });
    expect(cgroupRoomMiB({ procCgroup: u.procCgroup, root: `${u.root}/` })).toBe(10);
  });

  it('never below 0 when the cgroup is over its limit (reclaim pending)', () => {
    const t = tree('0::/e\n', { 'e/memory.max': String(100 * MiB), 'e/memory.current': String(101 * MiB) });
    expect(cgroupRoomMiB(t)).toBe(0);
  });
});
