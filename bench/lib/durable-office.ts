// An office without the daemon around it, for the benchmarks that count what the store writes and
// how long it takes: the store in a data dir and the engine over its state, on a clock the
// benchmark moves by hand (clock.t); and, for those that go the daemon's way, the durable queue
// and central's command handler over them, wired as the daemon wires them.
import { pino } from 'pino';
import { CommandHandler } from '../../bridge/commands/handler.ts';
import { CommandMemory } from '../../bridge/commands/memory.ts';
import type { CommandResult } from '../../bridge/contract/types.ts';
import { Bus } from '../../device/bus.ts';
import { simulatorDefault } from '../../device/config/default.ts';
import { validateConfig } from '../../device/config/load.ts';
import type { Config } from '../../device/config/schema.ts';
import { QueueEngine } from '../../device/queue/engine.ts';
import { DurableQueue } from '../../device/queue/service.ts';
import { Store } from '../../device/store/store.ts';
import { localTime } from '../../device/util/time.ts';

/** The simulator's office with two services of about 5,000 numbers each, one counter for both and
 * no buttons: a day holds thousands of kiosk tickets. */
export function twoServiceConfig(): Config {
  return validateConfig({
    ...simulatorDefault,
    services: [
      { id: 'resident', name: '주민등록', numbers: { from: 1, to: 5000 } },
      { id: 'seal', name: '인감', numbers: { from: 5001, to: 9999 } },
    ],
    counters: [{ id: '1', name: '1번 창구', services: ['resident', 'seal'] }],
    dispenser: { buttons: [] },
  });
}

export interface JournalOptions {
  dir: string;
  config: Config;
  /** the clock's first reading, epoch ms */
  start: number;
  /** the events' ids: their length counts in the bytes written, so each benchmark keeps its own */
  newId: () => string;
  /** default: the config's */
  snapshotEvery?: number;
}

export interface Journal {
  store: Store;
  engine: QueueEngine;
  /** the office's time, epoch ms: the benchmark moves it */
  clock: { t: number };
}

/** `prefix1`, `prefix2`, ..., the number padded with zeros to `width` digits. */
export function sequentialIds(prefix: string, width = 0): () => string {
  let n = 0;
  return () => `${prefix}${String(++n).padStart(width, '0')}`;
}

/** The store opened in o.dir and the engine over the state it recovered; nothing attached. */
export async function openJournal(o: JournalOptions): Promise<Journal> {
  const store = new Store({
    dir: o.dir,
    snapshotEvery: o.snapshotEvery ?? o.config.store.snapshotEvery,
    outboxMaxEvents: o.config.store.outboxMaxEvents,
  });
  const { state } = await store.open(o.config);
  const clock = { t: o.start };
  const engine = new QueueEngine(o.config, { now: () => clock.t, newId: o.newId }, state);
  return { store, engine, clock };
}

export interface DurableOffice extends Journal {
  config: Config;
  queue: DurableQueue;
  /** one of central's commands, as it arrives on the office's cmd topic */
  command(body: Record<string, unknown>): Promise<CommandResult>;
}

/** The journal with the durable queue (no day roll, a silent log, a disk failure thrown) and
 * central's command handler (the store's command log as its memory). */
export async function openDurableOffice(o: JournalOptions): Promise<DurableOffice> {
  const { config } = o;
  const { store, engine, clock } = await openJournal(o);
  const silent = pino({ level: 'silent' });
  const queue = new DurableQueue({
    config,
    engine,
    store,
    bus: new Bus(),
    logger: silent,
    now: () => clock.t,
    onFatal: (err) => {
      throw err;
    },
  });
  const local = () => localTime(clock.t, config.office.timeZone);
  const commands = new CommandHandler({
    office: config.office.id,
    maxBytes: 4096,
    queue,
    memory: new CommandMemory({ log: store.commands, today: () => local().date }),
    logger: silent,
    republish: () => undefined,
    isoNow: () => local().iso,
  });
  const topic = `beonho/v1/${config.office.id}/cmd`;
  return {
    config,
    store,
    engine,
    clock,
    queue,
    command: (body) => commands.handle(topic, Buffer.from(JSON.stringify(body)), { source: 'bench' }),
  };
}
