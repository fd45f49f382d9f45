// The daemon's clock for the midnight cuts: Debian's libfaketime (package `faketime`), preloaded
// into the daemon only (never into mosquitto or the soak). The soak's fake time is the real time
// plus an offset that only grows: between two runs (power off) the offset may jump forward to just
// before a midnight, and during a run the fake clock runs with the real one. That is what the
// daemon's clock discipline (device/clock.ts) accepts without NTP: at start a wall clock later than
// the last event is trusted; during a run only the monotonic clock moves time on.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { localTime } from '../../device/util/time.ts';

/** Where Debian and Ubuntu put the preload library, per architecture. */
export function findLibfaketime(): string | null {
  const dirs = ['/usr/lib/faketime', '/usr/local/lib/faketime'];
  try {
    for (const d of readdirSync('/usr/lib')) if (d.endsWith('-linux-gnu')) dirs.push(join('/usr/lib', d, 'faketime'));
  } catch {
    // no /usr/lib: not a Debian-like system
  }
  for (const d of dirs) {
    const lib = join(d, 'libfaketime.so.1');
    if (existsSync(lib)) return lib;
  }
  return null;
}

/** Environment that makes a process's wall clock read real time + offsetMs (whole seconds). The
 * monotonic clock stays real (Node's timers and performance.now), and so do file times. */
export function fakeTimeEnv(lib: string, offsetMs: number): Record<string, string> {
  const sec = Math.round(offsetMs / 1000);
  return {
    LD_PRELOAD: [lib, process.env.LD_PRELOAD].filter(Boolean).join(':'),
    FAKETIME: `${sec >= 0 ? '+' : ''}${sec}`,
    FAKETIME_DONT_FAKE_MONOTONIC: '1',
    NO_FAKE_STAT: '1',
  };
}

/** Epoch ms of the next local midnight after `ms` in `timeZone` (a zone without daylight saving
 * time that day, as Asia/Seoul has none). */
export function nextMidnight(ms: number, timeZone: string): number {
  const t = localTime(ms, timeZone);
  const sec = Number(t.iso.slice(17, 19));
  const milli = Number(t.iso.slice(20, 23));
  return ms - ((t.minutes * 60 + sec) * 1000 + milli) + 86_400_000;
}
