// Checks an unpacked release (npm run release) before the installer points systemd at it: every
// file as built (SHA256SUMS), built for this CPU and for the Node that will run it (the nan addons,
// epoll and serialport, load only into the Node major they were compiled for), and able to start.
// A checkout built with `npm run build` has no manifest: only the start check applies to it.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, open, readdir, readFile, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { DeployErrorCode } from '../device/error-codes.ts';

export interface ReleaseManifest {
  name: string;
  version: string;
  arch: string;
  /** node's process.arch on the target: arm64, arm, x64 */
  cpu: string;
  node: { version: string; major: number; abi: number };
  native: Record<string, string>;
  files: Array<{ path: string; size: number }>;
}

export interface ReleaseCheckOptions {
  /** the release as this machine sees it (under --root) */
  dir: string;
  /** the node the unit will run */
  nodePath: string;
  /** the release is installed on this machine (root /): ask nodePath itself and start the daemon */
  live: boolean;
  /** not live: the target's root (--root). Its Node (nodePath there), or else its /bin/sh, is read
   * for the CPU it is built for, and that Node for its version, so an image is not given a release
   * for another CPU or another Node major */
  root?: string;
}

function fail(code: DeployErrorCode, message: string): never {
  throw Object.assign(new Error(message), { code });
}

/** Throws an error with a deploy-* code (device/error-codes.ts); returns warnings. */
export async function checkRelease(o: ReleaseCheckOptions): Promise<string[]> {
  const warnings: string[] = [];
  const manifest = await readManifest(o.dir);
  if (manifest) {
    await checkSums(o.dir);
  } else {
    warnings.push(`${o.dir} has no manifest.json: not a release tarball, so its files and CPU were not checked`);
  }
  if (!o.live) {
    if (o.root !== undefined && manifest) warnings.push(...(await checkTarget(o.root, o.nodePath, manifest, o.dir)));
    return warnings;
  }
  const probe = await run(
    o.nodePath,
    ['-p', 'JSON.stringify([process.arch, process.versions.modules, process.version])'],
    o.dir,
  ).catch((err: Error) => fail('deploy-node-missing', `cannot run ${o.nodePath}: ${err.message}`));
  const [arch, abi, version] = JSON.parse(probe) as [string, string, string];
  if (manifest && arch !== manifest.cpu) {
    fail(
      'deploy-release-arch',
      `${manifest.name} is for ${manifest.arch} (${manifest.cpu}) but ${o.nodePath} runs on ${arch}: take the release for this CPU (arm64 for a 64-bit Raspberry Pi OS, armhf for a 32-bit one)`,
    );
  }
  if (manifest && Number(abi) !== manifest.node.abi) {
    fail(
      'deploy-node-abi',
      `${manifest.name} was built for Node ${manifest.node.major} (module ABI ${manifest.node.abi}) but ${o.nodePath} is ${version} (ABI ${abi}): install Node ${manifest.node.major} (docs/deploy.md, step 3), or take a release built for Node ${version.slice(1).split('.')[0]}`,
    );
  }
  // Loads every module the daemon imports at start: a Node too old for an API it uses, or a
  // damaged dependency, shows up here and not in a restart loop under systemd.
  await run(o.nodePath, ['dist/device/main.js', '--help'], o.dir).catch((err: Error & { stderr?: string }) => {
    // the daemon's own one-line refusal (a Node too old: node-too-old), else the first error
    const lines = (err.stderr ?? '').split('\n');
    const why = lines.find((l) => l.startsWith('beonho: ')) ?? lines.find((l) => /Error/.test(l)) ?? err.message;
    fail('deploy-release-broken', `the daemon does not start with ${o.nodePath} (${version}): ${why.trim()}`);
  });
  return warnings;
}

/** An image made under --root for another machine runs nothing here, but its CPU is written in the
 * ELF header of its programs: the Node the unit names, or the shell when that Node is not there yet
 * or is a script (the Node installed later, or the one the script starts, is of the image's
 * userland: a 32-bit image on a 64-bit Pi runs armhf). A release for another CPU is refused as it
 * is on the machine itself; an image whose CPU cannot be read gets a warning that it was not
 * checked. The Node the unit names, when it is a program, is then read for its version
 * (checkTargetNode). */
