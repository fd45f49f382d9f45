// The satellites of a simulated office (`npm start -- --satellite <config> …`): each a daemon core
// of its own (device/main.ts with role: satellite) forked by the office's supervisor, with its own
// data dir (<dataDir>/satellites/<device>), its link to the main unit through a simulator cable the
// page can cut, and its frames and sounds watched for the page. A power cut of the main unit's core
// leaves them running, as it would in an office: they show 본체 연결 끊김 until it is back.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { stringify } from 'yaml';
import { type Cable, startCable } from './cable.ts';
import type { SatelliteHandle, SimHub } from './hub.ts';
import type { SatelliteCoreMessage } from './satellite-ipc.ts';
import { readConfigDoc } from './sim-config.ts';
import { isLoopback } from '../bridge/broker/broker.ts';
import { watchSimFiles } from './sim-files.ts';

export interface Satellites {
  stop(): Promise<void>;
}

/** A core process that restarts when it dies (the supervisor's CoreProcess). */
export interface SatelliteProcess {
  spawn(): void;
  line(text: string): boolean;
  send(msg: unknown): boolean;
  powerCut(): void;
  stop(): Promise<void>;
}

export interface SatelliteProcessOptions {
  args: string[];
  logger: Logger;
  starting: (restart: boolean) => void;
  message: (msg: unknown) => void;
  down: (text: string) => void;
  refused: () => void;
  output: (line: string) => void;
}

export interface SatelliteOptions {
  /** the satellites' config files */
  configs: string[];
  /** the office's data dir: each satellite gets <dataDir>/satellites/<device> */
  dataDir: string;
  /** the core's own options that also apply to a satellite (--log-level) */
  coreArgs: string[];
  hub: SimHub;
  logger: Logger;
  /** forks a core that restarts when it dies (sim/supervisor.ts's CoreProcess) */
  fork: (o: SatelliteProcessOptions) => SatelliteProcess;
}

interface Prepared {
  device: string;
  config: string;
  dataDir: string;
  cable: Cable | null;
}

/** Starts every satellite; a config that cannot be read stops the simulator (exit 2), as the
 * office's own does. The satellite validates the rest itself and stops on a bad one. */
export async function startSatellites(o: SatelliteOptions): Promise<Satellites> {
  const prepared: Prepared[] = [];
  for (const file of o.configs) prepared.push(await prepare(file, o.dataDir));
  const procs: SatelliteProcess[] = [];
  const stopWatching: Array<() => void> = [];
  for (const p of prepared) {
    const log = o.logger.child({ satellite: p.device });
    const proc = o.fork({
      args: [...o.coreArgs, '--config', p.config, '--data-dir', p.dataDir],
      logger: log,
      starting: (restart) => o.hub.satelliteState(p.device, 'starting', restart),
      message: (msg) => o.hub.fromSatellite(p.device, msg as SatelliteCoreMessage),
      down: (text) => o.hub.satelliteState(p.device, 'down', true, text),
      refused: () => o.hub.satelliteState(p.device, 'down', false, '설정 오류로 멈췄습니다 (로그 참조)'),
      // It mirrors the main unit's queue and prints each event as the main core does: on the one
      // terminal, unmarked, every ticket and call read twice, as if issued twice.
      output: (line) => process.stdout.write(`[${p.device}] ${line}\n`),
    });
    const handle: SatelliteHandle = {
      line: (text) => proc.line(text),
      send: (msg) => proc.send(msg),
      powerCut: () => proc.powerCut(),
      cable: p.cable,
    };
    o.hub.addSatellite(p.device, handle);
    stopWatching.push(
      watchSimFiles(path.join(p.dataDir, 'sim'), (f) =>
        o.hub.satelliteFiles(p.device, { board: f.board, counters: f.counters, audio: f.audio }),
      ),
    );
    procs.push(proc);
    proc.spawn();
  }
  return {
    async stop() {
      for (const s of stopWatching) s();
      await Promise.all(procs.map((p) => p.stop()));
      await Promise.all(prepared.map((p) => p.cable?.close()));
    },
  };
}

/** Its config with the link to the main unit through a cable (plain MQTT on loopback only), under
 * its own data dir. */
async function prepare(file: string, officeDataDir: string): Promise<Prepared> {
  let doc: Record<string, unknown>;
  try {
    doc = await readConfigDoc(file);
  } catch (err) {
    process.stderr.write(`beonho: --satellite ${file}: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const device = (doc.device as { id?: unknown } | undefined)?.id;
  if (doc.role !== 'satellite' || typeof device !== 'string' || !/^[a-z0-9-]{1,40}$/.test(device)) {
    process.stderr.write(`beonho: --satellite ${file}: not a satellite config (role: satellite and a device id)\n`);
    process.exit(2);
  }
  const dataDir = path.join(officeDataDir, 'satellites', device);
  const out = structuredClone(doc);
  const main = (out.satellite as { main?: { url?: string } } | undefined)?.main;
  let cable: Cable | null = null;
  const target = main?.url ? loopbackTarget(main.url) : null;
  if (main && target) {
    cable = await startCable(target);
    main.url = `mqtt://127.0.0.1:${cable.port}`;
  }
  const config = path.join(dataDir, 'sim', 'core-config.yaml');
  await mkdir(path.dirname(config), { recursive: true });
  await writeFile(
    config,
    `# Written by the simulator's supervisor: this satellite's config, its link through a cable.\n${stringify(out)}`,
  );
  return { device, config, dataDir, cable };
}

function loopbackTarget(url: string): { host: string; port: number } | null {
  try {
    const u = new URL(url);
    const host = u.hostname.replace(/^\[|\]$/g, '');
    if ((u.protocol !== 'mqtt:' && u.protocol !== 'tcp:') || !isLoopback(host)) return null;
    return { host, port: u.port ? Number(u.port) : 1883 };
  } catch {
    return null;
  }
}
