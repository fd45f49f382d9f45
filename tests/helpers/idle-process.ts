// Another live process, not a beonho: what a pid of the boot before names after a power cut, or a
// daemon holding the data dir's lock looks like from outside.
import { type ChildProcess, spawn } from 'node:child_process';

const running = new Set<ChildProcess>();

/** Starts one; its pid. */
export async function idleProcess(): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  running.add(child);
  await new Promise((r) => child.once('spawn', r));
  return child.pid!;
}

/** Kills every one started and waits for each to be gone (call it in afterEach). */
export async function stopIdleProcesses(): Promise<void> {
  await Promise.all(
    [...running].map(async (child) => {
      running.delete(child);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await gone;
    }),
  );
}
