// The line control of a satellite in the simulator: its keypads' keys, the state it mirrors, and
// what it hears from the main unit. The same words as the main unit's terminal (sim/terminal.ts)
// for what a satellite can do: `key <counter> …`, `state`, `help`. A key line is a press: it does
// not wait for the main unit's answer (a line behind it would otherwise be a key held back to be
// sent later); what came of each key is printed when it is known.
import * as readline from 'node:readline';
import type { Bus } from '../device/bus.ts';
import type { KeyOutcome, SatelliteKeys } from '../device/satellite/keys.ts';
import type { StateMirror } from '../device/satellite/mirror.ts';
import type { SimKeypads } from './keypads.ts';
import { describeEvent, formatState, parseKey } from './terminal.ts';

export const SATELLITE_HELP = `satellite commands:
  key <counter> next             complete the current ticket and call the next one (sent to the main unit)
  key <counter> recall | skip | pause | resume | close
  key <counter> call <number>    call a given number
  key <counter> transfer service <id> | transfer counter <id>
  state                          print the state this satellite shows
  help                           this text`;

export interface SatelliteTerminalDeps {
  bus: Bus;
  mirror: StateMirror;
  keys: SatelliteKeys;
  keypads: SimKeypads;
  write: (line: string) => void;
}

export function outcomeLine(o: KeyOutcome): string {
  return o.ok ? `key ${o.counter} ${o.type}: ${o.text}` : `key ${o.counter} ${o.type} refused (${o.code}): ${o.text}`;
}

/** Reads lines until stopped; the stop waits for the line under way. */
export function startSatelliteTerminal(
  deps: SatelliteTerminalDeps,
  input: NodeJS.ReadableStream = process.stdin,
): () => Promise<void> {
  const owner = {};
  let awaitingState = false;
  deps.bus.on('queueEvents', owner, ({ events }) => {
    for (const ev of events) {
      const text = describeEvent(ev);
      if (text) deps.write(text);
    }
  });
  deps.bus.on('mainLinkChanged', owner, ({ online }) => {
    awaitingState = false;
    if (!online) deps.write('main unit: link down (본체 연결 끊김)');
    // The retained state may have come before the subscription was acknowledged.
    else if (deps.mirror.current) deps.write(`main unit: linked, state seq ${deps.mirror.snapshot().seq}`);
    else awaitingState = true;
  });
  deps.bus.on('snapshotChanged', owner, ({ seq }) => {
    if (!awaitingState) return;
    awaitingState = false;
    deps.write(`main unit: linked, state seq ${seq}`);
  });
  let stopped = false;
  deps.keys.onOutcome((o) => {
    if (!stopped) deps.write(outcomeLine(o));
  });

  const run = (line: string): void => {
    if (stopped) return;
    const [cmd, counter, ...rest] = line.trim().split(/\s+/).filter(Boolean);
    switch (cmd) {
      case undefined:
        return;
      case 'help':
        deps.write(SATELLITE_HELP);
        return;
      case 'state':
        deps.write(formatState(deps.mirror));
        return;
      case 'key': {
        const action = counter ? parseKey(rest) : 'usage: key <counter> <action>';
        if (typeof action === 'string') deps.write(action);
        else if (!deps.keypads.input(counter!, action)) {
          deps.write(`no keypad at counter "${counter}" on this satellite (or it is unplugged)`);
        }
        return;
      }
      default:
        deps.write(`unknown command "${cmd}"; try help`);
    }
  };
  const rl = readline.createInterface({ input, terminal: false });
  rl.on('line', (line) => {
    try {
      run(line);
    } catch (err) {
      deps.write(`error: ${(err as Error).message}`);
    }
  });
  return async () => {
    stopped = true;
    rl.close();
    deps.bus.removeListeners(owner);
  };
}
