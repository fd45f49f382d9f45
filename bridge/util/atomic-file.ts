// Durable replace of a small file: unique temp file, fsync, rename, fsync of the directory.
// A rename is not durable until its directory is synced; without the file's fsync the new name
// may point at empty blocks after a power cut (see shared/design.md on steno and write-file-atomic).
import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

let counter = 0;

export async function writeFileDurable(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.${process.pid}.${++counter}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
