// Blocks sent to the SD card per ticket, counted where the card would see them: the store on an
// ext4 file system of its own (a loop device: a journal, data=ordered, mounted noatime), reading
// the sectors the block device wrote. Twice: formatted as Raspberry Pi OS formats its root (4 KiB
// blocks), and as docs/deploy.md formats the data partition (1 KiB blocks: an fdatasync sends the
// blocks a record dirtied, and a block is the least it can send).
// That counts the file data and ext4's own journal commits (an fdatasync of a file that grew must
// also commit its new size and block map), which /proc/self/io (bench/wear.ts) does not see.
// Needs root (mount) and mkfs.ext4; prints a note and exits 0 without them.
//   npx tsx bench/sd-wear.ts
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { simulatorDefault } from '../device/config/default.ts';
import { validateConfig } from '../device/config/load.ts';
import { openDurableOffice, sequentialIds } from './lib/durable-office.ts';
import { isMainModule } from '../device/util/main-module.ts';

export interface SdWearResult {
  tickets: number;
  /** the file system's block size */
  blockSize: number;
  /** bytes the block device wrote per ticket, issuing only */
  kioskBytesPerTicket: number;
  onlineBytesPerTicket: number;
  /** a ticket's whole life: issued, called (the call also completes the one before) */
  cycleBytesPerTicket: number;
  /** the store's own count of bytes it wrote per kiosk ticket (its records) */
  payloadBytesPerKioskTicket: number;
  /** kiosk tickets far apart, each in a commit interval of its own as in a quiet office: ext4's
   * periodic commit then also writes the inode each write() dirtied (measured: 4 KiB of data and
   * 6 KiB of commit per isolated write, whatever lazytime or noiversion say). A longer commit
   * interval on the data partition (docs/deploy.md: commit=60) shares one commit among more. */
  pacedBytesPerTicket: number;
}

function sectorsWritten(dev: string): number {
  const stat = readFileSync(`/sys/block/${path.basename(dev)}/stat`, 'utf8')
    .trim()
    .split(/\s+/);
  return Number(stat[6]);
}

