// The contract as types: what each topic carries. The JSON Schemas in ./schemas are the published
// form of the same shapes; tests validate every outgoing payload against them.
import type { Action } from '../../device/queue/actions.ts';
import type { Snapshot } from '../../device/queue/snapshot-types.ts';
import type { QueueEvent, TicketInfo } from '../../device/queue/types.ts';
import type { CommandErrorCode, CommandResultCode } from '../../device/error-codes.ts';
import type { ComponentHealth } from '../../device/ports/health.ts';
import type { TopicKind } from './topics.ts';

export interface OutboxStatus {
  /** events on disk not yet acknowledged by central */
  backlog: number;
  lastSeq: number;
  ackedSeq: number;
  /** events dropped because the outbox overflowed */
  dropped: number;
  droppedThroughSeq: number;
}

export interface DeviceStatus {
  v: 1;
  office: string;
  device: string;
  online: boolean;
  /** grows with every connect; a will from an older session is stale */
  session: number;
  at?: string;
  version?: string;
  startedAt?: string;
  hardware?: Record<string, ComponentHealth>;
  system?: SystemStatus;
  outbox?: OutboxStatus;
}

/** The machine, from the daemon's health collector (device/health.ts). */
export interface SystemStatus {
  node?: string;
  uptimeSec: number;
  systemUptimeSec?: number;
  diskFreePct?: number | null;
  rssBytes?: number;
  cpuTempC?: number | null;
  bytesPerTicket?: number | null;
}

/** A command as it arrives: the queue Action plus its id, or the republish request. */
export type Command = (Action | { type: 'state.publish' }) & { id: string; v?: 1; office?: string };
export type CommandType = Exclude<Action['type'], 'tick'> | 'state.publish';

/** Every command type central may send, in the order docs/mqtt.md lists them. */
export const COMMAND_TYPES = [
  'ticket.issue',
  'ticket.cancel',
  'counter.next',
  'counter.recall',
  'counter.skip',
  'counter.pause',
  'counter.resume',
  'counter.close',
  'counter.call',
  'counter.transfer',
  'service.accepting',
  'notice.set',
  'day.open',
  'day.close',
  'state.publish',
] as const satisfies readonly CommandType[];

// Compile-time check that the list names every command type (a new Action must be listed).
type _AllCommands = Exclude<CommandType, (typeof COMMAND_TYPES)[number]> extends never ? true : never;
export const commandListComplete: _AllCommands = true;

/** cmd/result's error codes: validation refusals and the queue's (device/error-codes.ts). */
export type { CommandErrorCode, CommandResultCode };

export interface CommandError {
  /** stable code: the same in logs, cmd/result and docs/errors.md (schema: kebab-case) */
  code: CommandResultCode;
  message: string;
  /** the offending field, when one is to blame */
  field?: string;
}

export type CommandResult =
  | { v: 1; id: string | null; type?: string; ok: true; at?: string; result: { ticket?: TicketInfo; seq?: number } }
  | { v: 1; id: string | null; type?: string; ok: false; at?: string; error: CommandError };

/** topic kind -> payload */
export interface TopicPayloads {
  state: Snapshot;
  events: QueueEvent;
  status: DeviceStatus;
  cmd: Command;
  'cmd/result': CommandResult;
}

/** What a topic of kind K carries. */
export type PayloadOf<K extends TopicKind> = TopicPayloads[K];

// Compile-time check that the map covers every topic kind.
type _Covers = TopicKind extends keyof TopicPayloads ? true : never;
export const topicMapComplete: _Covers = true;
