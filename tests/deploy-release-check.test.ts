// The installer's check of an unpacked release against its SHA256SUMS, on a tiny release made here
// (tests/release.test.ts builds a real one): a name in the sums that leaves the release is never
// read, a link is refused wherever it is, and code beside the listed files is refused.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkRelease, nodeBuildOf } from '../deploy/release-check.ts';

let work: string;
let app: string;

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** The release's files and SHA256SUMS listing them, plus `extra` lines as they are. */
async function release(files: Record<string, string>, extra: string[] = []): Promise<void> {
  const lines: string[] = [];
  for (const [path, text] of Object.entries({ 'manifest.json': '{"name":"beonho-0.0.0-linux-x64"}', ...files })) {
    await mkdir(join(app, path, '..'), { recursive: true });
    await writeFile(join(app, path), text);
    lines.push(`${sha(text)}  ${path}`);
  }
  await writeFile(join(app, 'SHA256SUMS'), `${[...lines, ...extra].join('\n')}\n`);
}

const check = () =>
  checkRelease({ dir: app, nodePath: '/nonexistent/node', live: false }).then(
    () => 'ok',
    (e: Error & { code?: string }) => `${e.code}: ${e.message}`,
  );

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'beonho-relcheck-'));
  app = join(work, 'opt/beonho');
  await mkdir(app, { recursive: true });
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("the installer's check of a release's files", () => {
  it('accepts the files SHA256SUMS lists, and files beside them that are not code', async () => {
    await release({ 'dist/device/main.js': 'main', 'node_modules/a/index.js': 'a', 'package.json': '{}' });
    await writeFile(join(app, 'docs-note.txt'), 'a note of the person who unpacked it');
    expect(await check()).toBe('ok');
  });

  it('never reads a file SHA256SUMS names outside the release', async () => {
    // a file outside whose sum is known: were it read, it would pass
    const secret = 'root:$y$j9T$...:19000:0:99999:7:::\n';
    await writeFile(join(work, 'shadow'), secret);
    await release({ 'dist/device/main.js': 'main' }, [
      `${sha(secret)}  ../../shadow`,
      `${sha(secret)}  ${join(work, 'shadow')}`,
      `${sha(secret)}  dist/../../../shadow`,
    ]);
    const r = await check();
    expect(r).toMatch(/^deploy-release-damaged: /);
    expect(r).toContain('../../shadow (outside the release)');
  });

  it('refuses a link in the release, listed or not, even one whose target has the listed sum', async () => {
    await release({ 'dist/device/main.js': 'main', 'node_modules/a/index.js': 'a' });
    // main.js replaced by a link to a file of the same text elsewhere, which anyone could change later
    await writeFile(join(work, 'main.js'), 'main');
    await rm(join(app, 'dist/device/main.js'));
    await symlink(join(work, 'main.js'), join(app, 'dist/device/main.js'));
    expect(await check()).toMatch(/^deploy-release-damaged: .*dist\/device\/main\.js \(a link\)/);

    await rm(join(app, 'dist/device/main.js'));
    await writeFile(join(app, 'dist/device/main.js'), 'main');
    await symlink(work, join(app, 'node_modules/b'));
    expect(await check()).toMatch(/^deploy-release-damaged: .*node_modules\/b \(a link\)/);
  });

  it('refuses code that SHA256SUMS does not list, and sums that list nothing', async () => {
    await release({ 'dist/device/main.js': 'main', 'node_modules/a/index.js': 'a' });
    await writeFile(join(app, 'node_modules/a/preload.js'), 'process.env.X = 1');
    expect(await check()).toMatch(/^deploy-release-damaged: .*node_modules\/a\/preload\.js \(not in SHA256SUMS\)/);
    await rm(join(app, 'node_modules/a/preload.js'));
    expect(await check()).toBe('ok');

    // more code than the sums list is what a release unpacked over another one leaves, which
    // unpacking it again in the same place repeats: the advice is an empty directory
    await writeFile(join(app, 'node_modules/a/old.js'), 'from the release unpacked here before');
    expect(await check()).toMatch(/unpack the release into an empty directory$/);
    await rm(join(app, 'node_modules/a/old.js'));

    // a SHA256SUMS with no line in its format (emptied, or another tool's) checked nothing
    const sums = await readFile(join(app, 'SHA256SUMS'), 'utf8');
    await writeFile(join(app, 'SHA256SUMS'), sums.replace(/ {2}/g, ' *'));
    expect(await check()).toMatch(/^deploy-release-damaged: .*lists no file/);
  });
});

// an ELF header as far as e_machine: 64-bit little-endian, the given machine; then `text`, as the
// strings a real program carries after its header
const elf = (machine: number, text = '') => {
  const b = Buffer.alloc(64);
  b.writeUInt32BE(0x7f454c46, 0);
  b[4] = 2;
  b[5] = 1;
  b[6] = 1;
  b.writeUInt16LE(2, 16);
  b.writeUInt16LE(machine, 18);
  return Buffer.concat([b, Buffer.from(text, 'latin1')]);
};
const AARCH64 = 183;
const X86_64 = 62;

