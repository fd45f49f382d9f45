// An engine over a store, as QueueService runs them, without the rest of the daemon.
import type { Config } from '../../device/config/schema.ts';
import type { Action, ActionResult } from '../../device/queue/actions.ts';
import { QueueEngine } from '../../device/queue/engine.ts';
import type { StoreFs } from '../../device/store/fs.ts';
import { Store } from '../../device/store/store.ts';
import type { Clock } from './office.ts';

export async function openDurable(opts: {
  config: Config;
  dir: string;
  fs?: StoreFs;
  clock: Clock;
  snapshotEvery?: number;
  outboxMaxEvents?: number;
}) {
  const store = new Store({
    dir: opts.dir,
    snapshotEvery: opts.snapshotEvery ?? opts.config.store.snapshotEvery,
    outboxMaxEvents: opts.outboxMaxEvents ?? opts.config.store.outboxMaxEvents,
    ...(opts.fs ? { fs: opts.fs } : {}),
  });
  const { state, recovered } = await store.open(opts.config);
  let id = state.seq;
  const engine = new QueueEngine(opts.config, { now: opts.clock.now, newId: () => `e${++id}` }, state);
  store.attach(() => engine.state);
  const execute = async (a: Action): Promise<ActionResult> => {
    const r = engine.execute(a);
    if (r.ok) await store.append(r.events);
    return r;
  };
  return { store, engine, execute, recovered };
}
