// The durable outbox as the MQTT bridge sees it: the journal of events on disk, read from a named
// cursor. Events stay on disk until the cursor's owner acknowledges them (after a PUBACK).
import type { QueueEvent } from '../queue/types.ts';

export interface OutboxReader {
  /** Events with seq > afterSeq, in seq order, at most `limit` of them (from disk and memory). */
  read(afterSeq: number, limit: number): Promise<QueueEvent[]>;
  /** The highest seq acknowledged by this cursor (0 when none). Survives restarts. */
  acked(): number;
  /** Everything up to and including seq was delivered. Persisted (fsync'd) in batches: after a
   * power cut a few events may be published again (at-least-once, same seq). */
  ack(seq: number): void;
  /** Write the pending acknowledgement now (on shutdown). */
  flush(): Promise<void>;
  /** The highest seq on disk. */
  lastSeq(): number;
  /** Events dropped because the outbox overflowed (see docs/store.md), for device status. */
  dropped(): { count: number; throughSeq: number };
}

export interface Outbox {
  /** A named cursor ("uplink", ...). Each cursor keeps its own position. */
  cursor(name: string): OutboxReader;
}
