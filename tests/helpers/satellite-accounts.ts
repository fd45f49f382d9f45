// The main unit's embedded broker as the satellite suites configure it: on loopback, the demo
// account for the tests' own reads, and one satellite account per unit (a fast scrypt cost).
import { hashPassword } from '../../bridge/broker/passwords.ts';

export async function satelliteAccount(username: string, password: string, counters: Array<number | string>) {
  return {
    role: 'satellite',
    offices: ['singok2'],
    username,
    passwordHash: await hashPassword(password, { N: 1024, r: 8, p: 1 }),
    counters,
  };
}

export function mainBroker(port: number, accounts: unknown[]) {
  return { port, wsPort: null, demo: true, accounts };
}
