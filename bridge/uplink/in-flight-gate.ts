// The broker's Receive Maximum (MQTT 5) is a limit on the whole connection: every QoS 1 publish
// not yet acknowledged counts, events, state, status and command results alike. A broker that
// enforces it disconnects a client past it (HiveMQ announces 10; 0x93), and the reconnect's burst
// (status, state, queued results) past it again is a loop. mqtt.js sends whatever it is given, so
// the uplink holds what is beyond the limit here, in call order, until an acknowledgement frees a
// place. A command's result is never held: it must leave before the command's PUBACK (after a
// kill between the two central would have neither the result nor a redelivery), and mqtt.js reads
// no packet (no PUBACK that would free a place) while a command is unacknowledged. So held
// publishes leave one place free for results, which go at once and count. One gate per connection: its end fails what waits and what is in flight (mqtt.js, with a
// persistent session, never calls back for a publish whose connection died), and an old
// connection's late acknowledgements count for nothing on the next.

type Fail = (err: Error) => void;

export class InFlightGate {
  /** the publishes sent and not yet acknowledged, by their fail function */
  private readonly inFlight = new Set<Fail>();
  private readonly waiting: Array<{ go: () => void; fail: Fail }> = [];
  private closed = false;

  /** limit: the broker's Receive Maximum, or null when it announced none (no limit kept here) */
  constructor(private readonly limit: number | null) {}

  /** Calls go once one more publish may go out: at once (synchronously) when a place is free and
   * nothing waits, or for an answer (a command's result), else when an acknowledgement frees one;
   * fail if the connection ends first, before or after go. Call release(fail) once the publish is
   * acknowledged or has failed. */
  acquire(go: () => void, fail: Fail, answer = false): void {
    if (this.closed) {
      fail(new Error('uplink offline'));
    } else if (answer || (this.waiting.length === 0 && this.room())) {
      // nothing waits ahead of it: publishes leave in the order they were asked
      this.inFlight.add(fail);
      go();
    } else {
      this.waiting.push({ go, fail });
    }
  }

  release(fail: Fail): void {
    if (this.closed || !this.inFlight.delete(fail)) return;
    const next = this.room() ? this.waiting.shift() : undefined;
    if (!next) return;
    this.inFlight.add(next.fail);
    next.go();
  }

  /** The uplink is stopping: what waits is dropped, never sent (the outbox resends events from
   * disk); what is in flight stays, so that its acknowledgement still counts. */
  shed(): void {
    const err = new Error('uplink stopping');
    for (const w of this.waiting.splice(0)) w.fail(err);
  }

  /** The connection ended: what waits and what is in flight fail (the outbox resends events from
   * disk; a state or a status is published again at the next connection). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const err = new Error('uplink offline');
    const all = [...this.inFlight, ...this.waiting.splice(0).map((w) => w.fail)];
    this.inFlight.clear();
    for (const fail of all) fail(err);
  }

  /** a place for a held publish: one of the limit stays free for an answer */
  private room(): boolean {
    return this.limit === null || this.inFlight.size === 0 || this.inFlight.size < this.limit - 1;
  }
}
