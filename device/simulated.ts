// Which parts of a config run on the simulator's drivers. `sim` is the schema's default for every
// input and output, so a config written for an office that leaves out `hardware` or `outputs` runs
// as `npm start` does on a laptop: nothing is read from a button or keypad, and the board, the
// tickets and the voice become files under <dataDir>/sim, while every part reports itself healthy.
// The daemon says so at start when it runs as a service; `npm run status` shows it too.
import type { Config } from './config/schema.ts';

export interface DriverChoice {
  part: 'buttons' | 'keypads' | 'board' | 'printer' | 'audio';
  driver: string;
}

/** The driver of each part the unit has (a satellite has no dispenser, so no buttons). */
export function driversOf(config: Config): DriverChoice[] {
  const { hardware, outputs } = config;
  return [
    ...(config.role === 'satellite' ? [] : [{ part: 'buttons' as const, driver: hardware.buttons.driver }]),
    { part: 'keypads', driver: hardware.keypads.driver },
    { part: 'board', driver: outputs.board.driver },
    ...(config.role === 'satellite' ? [] : [{ part: 'printer' as const, driver: outputs.printer.driver }]),
    { part: 'audio', driver: outputs.audio.enabled ? outputs.audio.driver : 'none' },
  ];
}

export function simulatedParts(config: Config): string[] {
  return driversOf(config)
    .filter((d) => d.driver === 'sim')
    .map((d) => d.part);
}

/** The warning for a daemon that runs as a service (systemd's NOTIFY_SOCKET is set) with simulated
 * parts; null under the simulator's supervisor, in a terminal or the tests, or when none is. */
export function simulatedWarning(config: Config, asService: boolean): string | null {
  const parts = simulatedParts(config);
  if (!asService || parts.length === 0) return null;
  return `running as a service with the simulator's drivers for ${parts.join(', ')}: no such hardware is read or driven (outputs go to files under the data dir's sim/); set hardware and outputs in the config (docs/deploy.md, step 5)`;
}

/** What the simulator's terminal says once the office is up, with examples of this office's own
 * (its first button and counter: the demo's city hall has no "resident" button). */
export function simulatorReadyLine(config: Config): string {
  const examples = [
    ...(config.dispenser?.buttons[0] ? [`press ${config.dispenser.buttons[0].id}`] : []),
    ...(config.counters[0] ? [`key ${config.counters[0].id} next`] : []),
    'state',
  ];
  return `beonho simulator ready. Type "help" for commands (${examples.join(', ')}).\n`;
}
