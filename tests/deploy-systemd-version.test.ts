// The systemd of an image under --root, read from its files (deploy/systemd-version.ts): the name
// of libsystemd-shared-<N>.so where each Debian release puts it, or the dpkg status.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ASSUMED_SYSTEMD, detectSystemdVersion } from '../deploy/systemd-version.ts';

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

function image(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'image-'));
  roots.push(root);
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
  return root;
}

describe("an image's systemd version", () => {
  it("bookworm's and trixie's place (under the CPU's triplet), and an older one's ((usr/)lib/systemd)", () => {
    expect(detectSystemdVersion(image({ 'usr/lib/arm-linux-gnueabihf/systemd/libsystemd-shared-252.so': '' }))).toEqual(
      {
        version: 252,
        from: '/usr/lib/arm-linux-gnueabihf/systemd/libsystemd-shared-252.so',
        assumed: false,
      },
    );
    expect(
      detectSystemdVersion(image({ 'usr/lib/aarch64-linux-gnu/systemd/libsystemd-shared-257.so': '' })).version,
    ).toBe(257);
    expect(detectSystemdVersion(image({ 'lib/systemd/libsystemd-shared-247.3.so': '' })).version).toBe(247);
  });

  it('the newest when an upgrade left an older library behind', () => {
    const root = image({
      'lib/systemd/libsystemd-shared-247.3.so': '',
      'usr/lib/aarch64-linux-gnu/systemd/libsystemd-shared-252.so': '',
    });
    expect(detectSystemdVersion(root)).toMatchObject({
      version: 252,
      from: '/usr/lib/aarch64-linux-gnu/systemd/libsystemd-shared-252.so',
    });
  });

  it('through lib -> usr/lib, as a merged-/usr image has it', () => {
    const root = image({ 'usr/lib/aarch64-linux-gnu/systemd/libsystemd-shared-252.so': '' });
    symlinkSync('usr/lib', join(root, 'lib'));
    expect(detectSystemdVersion(root).version).toBe(252);
  });

  it("else the dpkg status's installed systemd package (not one removed)", () => {
    const status = [
      'Package: systemd-timesyncd\nStatus: install ok installed\nVersion: 254.5-1',
      'Package: systemd\nStatus: deinstall ok config-files\nVersion: 241-7',
      'Package: systemd\nStatus: install ok installed\nPriority: important\nVersion: 252.38-1~deb12u1',
    ].join('\n\n');
    expect(detectSystemdVersion(image({ 'var/lib/dpkg/status': `${status}\n` }))).toEqual({
      version: 252,
      from: "the image's dpkg status (systemd package)",
      assumed: false,
    });
  });

  it('assumed, and said so, when the image tells nothing', () => {
    const r = detectSystemdVersion(image({ 'etc/hostname': 'pi\n' }));
    expect(r).toMatchObject({ version: ASSUMED_SYSTEMD, assumed: true });
    expect(r.from).toMatch(/no libsystemd-shared-<N>\.so and no systemd package/);
  });
});
