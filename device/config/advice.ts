// What a valid config may still get wrong for an office: said as warnings at the start and by the
// installer, never refused (an error would stop an office that ran with it at an upgrade).
import { localTime } from '../util/time.ts';
import type { Config } from './schema.ts';

/** Korea's offset from UTC, as localTime writes it. */
const KOREA_OFFSET = '+09:00';

/** One sentence per thing worth checking, without the config's secrets (ids and zones only). */
export function configAdvice(config: Config, now = Date.now()): string[] {
  const out: string[] = [];
  const offset = localTime(now, config.office.timeZone).iso.slice(-6);
  if (offset !== KOREA_OFFSET) {
    out.push(
      `office.timeZone "${config.office.timeZone}" is UTC${offset}, not Korea's ${KOREA_OFFSET}: the office's day rolls at that zone's midnight, and cut-offs and times on tickets are read in it`,
    );
  }
  if (config.role === 'satellite') return out;
  const served = new Set(config.counters.flatMap((c) => c.services));
  for (const s of config.services) {
    if (!served.has(s.id)) {
      out.push(
        `service "${s.id}" is in no counter's services: its tickets are issued and never called (add it to a counter, or remove it)`,
      );
    }
  }
  out.push(...sharedCounters(config));
  return out;
}

/** Counters whose keys come from more than one place (a keypad of this unit, satellites' accounts):
 * each place holds its own double-press guard, so two "next" a moment apart, one from each, call
 * two tickets, and the first citizen is marked served. */
function sharedCounters(config: Config): string[] {
  const sources = new Map<string, string[]>();
  const add = (counter: string, source: string): void => {
    sources.set(counter, [...(sources.get(counter) ?? []), source]);
  };
  const keypads = config.hardware.keypads;
  if (keypads.driver === 'hid') for (const d of keypads.devices) add(d.counter, 'a keypad of this unit');
  for (const a of config.mqtt.broker.accounts) {
    if (a.role === 'satellite') for (const c of a.counters ?? []) add(c, `satellite ${a.username}`);
  }
  return [...sources]
    .filter(([, from]) => from.length > 1)
    .map(
      ([counter, from]) =>
        `counter "${counter}" takes keys from ${from.join(' and ')}: two "next" a moment apart, one from each, call two tickets (bind each counter to one keypad)`,
    );
}