export async function run(tickets = 400, blockSize = 4096): Promise<SdWearResult | null> {
  if (process.getuid?.() !== 0) return null;
  const root = mkdtempSync(path.join(tmpdir(), 'beonho-sd-wear-'));
  const img = path.join(root, 'card.img');
  const mnt = path.join(root, 'mnt');
  mkdirSync(mnt);
  execFileSync('truncate', ['-s', '256M', img]);
  // no lazy initialisation: it would write in the background while we count
  execFileSync('mkfs.ext4', [
    '-q',
    '-F',
    '-b',
    String(blockSize),
    '-T',
    'default',
    '-E',
    'lazy_itable_init=0,lazy_journal_init=0',
    img,
  ]);
  execFileSync('mount', ['-o', 'loop,noatime', img, mnt]);
  // closed before the unmount also when the run fails (an unmount of a busy file system would hide
  // the run's own error)
  let opened: { close(): Promise<void> } | null = null;
  try {
    const dev = execFileSync('findmnt', ['-no', 'SOURCE', mnt], { encoding: 'utf8' }).trim();
    const { store, engine, queue, clock, command } = await openDurableOffice({
      dir: path.join(mnt, 'data'),
      config: validateConfig({
        ...simulatorDefault,
        services: simulatorDefault.services.map(({ cutoff: _c, cap: _k, ...s }) => s),
      }),
      start: Date.parse('2026-11-26T09:00:00+09:00'),
      newId: sequentialIds('s', 26),
    });
    opened = store;
    const outbox = store.outbox.cursor('uplink');
    await queue.execute({ type: 'day.open' });
    const services = ['resident', 'passport', 'seal', 'welfare'];
    const measure = async (what: () => Promise<void>): Promise<number> => {
      execFileSync('sync', ['-f', mnt]);
      const before = sectorsWritten(dev);
      for (let i = 0; i < tickets; i++) {
        clock.t += 15_000;
        await what();
        outbox.ack(engine.state.seq);
      }
      execFileSync('sync', ['-f', mnt]);
      return ((sectorsWritten(dev) - before) * 512) / tickets;
    };
    let n = 0;
    const bytesBefore = store.stats().bytesWritten;
    const kiosk = await measure(async () => {
      const r = await queue.execute({ type: 'ticket.issue', service: services[n++ % 4]!, channel: 'kiosk' });
      if (!r.ok) throw new Error(`issue refused: ${r.error.code}`);
    });
    const payload = (store.stats().bytesWritten - bytesBefore) / tickets;
    const online = await measure(async () => {
      n++;
      const cmd = { id: `o-${n}`, type: 'ticket.issue', service: services[n % 4], channel: 'online', ref: `w${n}` };
      const r = await command(cmd);
      if (!r.ok) throw new Error(`online ticket refused: ${JSON.stringify(r)}`);
    });
    const cycle = await measure(async () => {
      const r = await queue.execute({ type: 'ticket.issue', service: 'resident', channel: 'kiosk' });
      if (!r.ok) throw new Error(`issue refused: ${r.error.code}`);
      await queue.execute({ type: 'counter.next', counter: '1' });
    });
    // Time scaled down: a commit every second (commit=1) and a ticket every 1.5 s stand for the
    // default 5 s commit and a ticket every 20 s or so.
    const paced = async (options: string): Promise<number> => {
      execFileSync('mount', ['-o', `remount,${options}`, mnt]);
      const count = 12;
      execFileSync('sync', ['-f', mnt]);
      await new Promise((r) => setTimeout(r, 1500));
      const before = sectorsWritten(dev);
      for (let i = 0; i < count; i++) {
        clock.t += 20_000;
        const r = await queue.execute({ type: 'ticket.issue', service: services[i % 4]!, channel: 'kiosk' });
        if (!r.ok) throw new Error(`issue refused: ${r.error.code}`);
        await new Promise((res) => setTimeout(res, 1500));
      }
      return ((sectorsWritten(dev) - before) * 512) / count;
    };
    const pacedBytes = await paced('commit=1');
    opened = null;
    await store.close();
    return {
      tickets,
      blockSize,
      kioskBytesPerTicket: Math.round(kiosk),
      onlineBytesPerTicket: Math.round(online),
      cycleBytesPerTicket: Math.round(cycle),
      payloadBytesPerKioskTicket: Math.round(payload),
      pacedBytesPerTicket: Math.round(pacedBytes),
    };
  } finally {
    await opened?.close().catch(() => undefined);
    execFileSync('umount', [mnt]);
    rmSync(root, { recursive: true, force: true });
  }
}

if (isMainModule(import.meta.url)) {
  for (const [blockSize, what] of [
    [4096, "Raspberry Pi OS's root (4 KiB blocks)"],
    [1024, "docs/deploy.md's data partition (1 KiB blocks)"],
  ] as const) {
    const r = await run(400, blockSize);
    if (!r) {
      console.log('sd-wear: needs root (a loop-mounted ext4); skipped');
      break;
    }
    const kib = (b: number) => `${(b / 1024).toFixed(1)} KiB`;
    console.log(
      `sd-wear: ${r.tickets} tickets of each kind, counted at the block device (ext4 on a loop device, as ${what})`,
    );
    console.log(
      `  kiosk ticket issued       ${kib(r.kioskBytesPerTicket)} per ticket (its record: ${r.payloadBytesPerKioskTicket} B) (goal <= 4 KiB)`,
    );
    console.log(`  online ticket issued      ${kib(r.onlineBytesPerTicket)} per ticket (goal <= 4 KiB)`);
    console.log(`  issued and called         ${kib(r.cycleBytesPerTicket)} per ticket (two durable actions)`);
    console.log(
      `  kiosk tickets far apart   ${kib(r.pacedBytesPerTicket)} per ticket (each in an ext4 commit interval of its own)`,
    );
  }
}
