// The data dir's lock after a power cut: the pid file names a process of the boot before, and this
// boot may have given its pid to any other process. Only the process that wrote the file holds it.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimDataDir, processIdentity } from '../device/lock.ts';
import { idleProcess, stopIdleProcesses } from './helpers/idle-process.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'beonho-lock-'));
});
afterEach(async () => {
  await stopIdleProcesses();
  await rm(dir, { recursive: true, force: true });
});

const pidFile = () => path.join(dir, 'beonho.pid');

describe('the data dir lock', () => {
  it('writes its pid and its identity (boot id and start time)', async () => {
    const release = await claimDataDir(dir);
    const [pid, identity] = (await readFile(pidFile(), 'utf8')).split('\n');
    expect(Number(pid)).toBe(process.pid);
    expect(identity).toBe(processIdentity(process.pid));
    expect(identity).toMatch(/^[0-9a-f-]{36} \d+$/);
    await release();
  });

  it('is refused while the process that wrote it runs', async () => {
    const pid = await idleProcess();
    await writeFile(pidFile(), `${pid}\n${processIdentity(pid)}\n`);
    await expect(claimDataDir(dir)).rejects.toMatchObject({
      code: 'data-dir-locked',
      message: expect.stringContaining(`another beonho (pid ${pid})`),
    });
  });

  it('is taken over when it names a process of an earlier boot, whoever has that pid now', async () => {
    // after a power cut: the pid is alive in this boot (pid 1 always is), the boot id is another
    const start = processIdentity(1)?.split(' ')[1] ?? '1';
    await writeFile(pidFile(), `1\n00000000-0000-4000-8000-000000000000 ${start}\n`);
    const release = await claimDataDir(dir);
    expect(Number((await readFile(pidFile(), 'utf8')).split('\n')[0])).toBe(process.pid);
    await release();
  });

  it('is taken over when its pid now belongs to another process of this boot', async () => {
    const pid = await idleProcess();
    const [boot, start] = processIdentity(pid)!.split(' ');
    await writeFile(pidFile(), `${pid}\n${boot} ${Number(start) - 1}\n`);
    const release = await claimDataDir(dir);
    expect(Number((await readFile(pidFile(), 'utf8')).split('\n')[0])).toBe(process.pid);
    await release();
  });

  it("an older release's file (a pid alone) of a live process is still refused", async () => {
    const pid = await idleProcess();
    await writeFile(pidFile(), `${pid}\n`);
    await expect(claimDataDir(dir)).rejects.toMatchObject({ code: 'data-dir-locked' });
  });
});
