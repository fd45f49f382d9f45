// The installer's check of an unpacked release against its SHA256SUMS, on a tiny release made here
// (tests/release.test.ts builds a real one): a name in the sums that leaves the release is never
// read, a link is refused wherever it is, and code beside the listed files is refused.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkRelease } from '../deploy/release-check.ts';

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

describe('the CPU of an image made under --root', () => {
  // an ELF header as far as e_machine: 64-bit little-endian, the given machine
  const elf = (machine: number) => {
    const b = Buffer.alloc(64);
    b.writeUInt32BE(0x7f454c46, 0);
    b[4] = 2;
    b[5] = 1;
    b[6] = 1;
    b.writeUInt16LE(2, 16);
    b.writeUInt16LE(machine, 18);
    return b;
  };
  const AARCH64 = 183;
  const X86_64 = 62;
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
});
