// A file of the system the installer writes (a unit, a udev rule, the config, the Pi's
// cmdline.txt): after a power cut, the old text or the new one, never half of one.
import { randomBytes } from 'node:crypto';
import { open, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Written to a temp file beside it with its mode, synced, renamed over it, the directory synced. */
export async function writeDurably(path: string, text: string, mode = 0o644): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  const fh = await open(tmp, 'w', mode);
  try {
    await fh.writeFile(text);
    // chmod, not open's mode alone: the umask narrows that one (root's 077 on a hardened system
    // would hide the config from the service). FAT (/boot/firmware) keeps no modes and may refuse.
    await fh.chmod(mode).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPERM') throw err;
    });
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  const d = await open(dirname(path), 'r');
  try {
    await d.sync().catch(() => {}); // FAT (/boot/firmware) may refuse a directory fsync
  } finally {
    await d.close();
  }
}
