// A daemon whose event loop stalls stops pinging, and a supervisor acting like systemd's watchdog
// (kill after WATCHDOG_USEC without a ping) takes it down. systemd sends SIGABRT; the fake sends
// SIGKILL so the test leaves no core dump behind.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { expect, it } from 'vitest';
import { fakeNotifySocket } from './fixtures/deploy-notify-socket.ts';

const WATCHDOG_MS = 3000;

it('a daemon with a blocked event loop stops pinging and is killed by the watchdog', async () => {
  const sock = await fakeNotifySocket();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'fixtures/deploy-watchdog-daemon.ts')],
    {
      cwd: join(import.meta.dirname, '..'),
      env: { ...process.env, NOTIFY_SOCKET: sock.path, WATCHDOG_USEC: String(WATCHDOG_MS * 1000) },
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const stdout = createInterface({ input: child.stdout });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  let supervisor: NodeJS.Timeout | undefined;
  try {
    await sock.waitFor((t) => t.startsWith('READY=1'));
    let killedByWatchdog = false;
    const pings = () => sock.messages.filter((m) => m.text === 'WATCHDOG=1');
    const lastPing = () => pings().at(-1)?.at ?? sock.messages[0]!.at;
    supervisor = setInterval(() => {
      if (!killedByWatchdog && Date.now() - lastPing() > WATCHDOG_MS) {
        killedByWatchdog = true;
        child.kill('SIGKILL');
      }
    }, 100);

    // alive: it pings, and the supervisor leaves it alone
    let seen = 0;
    await sock.waitFor((t) => t === 'WATCHDOG=1' && ++seen >= 3);
    expect(killedByWatchdog).toBe(false);

    // stalled: the pings stop and the watchdog fires
    const blocked = new Promise<void>((resolve) => stdout.on('line', (l) => l === 'blocking' && resolve()));
    child.stdin.write('block\n');
    await blocked;
    const pingsWhenBlocked = pings().length;
    // a deadline so a failure ends the test (and the finally kills the child) before vitest gives up
    let guard: NodeJS.Timeout | undefined;
    const [, signal] = await Promise.race([
      exited,
      new Promise<never>((_, reject) => {
        guard = setTimeout(() => reject(new Error('the stalled daemon was never killed by the watchdog')), 20_000);
      }),
    ]).finally(() => clearTimeout(guard));
    expect(killedByWatchdog).toBe(true);
    expect(signal).toBe('SIGKILL');
    // at most one ping that was already on its way when the loop stalled
    expect(pings().length - pingsWhenBlocked).toBeLessThanOrEqual(1);
  } finally {
    clearInterval(supervisor);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await sock.close();
  }
});
