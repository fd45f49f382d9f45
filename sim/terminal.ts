// A line-based control on stdin for the simulator: press buttons, work the keypads, look at the
// state. The same words are documented in README.md ("Driving the simulator from the terminal").
// Lines run strictly in order: a line's work (the press, the key, what they print and show) is
// finished before the next line starts, as when a person types one line after the other. A press
// waits for the printer's status before it issues, so a key piped right behind it would otherwise
// reach the queue first (docs/simulator.md).
import * as readline from 'node:readline';
import type { Bus } from '../device/bus.ts';
import type { KeypadAction } from '../device/ports/keypad.ts';
import type { QueueService } from '../device/queue/service.ts';
import type { QueueEvent } from '../device/queue/types.ts';
import type { SimButtons } from './buttons.ts';
import type { SimKeypads } from './keypads.ts';

export const HELP = `commands:
  press <button>                 press a dispenser button (e.g. press resident, press priority)
  key <counter> next             complete the current ticket and call the next one
  key <counter> recall           call the current ticket again
  key <counter> skip             no-show: park the current ticket, call the next one
  key <counter> call <number>    call a given number (e.g. key 2 call 1035)
  key <counter> transfer service <id> | transfer counter <id>
  key <counter> pause | resume | close
  state                          print the waiting status
  help                           this text`;

export interface TerminalDeps {
  bus: Bus;
  queue: QueueService;
  buttons: SimButtons;
  keypads: SimKeypads;
  buttonIds: string[];
  write: (line: string) => void;
  /** resolves once every press and key handed to the inputs so far has been handled (the
   * dispenser's and the counters' idle()); the next line waits for it */
  settled?: () => Promise<unknown>;
}

export function parseKey(words: string[]): KeypadAction | string {
  const [verb, a, b] = words;
  switch (verb) {
    case 'next':
    case 'recall':
    case 'skip':
    case 'pause':
    case 'resume':
    case 'close':
      return { type: verb };
    case 'call':
      return a ? { type: 'call', number: a } : 'usage: key <counter> call <number>';
    case 'transfer':
      if (a === 'service' && b) return { type: 'transfer', toService: b };
      if (a === 'counter' && b) return { type: 'transfer', toCounter: b };
      return 'usage: key <counter> transfer service <id> | transfer counter <id>';
    default:
      return `unknown key action "${verb ?? ''}"; try help`;
  }
}

/** Handles one line; returns what to print. Exported for tests. */
export function handleLine(line: string, deps: TerminalDeps): string | null {
  const words = line.trim().split(/\s+/).filter(Boolean);
  const [cmd, ...rest] = words;
  switch (cmd) {
    case undefined:
      return null;
    case 'help':
      return HELP;
    case 'press':
      if (!rest[0]) return `usage: press <button>; buttons: ${deps.buttonIds.join(', ')}`;
      return deps.buttons.press(rest[0]) ? null : `no button "${rest[0]}"; buttons: ${deps.buttonIds.join(', ')}`;
    case 'key': {
      const [counter, ...actionWords] = rest;
      if (!counter) return 'usage: key <counter> <action>';
      const action = parseKey(actionWords);
      if (typeof action === 'string') return action;
      return deps.keypads.input(counter, action) ? null : `no keypad at counter "${counter}" (or it is unplugged)`;
    }
    case 'state':
      return formatState(deps.queue);
    default:
      return `unknown command "${cmd}"; try help`;
  }
}

