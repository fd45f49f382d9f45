// Which deliveries to a client are repeats, in place of aedes's own check.
//
// aedes numbers each publish (the broker's counter) and drops a delivery whose number is not above
// the last it delivered to that client. Its publish pipeline is not first in, first out: a
// retained publish first stores its copy (a promise), so a plain publish made just after it
// reaches the subscribers first, and the retained one then counts as a repeat and is lost for
// every client subscribed at that moment (aedes issues #955 and #994, open). The daemon publishes
// its retained state and then its events in the same turn: a satellite that subscribed in that
// instant kept the state from before the main unit's restart on its board until the next change.
//
// Within one broker a client gets one publish twice only through overlapping subscriptions
// (`beonho/v1/#` and `beonho/v1/x/state`), and aedes makes those deliveries one after the other,
// in the same emit. So a delivery is a repeat exactly when it carries the number of the delivery
// just before it to the same client; numbers that arrive out of order are not repeats.
import type { Client } from 'aedes';

/** What aedes's per-client `duplicates` becomes: a record that never remembers, so aedes's check
 * always passes and this module's decides. aedes reads `duplicates[brokerId]`, compares it with
 * the publish's number (at least 1) and writes the number back. */
const NEVER_SEEN: Record<string, number> = new Proxy(Object.create(null) as Record<string, number>, {
  get: () => 0,
  set: () => true,
  deleteProperty: () => true,
});

export class RepeatDeliveries {
  private readonly last = new WeakMap<Client, string>();

  /** A client aedes has just made: its own repeat check is turned off. */
  adopt(client: Client): void {
    (client as unknown as { duplicates: Record<string, number> }).duplicates = NEVER_SEEN;
  }

  /** Whether this delivery of `packet` to `client` repeats the one just before it (and counts it).
   * A retained message sent on a new subscription carries no number: never a repeat, as in aedes. */
  isRepeat(client: Client, packet: { brokerId?: string | null; brokerCounter?: number }): boolean {
    if (!packet.brokerId) return false;
    const key = `${packet.brokerId}:${packet.brokerCounter}`;
    if (this.last.get(client) === key) return true;
    this.last.set(client, key);
    return false;
  }
}