async function checkTarget(root: string, nodePath: string, manifest: ReleaseManifest, dir: string): Promise<string[]> {
  const warnings: string[] = [];
  const want = manifest.node ? `Node ${manifest.node.major}` : 'Node';
  const node = await resolveInRoot(root, nodePath);
  // a readable file that is not ELF: a script, whose interpreter and Node are the image's
  const script = node !== null && (await isElf(node)) === false;
  if (node === null)
    warnings.push(
      `${nodePath}, the Node the unit runs, is not in ${root}: install ${want} there (docs/deploy.md, step 3) or give --node with its path in the image`,
    );
  else if (script)
    warnings.push(
      `${nodePath} in ${root} is not a program but a script (not ELF): the image's CPU was read from /bin/sh, and the Node the script runs was not checked (the release needs ${want})`,
    );
  const from =
    node && !script ? { path: nodePath, file: node } : { path: '/bin/sh', file: await resolveInRoot(root, '/bin/sh') };
  const cpu = from.file ? await elfCpu(from.file) : null;
  if (cpu === null) {
    warnings.push(
      `the CPU of the system in ${root} is unknown (no readable ${from.path} there): the release (${manifest.arch}) was not checked against it`,
    );
  } else if (cpu !== manifest.cpu) {
    fail(
      'deploy-release-arch',
      `${manifest.name} is for ${manifest.arch} (${manifest.cpu}) but ${from.path} in ${root} is built for ${cpu}: take the release for that CPU (arm64 for a 64-bit Raspberry Pi OS, armhf for a 32-bit one)`,
    );
  }
  if (node && !script && cpu !== null && manifest.node)
    warnings.push(...(await checkTargetNode(root, nodePath, node, manifest, dir)));
  return warnings;
}

/** The Node of an image, not run (it is another CPU's): its version read from its binary
 * (nodeBuildOf). Another major than the release's, whose nan addons (epoll, serialport) would not
 * load, is refused as on the machine itself (deploy-node-abi); a version below the release's
 * `engines`, which the daemon refuses at start (node-too-old), as the start check would
 * (deploy-release-broken). A version that cannot be read is a warning: a Node built otherwise is
 * no reason to refuse an image, but the person is told what was not checked. */
async function checkTargetNode(
  root: string,
  nodePath: string,
  file: string,
  manifest: ReleaseManifest,
  dir: string,
): Promise<string[]> {
  const want = manifest.node;
  const build = await nodeBuildOf(file);
  if ('unknown' in build) {
    return [
      `the version of ${nodePath} in ${root} is unknown (${build.unknown}): check that it is Node ${want.major} before the image is used (docs/deploy.md, step 3)`,
    ];
  }
  const built = `${manifest.name} was built for Node ${want.major} (module ABI ${want.abi})`;
  const fix = `install Node ${want.major} in the image (docs/deploy.md, step 3), or take a release built for`;
  if ('abi' in build) {
    if (build.abi !== want.abi)
      fail(
        'deploy-node-abi',
        `${built} but ${nodePath} in ${root} runs ${build.lib} (module ABI ${build.abi}): ${fix} that Node`,
      );
    return [];
  }
  const [major, minor, patch] = build.version.slice(1).split('.').map(Number) as [number, number, number];
  if (major !== want.major)
    fail('deploy-node-abi', `${built} but ${nodePath} in ${root} is ${build.version}: ${fix} Node ${major}`);
  const engines = await readFile(join(dir, 'package.json'), 'utf8').then(
    (t) => (JSON.parse(t) as { engines?: { node?: string } }).engines?.node,
    () => undefined,
  );
  const min = /^>=\s*(\d+)\.(\d+)\.(\d+)/.exec(engines ?? '');
  if (min && older([major, minor, patch], [Number(min[1]), Number(min[2]), Number(min[3])]))
    fail(
      'deploy-release-broken',
      `${nodePath} in ${root} is ${build.version}, older than ${manifest.name} needs (${engines}): the daemon would refuse to start (node-too-old); install a newer Node ${want.major} in the image (docs/deploy.md, step 3)`,
    );
  return [];
}

