// Who may do what on the embedded broker. Pure functions of an account and a topic, so the rules
// can be read (and tested) in one place. Publishing state/events/status/cmd/result is for the
// daemon alone: it publishes in-process, which bypasses these checks.
import type { AccountConfig } from '../../device/config/mqtt-schema.ts';
import { parseTopic } from '../contract/topics.ts';

export type Account = Pick<AccountConfig, 'username' | 'role' | 'offices'>;

function officeAllowed(account: Account, office: string): boolean {
  return account.offices.includes('*') || account.offices.includes(office);
}

/** Only `central` publishes, and only on the `cmd` topic of its offices. */
export function mayPublish(account: Account, topic: string): boolean {
  if (account.role !== 'central') return false;
  const t = parseTopic(topic);
  return t !== null && t.kind === 'cmd' && officeAllowed(account, t.office);
}

/** A retained command would be delivered again to every subscriber that (re)connects, and run
 * again once its id has been forgotten: nobody may retain one (the MQTT will included). */
export function isRetainedCommand(topic: string, retain: boolean): boolean {
  return retain && parseTopic(topic)?.kind === 'cmd';
}

/** Filters are accepted unless reserved ($SYS/...); what a client actually receives is decided
 * per message by mayRead, which also covers wildcard filters. */
export function maySubscribe(_account: Account, filter: string): boolean {
  return !filter.startsWith('$') && filter.length > 0;
}

/** central reads everything of its offices; display/keypad satellites read state, events, status. */
export function mayRead(account: Account, topic: string): boolean {
  const t = parseTopic(topic);
  if (!t || !officeAllowed(account, t.office)) return false;
  if (account.role === 'central') return true;
  return t.kind === 'state' || t.kind === 'events' || t.kind === 'status';
}
