// What the satellite link tests share: the account of satellite counter-12 of singok2 (password
// pw-12) on a test broker, and a logger whose lines the test reads.
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import { hashPassword } from '../../bridge/broker/passwords.ts';
import { simulatorDefault } from '../../device/config/default.ts';
import { validateConfig } from '../../device/config/load.ts';
import type { SatelliteConfig } from '../../device/config/schema.ts';
import type { QueueEvent } from '../../device/queue/types.ts';

/** counter-12's broker account: a satellite of singok2 with counter 1. */
export async function satelliteAccount() {
  return {
    username: 'counter-12',
    role: 'satellite',
    offices: ['singok2'],
    counters: ['1'],
    passwordHash: await hashPassword('pw-12', { N: 1024, r: 8, p: 1 }),
  };
}

export interface LogLine {
  level: number;
  msg: string;
  code?: string;
  extension?: string;
}

/** A logger at debug whose parsed lines land in `lines`. */
export function debugLog(): { lines: LogLine[]; logger: Logger } {
  const lines: LogLine[] = [];
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk, _enc, done) {
        for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
        done();
      },
    }),
  );
  return { lines, logger };
}

/** A call as the main unit's events topic carries it (counter 1 unless told). */
export function calledEvent(seq: number, number: string, counter = '1'): QueueEvent {
  return {
    v: 1,
    office: 'singok2',
    seq,
    id: `e${seq}`,
    at: '2026-11-26T10:00:00.000+09:00',
    type: 'ticket.called',
    ticket: { number, service: 'resident', channel: 'kiosk', priority: false },
    counter,
  } as unknown as QueueEvent;
}

/** The simulator's office as satelliteAccount()'s unit (counter 1), linking to a test broker on
 * loopback with quick reconnects. */
export function satelliteConfigFor(port: number, password: string): SatelliteConfig {
  return validateConfig({
    ...simulatorDefault,
    role: 'satellite',
    device: { id: 'counter-12' },
    satellite: {
      main: { url: `mqtt://127.0.0.1:${port}`, password, reconnectMinMs: 50, reconnectMaxMs: 100 },
      counters: [1],
    },
  }) as SatelliteConfig;
}
