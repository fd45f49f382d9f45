// The command path of a daemon without the rest of it: the store (journal, snapshots, command
// log), the durable queue and the bridge's command handler, over any StoreFs (the power-cut tests
// pass a LossyFs behind a CutFs). No timers, no sockets: a "power cut" is just dropping it.
import { pino } from 'pino';
import { CommandHandler } from '../../bridge/commands/handler.ts';
import { CommandMemory } from '../../bridge/commands/memory.ts';
import type { CommandResult } from '../../bridge/contract/types.ts';
import { Bus } from '../../device/bus.ts';
import type { Config } from '../../device/config/schema.ts';
import { QueueEngine } from '../../device/queue/engine.ts';
import { DurableQueue } from '../../device/queue/service.ts';
import { nodeFs, type StoreFs } from '../../device/store/fs.ts';
import { Store } from '../../device/store/store.ts';
import { localTime } from '../../device/util/time.ts';
import type { Clock } from './office.ts';

export const CMD_TOPIC = 'beonho/v1/singok2/cmd';
const silent = pino({ level: 'silent' });

export interface CommandOffice {
  store: Store;
  queue: DurableQueue;
  handler: CommandHandler;
  memory: CommandMemory;
  /** handle one command as the broker delivers it; resolves when the link may acknowledge it */
  send(cmd: Record<string, unknown>, opts?: { retained?: boolean; origin?: string }): Promise<CommandResult>;
  reconciled: number;
  recovered: string[];
}

export async function openCommandOffice(opts: {
  config: Config;
  dir: string;
  clock: Clock;
  fs?: StoreFs;
  snapshotEvery?: number;
  /** mqtt.commands.idsPerDay: none by default */
  idsPerDay?: number;
}): Promise<CommandOffice> {
  const store = new Store({
    dir: opts.dir,
    fs: opts.fs ?? nodeFs,
    snapshotEvery: opts.snapshotEvery ?? opts.config.store.snapshotEvery,
    outboxMaxEvents: opts.config.store.outboxMaxEvents,
  });
  const opened = await store.open(opts.config);
  let id = opened.state.seq;
  const engine = new QueueEngine(opts.config, { now: opts.clock.now, newId: () => `e${++id}` }, opened.state);
  const queue = new DurableQueue({
    config: opts.config,
    engine,
    store,
    bus: new Bus(),
    logger: silent,
    now: opts.clock.now,
    onFatal: () => undefined,
  });
  const tz = opts.config.office.timeZone;
  const memory = new CommandMemory({ log: store.commands, today: () => localTime(opts.clock.now(), tz).date });
  const handler = new CommandHandler({
    office: 'singok2',
    maxBytes: 4096,
    queue,
    memory,
    logger: silent,
    republish: () => undefined,
    isoNow: () => localTime(opts.clock.now(), tz).iso,
    ...(opts.idsPerDay !== undefined ? { idsPerDay: opts.idsPerDay } : {}),
  });
  return {
    store,
    queue,
    handler,
    memory,
    send: (cmd, o = {}) =>
      handler.handle(CMD_TOPIC, Buffer.from(JSON.stringify(cmd)), {
        source: 'test',
        retained: o.retained === true,
        ...(o.origin ? { origin: o.origin } : {}),
      }),
    reconciled: opened.reconciledCommands,
    recovered: opened.recovered,
  };
}

/** Online tickets issued per ref, from the folded state: a ref is unique per command. */
export function ticketsByRef(office: CommandOffice): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const t of Object.values(office.queue.state().tickets)) {
    if (t.ref === undefined) continue;
    out.set(t.ref, [...(out.get(t.ref) ?? []), t.number]);
  }
  return out;
}