describe('the CPU of an image made under --root', () => {
  const armRelease = () =>
    release({
      'manifest.json': JSON.stringify({ name: 'beonho-0.1.0-linux-arm64', arch: 'arm64', cpu: 'arm64' }),
      'dist/device/main.js': 'main',
    });
  const inRoot = (nodePath = '/usr/bin/node') =>
    checkRelease({ dir: app, nodePath, live: false, root: work }).then(
      (w) => w,
      (e: Error & { code?: string }) => `${e.code}: ${e.message}`,
    );

  it("refuses a release for another CPU than the image's Node, as on the machine itself", async () => {
    await armRelease();
    await mkdir(join(work, 'usr/bin'), { recursive: true });
    await writeFile(join(work, 'usr/bin/node'), elf(X86_64));
    expect(await inRoot()).toMatch(
      /^deploy-release-arch: beonho-0\.1\.0-linux-arm64 is for arm64 \(arm64\) but \/usr\/bin\/node in .* is built for x64/,
    );
    await writeFile(join(work, 'usr/bin/node'), elf(AARCH64));
    expect(await inRoot()).toEqual([]);
  });

  it("without Node in the image, reads its shell through the image's own links, never this machine's", async () => {
    await armRelease();
    await mkdir(join(work, 'usr/bin'), { recursive: true });
    await writeFile(join(work, 'usr/bin/dash'), elf(X86_64));
    // merged /usr and an absolute link, as the image has them: /bin -> usr/bin, /bin/sh -> /usr/bin/dash
    await symlink('usr/bin', join(work, 'bin'));
    await symlink('/usr/bin/dash', join(work, 'usr/bin/sh'));
    const r = await inRoot();
    expect(r).toMatch(/^deploy-release-arch: .* but \/bin\/sh in .* is built for x64/);
    await writeFile(join(work, 'usr/bin/dash'), elf(AARCH64));
    expect(await inRoot()).toEqual([expect.stringMatching(/^\/usr\/bin\/node, the Node the unit runs, is not in /)]);

    // a link to an absolute path is the image's path: this machine's node (x64 or not) is not read
    await symlink(process.execPath, join(work, 'usr/bin/node'));
    expect(await inRoot()).toEqual([expect.stringMatching(/the Node the unit runs, is not in /)]);
  });

  it('says so when the CPU of the image cannot be told', async () => {
    await armRelease();
    expect(await inRoot()).toEqual([
      expect.stringMatching(/the Node the unit runs, is not in /),
      expect.stringMatching(
        /^the CPU of the system in .* is unknown \(no readable \/bin\/sh there\): the release \(arm64\) was not checked/,
      ),
    ]);
  });

  it("takes the CPU of a --node that is a script from the image's shell, as when Node is not there", async () => {
    await armRelease();
    await mkdir(join(work, 'usr/local/bin'), { recursive: true });
    await mkdir(join(work, 'bin'), { recursive: true });
    await writeFile(join(work, 'usr/local/bin/node'), '#!/bin/sh\nexec /opt/node/bin/node "$@"\n');
    await writeFile(join(work, 'bin/sh'), elf(X86_64));
    expect(await inRoot('/usr/local/bin/node')).toMatch(
      /^deploy-release-arch: .* but \/bin\/sh in .* is built for x64/,
    );
    await writeFile(join(work, 'bin/sh'), elf(AARCH64));
    expect(await inRoot('/usr/local/bin/node')).toEqual([
      expect.stringMatching(
        /^\/usr\/local\/bin\/node in .* is not a program but a script \(not ELF\): the image's CPU was read from \/bin\/sh, and the Node the script runs was not checked/,
      ),
    ]);
  });
});

