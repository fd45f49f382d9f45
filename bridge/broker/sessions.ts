// Sessions that outlive their connection (clean: false) on the embedded broker, bounded as
// mosquitto bounds them (max_queued_messages, persistent_client_expiration). aedes's memory
// persistence queues every QoS 1 message that matches an absent session's subscriptions, with no
// cap and no end (the ACL filters at delivery, not when queueing): 300 sessions that a read-only
// display account opened on `#` and abandoned took the daemon from 265 to 586 MiB in 3,000
// commands, and each held its client id for good. Here:
//   - a session queues at most `maxQueued` messages while away; later ones are dropped for it
//     (the retained state it gets on return is newer than any of them);
//   - a session away longer than `expiryMs` ends: its subscriptions, its queue and its client id go;
//   - an account keeps at most `perAccount` sessions; one more is refused at login (CONNACK 3);
//   - a session holds at most `maxUnreleased` QoS 2 publishes waiting for their PUBREL, across its
//     connections: aedes bounds them per connection only, and a session resumed again and again
//     (clean: false) kept each connection's, up to 65,535 packets of up to 64 KiB;
//   - the sessions' queues are kept here, not in the memory store: it has no call that removes an
//     id's queue, so every id that ever had one kept an empty one for good, one more per persistent
//     session ever opened (or PUBREC with a made-up packet id), as long as the daemon ran.
// The satellites' and the pages' clients use clean sessions and never meet these bounds.
import { Readable } from 'node:stream';
import type { Client } from 'aedes';

export interface SessionLimits {
  maxQueued: number;
  expiryMs: number;
  perAccount: number;
  /** QoS 2 publishes one session may leave waiting for their PUBREL (absent: no bound here) */
  maxUnreleased?: number;
}

/** The part of aedes's persistence these bounds wrap (promise style, as aedes 1.x calls it). */
export interface QueuePersistence {
  outgoingEnqueue(sub: { clientId: string }, packet: unknown): Promise<void>;
  outgoingEnqueueCombi(subs: Array<{ clientId: string }>, packet: unknown): Promise<void>;
  outgoingClearMessageId(client: { id: string }, packet: unknown): Promise<unknown>;
  outgoingUpdate(client: { id: string }, packet: unknown): Promise<void>;
  outgoingStream(client: { id: string }): AsyncIterable<unknown>;
  cleanSubscriptions(client: { id: string }): Promise<void>;
  /** the session's QoS 2 publishes still waiting for their PUBREL (aedes-persistence 11) */
  cleanIncoming?(client: { id: string }): Promise<void>;
  incomingStorePacket?(client: { id: string }, packet: { messageId?: number }): Promise<void>;
  incomingDelPacket?(client: { id: string }, packet: { messageId?: number }): Promise<void>;
}

export interface SessionEvents {
  /** the first message dropped for a full queue (then once more per `maxQueued` dropped) */
  dropped(clientId: string, droppedSoFar: number): void;
  /** a session ended after `expiryMs` away: its id is free again */
  expired(clientId: string, username: string): void;
  /** a session holding `maxUnreleased` QoS 2 publishes sent one more: refused (its connection closes) */
  unreleasedFull?(clientId: string, held: number): void;
}

/** A message queued for a session: aedes matches its delivery by broker id and counter, and its
 * acknowledgement by the packet id the delivery gave it. */
interface Queued {
  brokerId?: string;
  brokerCounter?: number;
  messageId?: number;
}

export class Sessions {
  /** each session's queue, oldest first; an id whose queue empties is let go */
  private readonly queues = new Map<string, Queued[]>();
  private readonly droppedFor = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** each account's persistent sessions, connected or away, by client id */
  private readonly owned = new Map<string, Set<string>>();
  /** the packet ids of each session's QoS 2 publishes stored until their PUBREL */
  private readonly unreleased = new Map<string, Set<number>>();
  private persistence: QueuePersistence | null = null;

  constructor(
    private readonly limits: SessionLimits,
    private readonly events: SessionEvents,
  ) {}

  /** Bounds `p`'s queues and keeps them here; returns it (aedes takes it as its persistence). The
   * store's own outgoing calls are not used: what they do is done here, on a map that lets go. */
  wrap<P extends QueuePersistence>(p: P): P {
    this.persistence = p;
    p.outgoingEnqueue = async (sub, packet) => this.enqueue(sub.clientId, packet as Queued);
    p.outgoingEnqueueCombi = async (subs, packet) => {
      for (const sub of subs) this.enqueue(sub.clientId, packet as Queued);
    };
    p.outgoingUpdate = async (client, packet) => {
      // the memory store's rule: a delivery by broker id and counter, a PUBREL by its packet id
      const update = packet as Queued;
      const q = this.queues.get(client.id) ?? [];
      for (let i = 0; i < q.length; i++) {
        const queued = q[i]!;
        if (queued.brokerId === update.brokerId) {
          if (queued.brokerCounter === update.brokerCounter) {
            queued.messageId = update.messageId;
            return;
          }
        } else if (queued.messageId === update.messageId) {
          q[i] = update;
          return;
        }
      }
      throw new Error('no such packet');
    };
    p.outgoingClearMessageId = async (client, packet) => {
      // Nothing queued for this id (a clean session's PUBACK or PUBCOMP, any acknowledgement of a
      // message the broker never queued): nothing to clear, and nothing made for it.
      const q = this.queues.get(client.id);
      const at = q?.findIndex((queued) => queued.messageId === (packet as Queued).messageId) ?? -1;
      if (!q || at < 0) return undefined;
      const [gone] = q.splice(at, 1);
      if (q.length === 0) this.queues.delete(client.id);
      return gone;
    };
    // a snapshot: aedes clears entries of the queue while it reads the stream
    p.outgoingStream = (client) => Readable.from([...(this.queues.get(client.id) ?? [])]);
    this.boundUnreleased(p);
    return p;
  }

