// State schema migrations. The snapshot header carries the schema it was written with; a newer
// daemon migrates older states step by step, an older daemon refuses a newer state
// (SnapshotAdapter.read throws StateTooNewError) and touches nothing.
//
// Schema history:
//   1 — first release (this file's only version so far).
// To change QueueState: bump STATE_SCHEMA in queue/reduce.ts, add `n: (s) => ...` below turning
// schema n into n+1, and add a fixture of schema n to tests/fixtures/state/.
import { STATE_SCHEMA } from '../queue/reduce.ts';
import type { QueueState } from '../queue/types.ts';

type Migration = (state: Record<string, unknown>) => Record<string, unknown>;

export const migrations: Record<number, Migration> = {};

export function migrateState(state: unknown, schema: number): QueueState {
  let cur = state as Record<string, unknown>;
  for (let v = schema; v < STATE_SCHEMA; v++) {
    const step = migrations[v];
    if (!step) throw new Error(`no migration from state schema ${v} to ${v + 1}`);
    cur = step(cur);
  }
  cur.schema = STATE_SCHEMA;
  return cur as unknown as QueueState;
}
