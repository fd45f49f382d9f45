// An office for the benchmarks: the daemon as production builds it (device/app.ts), with only the
// MQTT bridge among its features, its store in a data dir, at a fixed weekday morning (so a run at
// night meets no cut-off).
import { type Logger, pino } from 'pino';
import { ulid } from 'ulid';
import { buildDaemon, type Daemon } from '../../device/app.ts';
import type { Bus } from '../../device/bus.ts';
import { simulatorDefault } from '../../device/config/default.ts';
import { validateConfig } from '../../device/config/load.ts';
import type { Config } from '../../device/config/schema.ts';
import type { QueueService } from '../../device/queue/service.ts';
import type { Store } from '../../device/store/store.ts';
import type { Bridge } from '../../bridge/index.ts';
import { tempDir } from './mqtt-client.ts';

/** A weekday morning in Seoul: the office is open. */
export const MORNING = Date.parse('2026-11-26T10:00:00+09:00');

/** The simulator's office; its embedded broker (if enabled) on free ports, state never coalesced. */
export function officeConfig(mqttOverrides: Record<string, unknown> = {}): Config {
  return validateConfig({
    ...simulatorDefault,
    mqtt: {
      broker: { port: 0, wsPort: 0, demo: true },
      state: { minIntervalMs: 0 },
      statusIntervalSec: 3600,
      ...mqttOverrides,
    },
  });
}

export interface Office {
  config: Config;
  bus: Bus;
  queue: QueueService;
  store: Store;
  bridge: Bridge;
  dataDir: string;
  stop(): Promise<void>;
}

export interface BenchDaemonOptions {
  dataDir: string;
  /** the office's clock, epoch ms */
  now: () => number;
  /** default: silent, or the level in BENCH_LOG */
  logger?: Logger;
}

/** The daemon (not started) with the MQTT bridge as its only feature, no terminal, and a disk
 * failure thrown. */
export function buildBenchDaemon(config: Config, o: BenchDaemonOptions): Daemon {
  return buildDaemon(config, {
    dataDir: o.dataDir,
    logger: o.logger ?? pino({ level: process.env.BENCH_LOG ?? 'silent' }),
    now: o.now,
    newId: () => ulid(),
    features: ['mqtt'],
    terminal: null,
    onFatal: (err) => {
      throw err;
    },
  });
}

/** A started daemon with the MQTT bridge, as an Office. */
export function officeOf(config: Config, daemon: Daemon, dataDir: string): Office {
  return {
    config,
    bus: daemon.bus,
    queue: daemon.queue,
    store: daemon.store,
    bridge: daemon.parts.bridge!,
    dataDir,
    stop: () => daemon.stop(),
  };
}

export async function startOffice(config: Config, dataDir = tempDir('beonho-bench-')): Promise<Office> {
  const daemon = buildBenchDaemon(config, { dataDir, now: () => MORNING });
  await daemon.start();
  return officeOf(config, daemon, dataDir);
}
