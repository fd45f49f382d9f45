// The whole daemon in this process, as production builds it (device/app.ts's buildDaemon), with
// every piece of hardware faked at its one seam, in the manner of zigbee2mqtt's tests: press the
// fake buttons and keys, then assert on what was printed, shown, announced and published. The
// process-spawning suites (tests/helpers/daemon.ts) remain for what only a real process shows:
// signals, power cuts, the supervisor.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { type Logger, pino } from 'pino';
import { buildDaemon, type Daemon, type DaemonOptions, type FeatureName } from '../../device/app.ts';
import { simulatorDefault } from '../../device/config/default.ts';
import { validateConfig } from '../../device/config/load.ts';
import type { Config, ConfigInput } from '../../device/config/schema.ts';
import { type ComponentHealth, healthy } from '../../device/ports/health.ts';
import type {
  AudioOut,
  DisplaySink,
  Frame,
  PatchFrame,
  PaperState,
  PrintJob,
  PrinterStatus,
  TicketPrinter,
} from '../../device/ports/outputs.ts';
import { REFERENCE } from '../../display/board/render.ts';
import { SimButtons } from '../../sim/buttons.ts';
import { SimKeypads } from '../../sim/keypads.ts';
import { Clock } from './office.ts';

/** A ticket printer that keeps its jobs; its paper can run out. */
export class FakePrinter implements TicketPrinter {
  readonly kind = 'fake';
  readonly jobs: PrintJob[] = [];
  paper: PaperState = 'ok';
  online = true;

  async open(): Promise<void> {}
  async status(): Promise<PrinterStatus> {
    const ready = this.online && this.paper !== 'out';
    const error = !this.online ? 'printer-offline' : this.paper === 'out' ? 'printer-paper-out' : null;
    return { online: this.online, paper: this.paper, ready, error };
  }
  async print(job: PrintJob): Promise<void> {
    this.jobs.push(job);
  }
  async close(): Promise<void> {}
  health(): ComponentHealth {
    return healthy({ printed: this.jobs.length, paper: this.paper });
  }
}

/** A display that keeps the last frame it was sent. */
export class FakeDisplay implements DisplaySink {
  readonly kind = 'fake';
  frames = 0;
  last: Frame | PatchFrame | null = null;

  async open(): Promise<void> {}
  async write(frame: Frame | PatchFrame): Promise<void> {
    this.frames++;
    this.last = frame;
  }
  async close(): Promise<void> {}
  health(): ComponentHealth {
    return healthy({ frames: this.frames });
  }
}

/** A loudspeaker that keeps the labels of what it played. */
export class FakeSpeaker implements AudioOut {
  readonly kind = 'fake';
  readonly played: string[] = [];

  async play(_wav: Uint8Array, label: string): Promise<void> {
    this.played.push(label);
  }
  async close(): Promise<void> {}
  health(): ComponentHealth {
    return healthy({ played: this.played.length });
  }
}

export interface FakeHardware {
  buttons: SimButtons;
  keypads: SimKeypads;
  printer: FakePrinter;
  board: FakeDisplay;
  speaker: FakeSpeaker;
}

/** The simulator's office with the embedded broker on free loopback ports and no uplink. */
export function bootConfig(patch: Partial<ConfigInput> = {}): Config {
  return validateConfig({
    ...simulatorDefault,
    mqtt: { broker: { port: 0, wsPort: 0, demo: true }, state: { minIntervalMs: 0 }, statusIntervalSec: 3600 },
    ...patch,
  });
}

export interface BootOptions extends Partial<Omit<DaemonOptions, 'hardware'>> {
  config?: Config;
  /** default: a fresh temporary directory, removed by stop() */
  dataDir?: string;
  /** default: 09:00 on DAY in Seoul; the daemon's wall and monotonic clock unless `now` is given */
  clock?: Clock;
  features?: readonly FeatureName[];
}

export interface Booted {
  daemon: Daemon;
  hw: FakeHardware;
  clock: Clock;
  dataDir: string;
  /** waits until every press and key so far is handled and the board and voice have caught up */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

const silent = pino({ level: process.env.BOOT_TEST_LOG ?? 'silent' });

/** Builds and starts the daemon over fake hardware. */
export async function bootDaemon(opts: BootOptions = {}): Promise<Booted> {
  const { config = bootConfig(), dataDir: givenDir, clock = new Clock(), ...rest } = opts;
  const dataDir = givenDir ?? (await mkdtemp(path.join(tmpdir(), 'beonho-boot-')));
  const hw: FakeHardware = {
    buttons: new SimButtons(config.dispenser?.buttons.map((b) => b.id) ?? []),
    keypads: new SimKeypads(config.counters.map((c) => c.id)),
    printer: new FakePrinter(),
    board: new FakeDisplay(),
    speaker: new FakeSpeaker(),
  };
  const board = config.outputs.board;
  const daemon = buildDaemon(config, {
    logger: silent as Logger,
    now: () => clock.now(),
    systemd: { env: {} },
    ...rest,
    dataDir,
    hardware: {
      buttons: hw.buttons,
      keypads: hw.keypads,
      printer: hw.printer,
      board: [
        {
          sink: hw.board,
          target: { kind: 'board', layout: board.layout },
          width: board.width ?? REFERENCE[board.layout].width,
          height: board.height ?? REFERENCE[board.layout].height,
        },
      ],
      audio: hw.speaker,
    },
  });
  try {
    await daemon.start();
  } catch (err) {
    if (!givenDir) await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const settle = async (): Promise<void> => {
    const p = daemon.parts;
    await p.dispenser.idle();
    await p.counters.idle();
    await p.board?.idle();
    await p.audio?.idle();
  };
  return {
    daemon,
    hw,
    clock,
    dataDir,
    settle,
    async stop() {
      await daemon.stop();
      if (!givenDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