/** Hangul and other wide characters take two columns of a terminal. */
const WIDE =
  /[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/u;

function columnsOf(text: string): number {
  let width = 0;
  for (const ch of text) width += WIDE.test(ch) ? 2 : 1;
  return width;
}

/** Pads to `columns` terminal columns: String.padEnd counts 여권 as 2, the terminal shows 4, and the
 * state's waiting column went ragged under Korean service names. */
function padColumns(text: string, columns: number): string {
  return text + ' '.repeat(Math.max(0, columns - columnsOf(text)));
}

export function formatState(queue: Pick<QueueService, 'snapshot'>): string {
  const s = queue.snapshot();
  const lines = [`${s.name} ${s.day ?? '-'} ${s.open ? '(open)' : '(closed)'} seq ${s.seq}`];
  const nameColumns = Math.max(8, ...s.services.map((v) => columnsOf(v.name)));
  for (const v of s.services) {
    lines.push(
      `  ${padColumns(v.name, nameColumns)} waiting ${String(v.waiting).padStart(3)}  last issued ${v.lastIssued ?? '-'}  last called ${v.lastCalled ?? '-'}  ~${v.estimatedWaitMin} min${v.accepting ? '' : ` (not issuing: ${v.closedReason})`}`,
    );
  }
  for (const c of s.counters) lines.push(`  ${c.name}: ${c.status}${c.ticket ? ` ${c.ticket}` : ''}`);
  if (s.notice) lines.push(`  notice: ${s.notice}`);
  return lines.join('\n');
}

export function describeEvent(ev: QueueEvent): string | null {
  switch (ev.type) {
    case 'ticket.issued':
      return `ticket ${ev.ticket.number} (${ev.ticket.service}${ev.ticket.priority ? ', priority' : ''}): ${ev.ticket.ahead} ahead, ~${ev.ticket.estimatedWaitMin} min`;
    case 'ticket.called':
      return `call ${ev.ticket.number} -> counter ${ev.counter}`;
    case 'ticket.recalled':
      return `recall ${ev.ticket.number} -> counter ${ev.counter}`;
    case 'ticket.skipped':
      return `no-show ${ev.ticket.number} at counter ${ev.counter} (callable until ${ev.holdUntil.slice(11, 16)})`;
    case 'ticket.transferred':
      return `transfer ${ev.ticket.number} -> ${ev.toService ? `service ${ev.toService}` : `counter ${ev.toCounter}`}`;
    case 'ticket.completed':
      return `done ${ev.ticket.number} at counter ${ev.counter}`;
    case 'ticket.cancelled':
      return `cancelled ${ev.ticket.number} (${ev.reason})`;
    case 'day.opened':
      return `day ${ev.day} ${ev.resumed ? 're-opened' : 'opened'}`;
    case 'day.closed':
      return `day ${ev.day} closed: ${ev.issued} issued, ${ev.completed} served`;
    // a counter that serves a ticket was told above, by the call
    case 'counter.changed':
      return ev.counter.status === 'serving' ? null : `counter ${ev.counter.id} ${ev.counter.status}`;
    case 'service.changed':
      return `service ${ev.service.id} ${ev.service.accepting ? 'accepting again' : `not accepting (${ev.service.reason})`}`;
    case 'notice.changed':
      return ev.notice ? `notice: ${ev.notice}` : 'notice cleared';
    default:
      return null;
  }
}

/** Reads lines from `input` until stopped; returns the stop, which waits for the line under way
 * (lines not yet started are dropped). */
export function startTerminal(deps: TerminalDeps, input: NodeJS.ReadableStream = process.stdin): () => Promise<void> {
  const owner = {};
  deps.bus.on('queueEvents', owner, ({ events }) => {
    for (const ev of events) {
      const text = describeEvent(ev);
      if (text) deps.write(text);
    }
  });
  deps.bus.on('actionRefused', owner, (r) => {
    // The dispenser reports its own refusals below, in the citizen's terms.
    if (!r.source?.startsWith('button:')) deps.write(`refused (${r.code}): ${r.message}`);
  });
  deps.bus.on('dispenserRefused', owner, (r) => deps.write(`no ticket (${r.code}): ${r.message}`));
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const run = async (line: string): Promise<void> => {
    if (stopped) return;
    const out = handleLine(line, deps);
    if (out) deps.write(out);
    await deps.settled?.();
  };
  const rl = readline.createInterface({ input, terminal: false });
  rl.on('line', (line) => {
    running = running.then(() => run(line)).catch((err: Error) => deps.write(`error: ${err.message}`));
  });
  return async () => {
    stopped = true;
    rl.close();
    await running;
    deps.bus.removeListeners(owner);
  };
}