describe('the Node version of an image made under --root', () => {
  /** a release for `arch`, built for `node` (manifest.json's "node"), with its engines range */
  const armRelease = (
    arch: string,
    cpu: string,
    node: { version: string; major: number; abi: number },
    engines: string,
  ) =>
    release({
      'manifest.json': JSON.stringify({ name: `beonho-0.1.0-linux-${arch}`, arch, cpu, node }),
      'package.json': JSON.stringify({ engines: { node: engines } }),
      'dist/device/main.js': 'main',
    });
  // built for Node 22, as an arm64 release is; for Node 20, as an armhf one
  const node22 = () => armRelease('arm64', 'arm64', { version: '22.12.0', major: 22, abi: 127 }, '^22');
  const node20 = () => armRelease('armhf', 'arm', { version: '20.19.5', major: 20, abi: 115 }, '>=20.15.0 <21');
  const ARM = 40;
  const imageNode = async (bytes: Buffer, path = 'usr/bin/node') => {
    await mkdir(join(work, path, '..'), { recursive: true });
    await writeFile(join(work, path), bytes);
  };
  const inRoot = () =>
    checkRelease({ dir: app, nodePath: '/usr/bin/node', live: false, root: work }).then(
      (w) => w,
      (e: Error & { code?: string }) => `${e.code}: ${e.message}`,
    );

  it("refuses a release built for another Node major than the image's Node, read from its binary", async () => {
    await node22();
    // the inspector's /json/version answer, a string of every nodejs.org binary
    await imageNode(elf(AARCH64, '\0Browser\0node.js/v20.19.2\0\0Protocol-Version\0'));
    expect(await inRoot()).toMatch(
      /^deploy-node-abi: beonho-0\.1\.0-linux-arm64 was built for Node 22 \(module ABI 127\) but \/usr\/bin\/node in .* is v20\.19\.2: install Node 22 in the image/,
    );
    await imageNode(elf(AARCH64, '\0Browser\0node.js/v22.3.0\0\0Protocol-Version\0'));
    expect(await inRoot()).toEqual([]);
    // a Node built without the inspector still has process.release's URLs
    await imageNode(
      elf(
        AARCH64,
        '\0https://nodejs.org/download/release/v23.1.0/node-v23.1.0.tar.gz\0https://nodejs.org/download/release/v23.1.0/node-v23.1.0-headers.tar.gz\0',
      ),
    );
    expect(await inRoot()).toMatch(/^deploy-node-abi: .* is v23\.1\.0: /);
  });

  it("reads the module ABI of a Node that only starts a shared libnode (Debian's own nodejs)", async () => {
    await node22();
    // Debian's /usr/bin/node is a small program linked to libnode.so.<NODE_MODULE_VERSION>
    await imageNode(elf(AARCH64, '\0libnode.so.115\0libstdc++.so.6\0libc.so.6\0'));
    expect(await inRoot()).toMatch(
      /^deploy-node-abi: beonho-0\.1\.0-linux-arm64 was built for Node 22 \(module ABI 127\) but \/usr\/bin\/node in .* runs libnode\.so\.115 \(module ABI 115\): install Node 22 in the image/,
    );
    await imageNode(elf(AARCH64, '\0libnode.so.127\0libstdc++.so.6\0libc.so.6\0'));
    expect(await inRoot()).toEqual([]);
  });

  it("refuses a Node of the right major older than the release's engines, which the daemon would refuse", async () => {
    await node20();
    // the npm registry's newest armv7l Node: no zlib.crc32
    await imageNode(elf(ARM, '\0Browser\0node.js/v20.11.0\0'));
    expect(await inRoot()).toMatch(
      /^deploy-release-broken: \/usr\/bin\/node in .* is v20\.11\.0, older than beonho-0\.1\.0-linux-armhf needs \(>=20\.15\.0 <21\): the daemon would refuse to start \(node-too-old\)/,
    );
    await imageNode(elf(ARM, '\0Browser\0node.js/v20.15.0\0'));
    expect(await inRoot()).toEqual([]);
  });

  it("warns, and goes on, when the version of the image's Node cannot be read", async () => {
    await node22();
    await imageNode(elf(AARCH64, '\0no version in here\0'));
    expect(await inRoot()).toEqual([
      expect.stringMatching(
        /^the version of \/usr\/bin\/node in .* is unknown \(no Node version string in it\): check that it is Node 22 before the image is used/,
      ),
    ]);
    // two versions that disagree are not taken for either
    await imageNode(
      elf(AARCH64, '\0node.js/v22.3.0\0https://nodejs.org/download/release/v20.1.0/node-v20.1.0.tar.gz\0'),
    );
    expect(await inRoot()).toEqual([expect.stringMatching(/is unknown \(it names v20\.1\.0 and v22\.3\.0\)/)]);
  });

  it('names the Node major to install when the image has no Node yet', async () => {
    await node22();
    await imageNode(elf(AARCH64), 'usr/bin/dash');
    await symlink('dash', join(work, 'usr/bin/sh'));
    await symlink('usr/bin', join(work, 'bin'));
    expect(await inRoot()).toEqual([
      expect.stringMatching(/^\/usr\/bin\/node, the Node the unit runs, is not in .*: install Node 22 there/),
    ]);
  });

  // the binaries of nodejs.org that `npm run test:arm` keeps (release/.cache): what the check reads
  // in them is what they are
  const cache = fileURLToPath(new URL('../release/.cache', import.meta.url));
  const official = existsSync(cache) ? readdirSync(cache).filter((d) => /^node-linux-[a-z0-9]+-\d/.test(d)) : [];
  it.runIf(official.length > 0)("reads the version of nodejs.org's own binaries", async () => {
    for (const d of official) {
      const version = `v${d.split('-').at(-1)}`;
      expect(await nodeBuildOf(join(cache, d, 'bin/node'))).toEqual({ version });
    }
  });
});
