// Who may do what on the simulated central broker: `central` sends commands to its offices and
// reads everything of them; an office's uplink account publishes only its own office's state,
// events, status and command results, and reads only its own commands. Pure functions, so the
// rules are read (and tested) in one place.
import { parseTopic } from '../../bridge/contract/topics.ts';

export interface CentralAccount {
  username: string;
  role: 'central' | 'office';
  offices: string[];
}

function allowed(a: CentralAccount, office: string): boolean {
  return a.offices.includes('*') || a.offices.includes(office);
}

export function mayPublish(a: CentralAccount, topic: string): boolean {
  const t = parseTopic(topic);
  if (!t || !allowed(a, t.office)) return false;
  return a.role === 'central' ? t.kind === 'cmd' : t.kind !== 'cmd';
}

export function mayRead(a: CentralAccount, topic: string): boolean {
  const t = parseTopic(topic);
  if (!t || !allowed(a, t.office)) return false;
  return a.role === 'central' ? true : t.kind === 'cmd';
}
