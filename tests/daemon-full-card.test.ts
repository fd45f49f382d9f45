// The real daemon on a real full card: an ext4 file system (a loop-mounted image) filled to its last
// block while the daemon is stopped. The office must start, issue numbers on from where it stopped,
// tell central it is online and send it the events, and do it again after a power cut. Before, the
// pid file's contents (the data dir's lock) and the session number's temp file each needed a new
// block: exit 1 at every start, systemd restarting it into the same wall.
// Needs root (mount, a loop device) and e2fsprogs; .ci/run runs as root and installs e2fsprogs.
import { execFileSync } from 'node:child_process';
import { closeSync, fsyncSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { simulatorDefault } from '../device/config/default.ts';
import { freePort, waitFor } from './bridge-helpers.ts';
import { type CentralBroker, centralBroker } from './helpers/central-broker.ts';
import { Daemon, killAll, writeTestConfig } from './helpers/daemon.ts';

const work = mkdtempSync(path.join(tmpdir(), 'beonho-full-card-'));
const mnt = path.join(work, 'card');

/** An 8 MB ext4 image mounted at `mnt`, or why not (not root, no mkfs.ext4, no loop device). */
function mountCard(): string | null {
  if (process.getuid?.() !== 0) return 'not root';
  try {
    const img = path.join(work, 'card.img');
    execFileSync('truncate', ['-s', '8M', img]);
    execFileSync('mkfs.ext4', ['-q', '-F', img], { stdio: 'ignore' });
    mkdirSync(mnt);
    execFileSync('mount', ['-o', 'loop', img, mnt], { stdio: 'ignore' });
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}
const unavailable = mountCard();
// Under CI the suite fails rather than skips: .ci/run runs as root and installs e2fsprogs.
if (unavailable !== null && process.env.CI) throw new Error(`cannot mount a card image under CI: ${unavailable}`);

afterEach(killAll);
afterAll(() => {
  if (!unavailable) execFileSync('umount', [mnt]);
  rmSync(work, { recursive: true, force: true });
});

/** Writes zeros into a file on the card until no block is left, even root's reserve. */
function fillCard(): void {
  const fd = openSync(path.join(mnt, 'filler'), 'w');
  try {
    // until a pass finds nothing: ext4 holds back blocks for writes it has not allocated yet, and
    // gives what it did not need back at the sync
    for (let pass = 0, wrote = 1; wrote > 0 && pass < 20; pass++) {
      wrote = 0;
      for (const size of [1 << 20, 64 << 10, 4096, 1024, 1]) {
        const chunk = Buffer.alloc(size);
        try {
          for (;;) wrote += writeSync(fd, chunk);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
        }
      }
      fsyncSync(fd);
    }
  } finally {
    closeSync(fd);
  }
  expect(cardIsFull()).toBe(true);
}

/** Whether a new file's first bytes find no block. */
function cardIsFull(): boolean {
  const probe = path.join(mnt, 'probe');
  try {
    const fd = openSync(probe, 'w');
    try {
      writeSync(fd, Buffer.alloc(100));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return false;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
    return true;
  } finally {
    rmSync(probe, { force: true });
  }
}

// Cut-off times would make the result depend on the hour the suite runs.
const services = simulatorDefault.services.map(({ cutoff: _c, ...s }) => s);

/** The numbers central was told of, once each: delivery is at least once, a repeat has its seq. */
const issued = (central: CentralBroker) => [
  ...new Map(
    central
      .events()
      .filter((e) => e.type === 'ticket.issued')
      .map((e) => [e.seq, (e.ticket as { number: string }).number]),
  ).values(),
];

describe.runIf(unavailable === null)('the daemon on a full card (a real ext4, loop-mounted)', () => {
  it('starts, numbers on, tells central it is online, and does again after a power cut', async () => {
    const central = await centralBroker();
    try {
      const config = await writeTestConfig(path.join(work, 'config.yaml'), {
        services,
        mqtt: {
          broker: { port: await freePort(), wsPort: null, demo: true },
          uplink: { url: central.url, reconnectMinMs: 50, reconnectMaxMs: 200 },
        },
      });
      const dataDir = path.join(mnt, 'data');
      const start = async () => {
        const d = new Daemon(['--config', config, '--data-dir', dataDir]);
        await d.waitFor(/simulator ready/);
        return d;
      };
      const online = async (after: number) => {
        await waitFor(() => central.presence().some((p, i) => i >= after && p.online), 10_000, 'online on central');
        return central.presence().findLast((p) => p.online)!.session;
      };

      const first = await start();
      const firstSession = await online(0);
      first.send('press resident');
      await waitFor(() => issued(central).length === 1, 10_000, 'the first ticket on central');
      first.child.kill('SIGTERM');
      expect(await first.exited).toBe(0);

      fillCard();

      let sessions = [firstSession];
      for (const [run, cut] of [
        [1, true],
        [2, false],
      ] as const) {
        const seen = central.presence().length;
        const d = await start();
        // the log goes to stderr while the terminal takes commands
        await waitFor(() => d.stderr.includes('"code":"data-dir-full"'), 10_000, 'the warning of a full card');
        sessions = [...sessions, await online(seen)];
        d.send('press resident');
        d.send('press resident');
        await waitFor(() => issued(central).length === 1 + 2 * run, 10_000, `tickets of run ${run} on central`);
        if (cut) await d.kill('SIGKILL');
        else {
          d.child.kill('SIGTERM');
          expect(await d.exited).toBe(0);
        }
      }
      expect(issued(central)).toEqual(['1001', '1002', '1003', '1004', '1005']);
      expect(sessions[1]).toBeGreaterThan(sessions[0]!);
      expect(sessions[2]).toBeGreaterThan(sessions[1]!);
      expect(cardIsFull()).toBe(true);
    } finally {
      await central.close();
    }
  }, 90_000);
});
