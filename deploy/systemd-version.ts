// The systemd of the system the unit is written for. The unit's newer restart and hardening
// settings need a newer systemd (deploy/unit.ts), and an older one refuses to start a unit with a
// setting it does not know, so the version is asked, not assumed: on the machine itself,
// `systemctl --version`; in an image under --root, which runs nothing here, the version in the
// name of its libsystemd-shared-<N>.so, or else the systemd package in its dpkg status.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** bookworm's, Raspberry Pi OS's current base: what is taken when nothing tells */
export const ASSUMED_SYSTEMD = 252;

export interface SystemdVersion {
  version: number;
  /** how it was found, or why it was assumed (said to the person) */
  from: string;
  assumed: boolean;
}

export function detectSystemdVersion(root: string): SystemdVersion {
  const found = root === '/' ? askSystemctl() : readImage(root);
  if (found) return { ...found, assumed: false };
  return {
    version: ASSUMED_SYSTEMD,
    from:
      root === '/'
        ? '`systemctl --version` gave no version'
        : `no libsystemd-shared-<N>.so and no systemd package in ${root}`,
    assumed: true,
  };
}

function askSystemctl(): Omit<SystemdVersion, 'assumed'> | null {
  try {
    const m = /systemd (\d+)/.exec(execFileSync('systemctl', ['--version'], { encoding: 'utf8' }));
    return m ? { version: Number(m[1]), from: 'systemctl --version' } : null;
  } catch {
    return null;
  }
}

/** Where Debian puts the shared library: under the CPU's triplet since bookworm, in
 * (/usr)/lib/systemd before; `lib` may be a link to `usr/lib`, read through by the file system. */
function readImage(root: string): Omit<SystemdVersion, 'assumed'> | null {
  const dirs = ['usr/lib/systemd', 'lib/systemd'];
  for (const lib of ['usr/lib', 'lib']) {
    for (const entry of list(join(root, lib))) if (/-linux-gnu/.test(entry)) dirs.push(`${lib}/${entry}/systemd`);
  }
  // the newest when an upgrade left an older one behind: the systemd that boots is the last installed
  let best: Omit<SystemdVersion, 'assumed'> | null = null;
  for (const dir of dirs) {
    for (const name of list(join(root, dir))) {
      const m = /^libsystemd-shared-(\d+)(?:\.\d+)*\.so$/.exec(name);
      if (m && (best === null || Number(m[1]) > best.version))
        best = { version: Number(m[1]), from: `/${dir}/${name}` };
    }
  }
  if (best) return best;
  let status = '';
  try {
    status = readFileSync(join(root, 'var/lib/dpkg/status'), 'utf8');
  } catch {
    return null;
  }
  for (const stanza of status.split(/\n\n+/)) {
    if (!/^Package: systemd$/m.test(stanza) || !/^Status: .* installed$/m.test(stanza)) continue;
    const v = /^Version: (?:\d+:)?(\d+)/m.exec(stanza);
    if (v) return { version: Number(v[1]), from: "the image's dpkg status (systemd package)" };
  }
  return null;
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