  /** Counts each session's QoS 2 publishes stored until their PUBREL, and refuses one more past
   * `maxUnreleased`: the store's refusal closes the connection (aedes's own bound is per
   * connection, and a connection resuming the session starts again from none). */
  private boundUnreleased(p: QueuePersistence): void {
    const max = this.limits.maxUnreleased;
    const store = p.incomingStorePacket?.bind(p);
    const del = p.incomingDelPacket?.bind(p);
    const clean = p.cleanIncoming?.bind(p);
    if (max === undefined || !store || !del || !clean) return;
    p.incomingStorePacket = async (client, packet) => {
      const ids = this.unreleased.get(client.id) ?? new Set<number>();
      const id = packet.messageId ?? 0;
      if (!ids.has(id) && ids.size >= max) {
        this.events.unreleasedFull?.(client.id, ids.size);
        throw new Error(`the session holds ${ids.size} QoS 2 publishes waiting for their PUBREL`);
      }
      // taken before the store: the publishes of one read are stored concurrently
      const added = !ids.has(id);
      ids.add(id);
      this.unreleased.set(client.id, ids);
      try {
        await store(client, packet);
      } catch (err) {
        if (added) ids.delete(id);
        throw err;
      }
    };
    p.incomingDelPacket = async (client, packet) => {
      await del(client, packet);
      const ids = this.unreleased.get(client.id);
      ids?.delete(packet.messageId ?? 0);
      if (ids?.size === 0) this.unreleased.delete(client.id);
    };
    p.cleanIncoming = async (client) => {
      this.unreleased.delete(client.id);
      await clean(client);
    };
  }

  /** Whether `username` may log in with `clientId` (false: a new persistent session over its bound). */
  mayOpen(username: string, clientId: string, clean: boolean): boolean {
    if (clean) return true;
    const mine = this.owned.get(username);
    return mine?.has(clientId) === true || (mine?.size ?? 0) < this.limits.perAccount;
  }

  /** `client` logged in as `username`: a session coming back is no longer away. */
  opened(client: Client, username: string): void {
    this.stopTimer(client.id);
    if (client.clean) {
      // aedes ends the id's old session at this login (its queue drains as cleared); no expiry
      // will come for it, so what was counted for it goes now: a session that overflowed, then a
      // clean login with its id, left its count behind for good, one more per id
      for (const ids of this.owned.values()) ids.delete(client.id);
      this.droppedFor.delete(client.id);
      return;
    }
    const mine = this.owned.get(username) ?? new Set<string>();
    mine.add(client.id);
    this.owned.set(username, mine);
  }

  /** `client`'s connection ended; a persistent session now waits at most `expiryMs`. */
  closed(client: Client, username: string | undefined): void {
    if (client.clean || username === undefined) return;
    this.stopTimer(client.id);
    const timer = setTimeout(() => void this.expire(client.id, username), this.limits.expiryMs);
    timer.unref();
    this.timers.set(client.id, timer);
  }

  close(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private async expire(clientId: string, username: string): Promise<void> {
    this.timers.delete(clientId);
    const p = this.persistence;
    if (p) {
      const who = { id: clientId };
      await p.cleanSubscriptions(who);
      // aedes drops these only when the id logs in again with a clean session: a session left with
      // QoS 2 publishes unreleased and never resumed held them (up to inflightInbound packets of
      // maxPacketBytes) for good, one more set per session an account let expire
      await p.cleanIncoming?.(who);
    }
    this.queues.delete(clientId);
    this.droppedFor.delete(clientId);
    this.owned.get(username)?.delete(clientId);
    this.events.expired(clientId, username);
  }

  private enqueue(clientId: string, packet: Queued): void {
    const q = this.queues.get(clientId) ?? [];
    if (q.length >= this.limits.maxQueued) {
      const dropped = (this.droppedFor.get(clientId) ?? 0) + 1;
      this.droppedFor.set(clientId, dropped);
      if (dropped % this.limits.maxQueued === 1) this.events.dropped(clientId, dropped);
      return;
    }
    // A copy for each session, without a packet id: its delivery gives it one of the session's own
    // (the memory store copied it alike).
    q.push({ ...packet, messageId: undefined });
    this.queues.set(clientId, q);
  }

  private stopTimer(clientId: string): void {
    const t = this.timers.get(clientId);
    if (t) clearTimeout(t);
    this.timers.delete(clientId);
  }
}