/** Whether version a is below version b (major, minor, patch). */
function older(a: number[], b: number[]): boolean {
  const i = a.findIndex((n, k) => n !== b[k]);
  return i >= 0 && a[i]! < b[i]!;
}

/** What a Node binary says it is, read from its bytes as nodejs.org's builds have them: the
 * inspector's `node.js/vX.Y.Z` (its /json/version answer) and process.release's
 * `…/release/vX.Y.Z/node-vX.Y.Z…` URLs; a Node that only starts a shared library (Debian's own
 * nodejs: /usr/bin/node linked to libnode.so.<NODE_MODULE_VERSION>) gives that module ABI. */
export type NodeBuild = { version: string } | { abi: number; lib: string } | { unknown: string };

const NODE_VERSION_MARKS = [/node\.js\/(v\d+\.\d+\.\d+)\0/g, /\/release\/(v\d+\.\d+\.\d+)\/node-\1[-.]/g];
const LIBNODE = /\0(libnode\.so\.(\d+))\0/g;

export async function nodeBuildOf(file: string): Promise<NodeBuild> {
  const versions = new Set<string>();
  const libs = new Set<string>();
  const fh = await open(file, 'r').catch(() => null);
  if (!fh) return { unknown: 'it cannot be read' };
  try {
    // a nodejs.org binary is over 100 MiB: read in pieces, each with the end of the one before so
    // that a string across two pieces is found
    const chunk = Buffer.alloc(4 << 20);
    const overlap = 256;
    let carry = '';
    for (let pos = 0; ; ) {
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
      const text = carry + chunk.toString('latin1', 0, bytesRead);
      for (const re of NODE_VERSION_MARKS) for (const m of text.matchAll(re)) versions.add(m[1]!);
      for (const m of text.matchAll(LIBNODE)) libs.add(m[1]!);
      carry = text.slice(-overlap);
    }
  } catch (err) {
    return { unknown: `it cannot be read: ${(err as Error).message}` };
  } finally {
    await fh.close();
  }
  if (versions.size === 1) return { version: [...versions][0]! };
  if (versions.size > 1) return { unknown: `it names ${[...versions].sort().join(' and ')}` };
  if (libs.size === 1) {
    const lib = [...libs][0]!;
    return { abi: Number(lib.split('.').at(-1)), lib };
  }
  return { unknown: libs.size > 1 ? `it links ${[...libs].sort().join(' and ')}` : 'no Node version string in it' };
}

/** ELF e_machine -> node's process.arch */
const ELF_MACHINES: Record<number, string> = { 3: 'ia32', 40: 'arm', 62: 'x64', 183: 'arm64', 243: 'riscv64' };

/** The CPU an ELF file is built for, as process.arch names it; null when it is not ELF or not one
 * of those. */
export async function elfCpu(file: string): Promise<string | null> {
  const head = Buffer.alloc(20);
  const fh = await open(file, 'r').catch(() => null);
  if (!fh) return null;
  try {
    const { bytesRead } = await fh.read(head, 0, 20, 0);
    if (bytesRead < 20 || head.readUInt32BE(0) !== 0x7f454c46) return null;
    const machine = head[5] === 2 ? head.readUInt16BE(18) : head.readUInt16LE(18);
    return ELF_MACHINES[machine] ?? null;
  } catch {
    return null;
  } finally {
    await fh.close();
  }
}

/** Whether a file is ELF; null when it cannot be read. */
async function isElf(file: string): Promise<boolean | null> {
  const fh = await open(file, 'r').catch(() => null);
  if (!fh) return null;
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await fh.read(head, 0, 4, 0);
    return bytesRead === 4 && head.readUInt32BE(0) === 0x7f454c46;
  } catch {
    return null;
  } finally {
    await fh.close();
  }
}

/** A path of the target as this machine sees it, its links followed inside the root (an absolute
 * link is the target's, not this machine's); null when it is not there. */
