// Sockets of one listener that have not logged in yet: at most `max` of them, each closed when the
// login deadline passes. Counted from the TCP accept, so a TLS handshake or a WebSocket upgrade
// that never finishes holds a slot (and meets the deadline) like a CONNECT that never comes.
//
// The bound is shared, so it is shared fairly: one source (an IPv4 address, an IPv6 /64:
// ./login-limits.ts sourceKey) holds at most `maxPerSource` of the slots, and when the listener is
// full a newcomer takes the oldest slot of the source holding the most, if that source holds more
// than the newcomer does. A stranger who keeps 32 idle sockets open (re-opened at each deadline)
// used to lock every client out of every listener; now a client from any other address still gets
// a slot, and it needs one for only the few milliseconds of its login.
// Spread over 32 addresses, one idle socket each, the same stranger locked everyone out again
// (no holder held more than a newcomer would): so a source that has logged in before (`isKnown`:
// the office's boards and satellites) takes a slot of a source that never has, whatever it holds.
import type { Socket } from 'node:net';
import { sourceKey } from './login-limits.ts';

export interface PendingSlot {
  /** The socket logged in: it no longer counts, and the deadline is off. */
  release(): void;
}

export interface PendingOptions {
  max: number;
  maxPerSource: number;
  timeoutMs: number;
  /** a source that has logged in before */
  isKnown?: (source: string) => boolean;
  onRefused(
    reason: 'mqtt-too-many-pending' | 'mqtt-connect-timeout' | 'mqtt-pending-evicted',
    details: Record<string, unknown>,
  ): void;
}

interface Entry {
  raw: Socket;
  release(): void;
}

export class PendingConnections {
  private count = 0;
  /** each source's waiting sockets, oldest first */
  private readonly bySource = new Map<string, Entry[]>();

  constructor(private readonly o: PendingOptions) {}

  /** A slot for a new socket, or null when it gets none (the socket is closed then). */
  admit(raw: Socket): PendingSlot | null {
    const source = sourceKey(raw.remoteAddress);
    const mine = this.bySource.get(source)?.length ?? 0;
    if (mine >= this.o.maxPerSource) {
      return this.refuse(raw, {
        source: raw.remoteAddress,
        pendingFromSource: mine,
        maxPerSource: this.o.maxPerSource,
      });
    }
    if (this.count >= this.o.max) {
      const victim = this.victimFor(source, mine);
      if (!victim) {
        return this.refuse(raw, { source: raw.remoteAddress, pending: this.count, max: this.o.max });
      }
      const oldest = victim.entries[0]!;
      this.o.onRefused('mqtt-pending-evicted', {
        source: oldest.raw.remoteAddress,
        pendingFromSource: victim.entries.length,
        for: raw.remoteAddress,
      });
      oldest.release();
      oldest.raw.destroy();
    }
    return this.hold(raw, source);
  }

  close(): void {
    for (const entries of [...this.bySource.values()]) for (const e of [...entries]) e.release();
  }

  private refuse(raw: Socket, details: Record<string, unknown>): null {
    this.o.onRefused('mqtt-too-many-pending', details);
    raw.destroy();
    return null;
  }

  /** Whose oldest slot a newcomer from `source` (holding `mine`) takes on a full listener: a source
   * that never logged in, if the newcomer has; else the source holding the most, if that is more
   * than the newcomer holds. */
  private victimFor(source: string, mine: number): { source: string; entries: Entry[] } | null {
    const known = this.o.isKnown ?? (() => false);
    if (known(source)) {
      const stranger = this.largestHolder((s) => !known(s));
      if (stranger) return stranger;
    }
    const largest = this.largestHolder((s) => s !== source);
    return largest && largest.entries.length > mine ? largest : null;
  }

  private largestHolder(eligible: (source: string) => boolean): { source: string; entries: Entry[] } | null {
    let best: { source: string; entries: Entry[] } | null = null;
    for (const [source, entries] of this.bySource) {
      if (eligible(source) && (!best || entries.length > best.entries.length)) best = { source, entries };
    }
    return best;
  }

  private hold(raw: Socket, source: string): PendingSlot {
    this.count++;
    let held = true;
    const timer = setTimeout(() => {
      entry.release();
      this.o.onRefused('mqtt-connect-timeout', { source: raw.remoteAddress, timeoutMs: this.o.timeoutMs });
      raw.destroy();
    }, this.o.timeoutMs);
    timer.unref();
    const entry: Entry = {
      raw,
      release: () => {
        if (!held) return;
        held = false;
        this.count--;
        clearTimeout(timer);
        const entries = this.bySource.get(source);
        const at = entries?.indexOf(entry) ?? -1;
        if (entries && at >= 0) entries.splice(at, 1);
        if (entries?.length === 0) this.bySource.delete(source);
      },
    };
    const entries = this.bySource.get(source);
    if (entries) entries.push(entry);
    else this.bySource.set(source, [entry]);
    raw.once('close', entry.release);
    return { release: entry.release };
  }
}
