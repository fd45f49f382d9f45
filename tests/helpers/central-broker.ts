// Central for a test: an aedes broker on loopback, open to any client, that records what the
// device publishes (its presence and its events) as they arrive.
import { Aedes } from 'aedes';
import { type AddressInfo, createServer, type Socket } from 'node:net';

export interface Presence {
  online: boolean;
  session: number;
}

export interface CentralBroker {
  url: string;
  /** every non-empty message on a devices/<id>/status topic, in order */
  presence(): Presence[];
  /** every event message, parsed, in order of arrival */
  events(): Array<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function centralBroker(): Promise<CentralBroker> {
  const aedes = await Aedes.createBroker();
  const presence: Presence[] = [];
  const events: Array<Record<string, unknown>> = [];
  aedes.on('publish', (packet) => {
    if (packet.payload.length === 0) return;
    if (/^beonho\/v1\/[^/]+\/devices\/[^/]+\/status$/.test(packet.topic))
      presence.push(JSON.parse(packet.payload.toString()) as Presence);
    else if (/^beonho\/v1\/[^/]+\/events$/.test(packet.topic))
      events.push(JSON.parse(packet.payload.toString()) as Record<string, unknown>);
  });
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    aedes.handle(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`,
    presence: () => presence,
    events: () => events,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => aedes.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
