// A test office with a controllable clock: build an engine at 09:00 KST on a fixed day.
import { validateConfig } from '../../device/config/load.ts';
import type { Config, ConfigInput } from '../../device/config/schema.ts';
import { simulatorDefault } from '../../device/config/default.ts';
import { QueueEngine } from '../../device/queue/engine.ts';
import type { Action, ActionOk, ActionResult } from '../../device/queue/actions.ts';

export const DAY = '2026-11-26';
export const NINE_AM = Date.parse(`${DAY}T09:00:00+09:00`);

export function testConfig(patch: Partial<ConfigInput> = {}): Config {
  return validateConfig({ ...simulatorDefault, ...patch });
}

export class Clock {
  constructor(public t = NINE_AM) {}
  /** a property, not a method: a test may replace it to script the readings one by one */
  now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
  minutes(m: number): void {
    this.t += m * 60_000;
  }
}

export function office(patch: Partial<ConfigInput> = {}, opts: { open?: boolean; clock?: Clock } = {}) {
  const config = testConfig(patch);
  const clock = opts.clock ?? new Clock();
  let id = 0;
  const engine = new QueueEngine(config, { now: clock.now, newId: () => `ev-${++id}` });
  if (opts.open !== false) ok(engine.execute({ type: 'day.open' }));
  const run = (a: Action): ActionResult => engine.execute(a);
  const must = (a: Action): ActionOk => ok(engine.execute(a));
  const issue = (service = 'resident', priority = false) =>
    must({ type: 'ticket.issue', service, channel: 'kiosk', priority }).ticket!.number;
  return { config, clock, engine, run, must, issue, state: engine.state };
}

export function ok(r: ActionResult): ActionOk {
  if (!r.ok) throw new Error(`expected ok, got ${r.error.code}: ${r.error.message}`);
  return r;
}

export function types(r: ActionResult): string[] {
  return r.ok ? r.events.map((e) => e.type) : [];
}
