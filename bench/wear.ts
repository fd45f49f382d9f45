// SD-card wear: bytes written to the data dir per issued ticket over a simulated busy day
// (1,500 tickets, every one called and completed, four counters), measured by the store's own
// counters and cross-checked against the files' sizes. One ticket in five is an online ticket, sent
// as central's command through the command handler (validation, the journal, the command log), so
// its figure includes what remembering the command costs. Baselines in the same run: what lowdb's
// JSONFile would write for the same day (the whole state per change), and what the former command
// memory wrote per online ticket (its whole 2,000-entry file, rewritten per command).
import { mkdtemp, rm } from 'node:fs/promises';
import * as path from 'node:path';
import type { CommandResult } from '../bridge/contract/types.ts';
import { validateConfig } from '../device/config/load.ts';
import { simulatorDefault } from '../device/config/default.ts';
import type { Action } from '../device/queue/actions.ts';
import { openDurableOffice, sequentialIds } from './lib/durable-office.ts';
import { isMainModule } from '../device/util/main-module.ts';

export interface WearBench {
  tickets: number;
  bytesPerTicket: number;
  lowdbBytesPerTicket: number;
  /** what remembering central's command adds to an online ticket: its command-log line */
  commandLogBytesPerOnlineTicket: number;
  /** the former memory file per online ticket, on average over this day */
  formerMemoryBytesPerOnlineTicket: number;
  /** the same once it held 2,000 results (an office with 2,000 commands in a day or two) */
  formerMemoryFullBytes: number;
}

const FORMER_MEMORY = 2000;

export async function run(log: (line: string) => void = console.log): Promise<WearBench> {
  const root = await mkdtemp(path.join(path.resolve(import.meta.dirname, '..'), '.bench-wear-'));
  try {
    const { store, engine, queue, clock, command } = await openDurableOffice({
      dir: root,
      config: validateConfig(simulatorDefault),
      start: Date.parse('2026-11-26T09:00:00+09:00'),
      newId: sequentialIds('w', 26),
    });
    let lowdbBytes = 0;
    const exec = async (a: Action) => {
      const r = await queue.execute(a);
      if (r.ok && r.events.length > 0) lowdbBytes += Buffer.byteLength(JSON.stringify(engine.state));
      return r;
    };
    // what the former memory file held: the last 2,000 results, the whole file written per command
    const former: CommandResult[] = [];
    let formerBytes = 0;
    let cmdN = 0;
    const online = async (service: string): Promise<boolean> => {
      cmdN++;
      const cmd = {
        id: `w-${cmdN}`,
        type: 'ticket.issue',
        service,
        channel: 'online',
        ref: `web-${cmdN.toString(36)}`,
      };
      const seqBefore = engine.state.seq;
      const r = await command(cmd);
      if (engine.state.seq > seqBefore) lowdbBytes += Buffer.byteLength(JSON.stringify(engine.state));
      former.push(r);
      if (former.length > FORMER_MEMORY) former.shift();
      formerBytes += Buffer.byteLength(
        JSON.stringify({ v: 1, entries: former.map((x) => [x.id, { result: x, digest: 'AAAAAAAAAAAAAAAA' }]) }),
      );
      return r.ok;
    };
    const issuedBy = { online: 0, kiosk: 0 };
    const outbox = store.outbox.cursor('uplink');
    await exec({ type: 'day.open' });
    const services = ['resident', 'resident', 'seal', 'passport', 'welfare'];
    let issued = 0;
    for (let i = 0; i < 1500; i++) {
      clock.t += 20_000;
      const service = services[i % services.length]!;
      const channel = i % 5 ? 'kiosk' : 'online';
      const ok =
        channel === 'online' ? await online(service) : (await exec({ type: 'ticket.issue', service, channel })).ok;
      if (ok) {
        issued++;
        issuedBy[channel]++;
      }
      if (i % 2 === 0) for (const c of ['1', '2', '3', '4']) await exec({ type: 'counter.next', counter: c });
      // central acknowledges as it goes, as a live uplink does
      outbox.ack(engine.state.seq);
    }
    await store.close();
    const bytes = store.stats().bytesWritten;
    const res = {
      tickets: issued,
      bytesPerTicket: bytes / issued,
      lowdbBytesPerTicket: lowdbBytes / issued,
      commandLogBytesPerOnlineTicket: store.commands.bytesWritten / issuedBy.online,
      formerMemoryBytesPerOnlineTicket: formerBytes / issuedBy.online,
      formerMemoryFullBytes:
        (Buffer.byteLength(
          JSON.stringify({ v: 1, entries: former.map((x) => [x.id, { result: x, digest: 'AAAAAAAAAAAAAAAA' }]) }),
        ) /
          former.length) *
        FORMER_MEMORY,
    };
    log(`wear: a busy day of ${issued} tickets (all called and completed)`);
    log(
      `  bytes written to the data dir per ticket: ${res.bytesPerTicket.toFixed(0)} B (the journal: its records and its segments' zeros written in advance; snapshots; outbox cursor)`,
    );
    // Not /proc/self/io: since Linux 6.x put ext4's page cache in large folios it counts a whole
    // folio (here the 64 KiB the segment's zeros were written in) each time a record dirties it,
    // 150 KiB a ticket, while the device is sent the one block (checked on a loop device).
    log('  sent to the block device: `npx tsx bench/sd-wear.ts` (counted at a loop device)');
    log(
      `  baseline, whole state rewritten per change (lowdb JSONFile): ${res.lowdbBytesPerTicket.toFixed(0)} B per ticket (${(res.lowdbBytesPerTicket / res.bytesPerTicket).toFixed(0)}x more)`,
    );
    log(
      `  ${issuedBy.online} of them online, sent as central's commands: remembering each adds ${res.commandLogBytesPerOnlineTicket.toFixed(0)} B (its command-log line)`,
    );
    log(
      `  baseline, the former command memory (2,000 results rewritten per command): ${(res.formerMemoryBytesPerOnlineTicket / 1024).toFixed(0)} KiB per online ticket on average over the day (${(res.formerMemoryBytesPerOnlineTicket / res.commandLogBytesPerOnlineTicket).toFixed(0)}x more), ${(res.formerMemoryFullBytes / 1024).toFixed(0)} KiB once it held 2,000 (${(res.formerMemoryFullBytes / res.commandLogBytesPerOnlineTicket).toFixed(0)}x more)`,
    );
    return res;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

if (isMainModule(import.meta.url)) await run();