export async function resolveInRoot(root: string, path: string): Promise<string | null> {
  let todo = path.split('/').filter((p) => p !== '' && p !== '.');
  let cur = '/';
  for (let hops = 0; todo.length > 0; ) {
    const part = todo.shift()!;
    if (part === '..') {
      cur = posix.dirname(cur);
      continue;
    }
    const next = posix.join(cur, part);
    const st = await lstat(join(root, next)).catch(() => null);
    if (!st) return null;
    if (st.isSymbolicLink()) {
      if (++hops > 40) return null;
      const link = await readlink(join(root, next));
      if (posix.isAbsolute(link)) cur = '/';
      todo = [...link.split('/').filter((p) => p !== '' && p !== '.'), ...todo];
      continue;
    }
    cur = next;
  }
  return join(root, cur);
}

export async function readManifest(dir: string): Promise<ReleaseManifest | null> {
  let text: string;
  try {
    text = await readFile(join(dir, 'manifest.json'), 'utf8');
  } catch {
    return null;
  }
  try {
    return JSON.parse(text) as ReleaseManifest;
  } catch {
    return fail('deploy-release-damaged', `${dir}/manifest.json is not JSON: copy the release again`);
  }
}

/** What node loads: a file here that SHA256SUMS does not list is code nobody checked. */
const CODE_PATHS = ['dist/', 'node_modules/', 'package.json'];

/** Every file against SHA256SUMS (`sha256sum -c` format): each a plain file inside the release (a
 * release has no links: scripts/release.ts leaves none), and no unlisted code beside them. */
async function checkSums(dir: string): Promise<void> {
  let sums: string;
  try {
    sums = await readFile(join(dir, 'SHA256SUMS'), 'utf8');
  } catch {
    return fail('deploy-release-damaged', `${dir} has a manifest.json but no SHA256SUMS: copy the release again`);
  }
  const bad: string[] = [];
  const listed = new Set<string>();
  for (const line of sums.split('\n')) {
    const m = /^([0-9a-f]{64}) {2}(.+)$/.exec(line);
    if (!m) continue;
    const [, want, file] = m as unknown as [string, string, string];
    // a name that leaves the release (../, /etc/…) is not one of its files: never read
    if (posix.isAbsolute(file) || posix.normalize(file) !== file || file.split('/').includes('..')) {
      bad.push(`${file} (outside the release)`);
      continue;
    }
    listed.add(file);
    const kind = await lstat(join(dir, file)).then(
      (st) => (st.isFile() ? 'file' : st.isSymbolicLink() ? 'a link' : 'not a file'),
      () => 'missing',
    );
    if (kind !== 'file') {
      bad.push(`${file} (${kind})`);
      continue;
    }
    const got = await readFile(join(dir, file)).then(
      (b) => createHash('sha256').update(b).digest('hex'),
      () => 'missing',
    );
    if (got !== want) bad.push(`${file}${got === 'missing' ? ' (missing)' : ''}`);
  }
  if (listed.size === 0) {
    fail('deploy-release-damaged', `${dir}/SHA256SUMS lists no file: copy the release again`);
  }
  const extra = await unlisted(dir, listed);
  for (const file of extra) if (!bad.includes(file)) bad.push(file);
  if (bad.length > 0) {
    // code the sums do not list: most often a release unpacked over another, which unpacking it
    // again in the same place only repeats
    const advice = extra.some((f) => f.endsWith('(not in SHA256SUMS)'))
      ? 'code it does not list is in it (a release unpacked over another?): unpack the release into an empty directory'
      : 'copy and unpack the release again';
    fail(
      'deploy-release-damaged',
      `${bad.length} file(s) of the release differ from SHA256SUMS, e.g. ${bad.slice(0, 3).join(', ')}: ${advice}`,
    );
  }
}

/** The release's links anywhere, and its code files SHA256SUMS does not list. */
async function unlisted(dir: string, listed: Set<string>): Promise<string[]> {
  const found: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
      const path = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isSymbolicLink()) found.push(`${path} (a link)`);
      else if (e.isDirectory()) await walk(path);
      else if (!listed.has(path) && path !== 'SHA256SUMS' && CODE_PATHS.some((p) => path.startsWith(p))) {
        found.push(`${path} (not in SHA256SUMS)`);
      }
    }
  };
  await walk('');
  return found.sort();
}

function run(cmd: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, timeout: 120_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stderr }));
      else resolve(stdout);
    });
  });
}
