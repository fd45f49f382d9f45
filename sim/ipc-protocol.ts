// Messages between the simulator's supervisor (parent) and the daemon core (forked child) over
// Node's IPC channel. The core only reports and obeys; the supervisor keeps what must outlive a
// power cut of the core (the event log, the fault switches).
import type { ComponentHealth } from '../device/ports/health.ts';
import type { Snapshot } from '../device/queue/snapshot-types.ts';
import type { QueueEvent } from '../device/queue/types.ts';

/** What the page needs to draw the office: buttons, counters, services. */
export interface OfficeLayout {
  office: string;
  name: string;
  timeZone: string;
  dataDir: string;
  buttons: Array<{ id: string; label: string; service: string; priority: boolean }>;
  counters: Array<{ id: string; name: string; services: string[] }>;
  services: Array<{ id: string; name: string }>;
  /** the dispenser buttons and keypads are the simulator's (the page can press them) */
  simInputs: boolean;
  /** the core can unplug keypads (it was handed the simulator's keypads) */
  canUnplug: boolean;
  /** the core has a simulated printer whose paper can run out */
  canPaperOut: boolean;
}

export type CoreMessage =
  | { kind: 'ready'; layout: OfficeLayout; snapshot: Snapshot }
  | { kind: 'events'; events: QueueEvent[]; snapshot: Snapshot }
  | { kind: 'refused'; source: string; code: string; message: string }
  | { kind: 'health'; component: string; health: ComponentHealth }
  | { kind: 'link'; online: boolean };

export type SupervisorMessage =
  | { kind: 'keypad-plug'; counter: string; plugged: boolean }
  | { kind: 'paper'; state: 'ok' | 'out' };

export function isSupervisorMessage(m: unknown): m is SupervisorMessage {
  const k = (m as { kind?: unknown } | null)?.kind;
  return k === 'keypad-plug' || k === 'paper';
}
