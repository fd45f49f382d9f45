// How many topic filters one connection may hold on the embedded broker. aedes takes any number:
// an authorised client (a board's password is enough) once subscribed to 150,000 distinct filters
// in 100 packets and took the daemon from 185 to 309 MiB, and for a persistent session aedes
// stores every filter of a SUBSCRIBE packet, the refused ones included, until the session ends.
// The beonho clients need a handful (a satellite 4, central 4); the bound is `limits.subscriptionsPerClient`.
import type { Client } from 'aedes';

export class SubscriptionLimit {
  /** the filters granted to each connection (a persistent session's restored ones included) */
  private readonly granted = new WeakMap<Client, Set<string>>();

  constructor(private readonly perClient: number) {}

  /** Whether `client` may hold `filter` (one it already holds always: a new QoS is no new filter);
   * if so it is counted from now on. */
  take(client: Client, filter: string): boolean {
    const mine = this.granted.get(client) ?? new Set<string>();
    this.granted.set(client, mine);
    if (mine.has(filter)) return true;
    if (mine.size >= this.perClient) return false;
    mine.add(filter);
    return true;
  }

  /** `client` unsubscribed from `filters`. */
  release(client: Client, filters: readonly string[]): void {
    const mine = this.granted.get(client);
    for (const f of filters) mine?.delete(f);
  }

  /** The subscriptions of `client` that it was granted: what a persistent session may store. */
  grantedOf<S extends { topic: string }>(client: Client, subs: readonly S[]): S[] {
    const mine = this.granted.get(client);
    return mine ? subs.filter((s) => mine.has(s.topic)) : [];
  }
}
