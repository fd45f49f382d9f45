// The test mosquitto (bench/lib/mosquitto.ts) with the accounts and checks the mosquitto suites share.
import { expect } from 'vitest';

export { MOSQUITTO, Mosquitto, type MosquittoUser, mosquittoAvailable } from '../bench/lib/mosquitto.ts';

/** Accounts of the test mosquitto: the device, central, and a read-only viewer. */
export const MOSQUITTO_USERS = [
  { username: 'dev-singok2', password: 'dev-pw', acl: ['topic readwrite beonho/v1/singok2/#'] },
  { username: 'central', password: 'central-pw', acl: ['topic readwrite beonho/v1/#', 'topic read central/replies/#'] },
  {
    username: 'viewer',
    password: 'viewer-pw',
    acl: ['topic read beonho/v1/+/state', 'topic read beonho/v1/+/cmd/result', 'topic write beonho/v1/+/cmd-not'],
  },
];
// The response topic is written by the device: give it the right.
MOSQUITTO_USERS[0]!.acl.push('topic write central/replies/#');

/** Seqs in arrival order must, after dropping repeats, be strictly increasing without gaps. */
export function checkOrdered(seqs: number[], from: number, to: number): void {
  const firsts: number[] = [];
  const seen = new Set<number>();
  for (const s of seqs) {
    if (seen.has(s)) continue;
    seen.add(s);
    firsts.push(s);
  }
  expect(firsts).toEqual(Array.from({ length: to - from + 1 }, (_, i) => from + i));
}
