// Sockets of one listener that have not logged in yet: at most `max` of them, each closed when the
// login deadline passes. Counted from the TCP accept, so a TLS handshake or a WebSocket upgrade
// that never finishes holds a slot (and meets the deadline) like a CONNECT that never comes.
import type { Socket } from 'node:net';

export interface PendingSlot {
  /** The socket logged in: it no longer counts, and the deadline is off. */
  release(): void;
}

export interface PendingOptions {
  max: number;
  timeoutMs: number;
  onRefused(reason: 'mqtt-too-many-pending' | 'mqtt-connect-timeout', details: Record<string, unknown>): void;
}

export class PendingConnections {
  private count = 0;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly o: PendingOptions) {}

  /** A slot for a new socket, or null when the listener is full (the socket is closed then). */
  admit(raw: Socket): PendingSlot | null {
    if (this.count >= this.o.max) {
      this.o.onRefused('mqtt-too-many-pending', { source: raw.remoteAddress, pending: this.count, max: this.o.max });
      raw.destroy();
      return null;
    }
    this.count++;
    let held = true;
    const timer = setTimeout(() => {
      release();
      this.o.onRefused('mqtt-connect-timeout', { source: raw.remoteAddress, timeoutMs: this.o.timeoutMs });
      raw.destroy();
    }, this.o.timeoutMs);
    timer.unref();
    this.timers.add(timer);
    const release = (): void => {
      if (!held) return;
      held = false;
      this.count--;
      clearTimeout(timer);
      this.timers.delete(timer);
    };
    raw.once('close', release);
    return { release };
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
