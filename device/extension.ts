// A feature of the daemon (board, printer, audio, MQTT bridge, simulator control). The composition
// root (app.ts) builds them; the controller starts them in order and stops them in reverse. A
// constructor does nothing: all work, and all hardware access, happens in start().
import type { Logger } from 'pino';
import type { Bus } from './bus.ts';
import type { Config } from './config/schema.ts';
import type { QueueService } from './queue/service.ts';

export interface Extension {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface ExtensionContext {
  config: Config;
  bus: Bus;
  queue: QueueService;
  logger: Logger;
  dataDir: string;
  /** epoch ms; injected so tests can run a day in milliseconds */
  now: () => number;
}

/** What a feature that never touches the queue is handed (the board, the voice, health, systemd):
 * a satellite (device/satellite) has no queue and builds the same features over this. */
export type FeatureContext = Omit<ExtensionContext, 'queue'>;
