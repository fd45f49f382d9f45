// The simulator's "network cable" between the office and central: a TCP proxy on loopback that the
// core's uplink connects through. Cutting it destroys the open connections and refuses new ones,
// which is what central sees when an office's line goes down (the broker fires the office's will);
// plugging it back lets the uplink reconnect and drain its outbox in order.
import { type AddressInfo, createConnection, createServer, type Server, type Socket } from 'node:net';

export interface Cable {
  /** the loopback port the office connects to */
  readonly port: number;
  readonly connected: boolean;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startCable(target: { host: string; port: number }, listenPort = 0): Promise<Cable> {
  let connected = true;
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    if (!connected) {
      client.destroy();
      return;
    }
    const upstream = createConnection(target);
    open.add(client);
    open.add(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenPort, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    get connected() {
      return connected;
    },
    cut() {
      connected = false;
      for (const s of open) s.destroy();
      open.clear();
    },
    restore() {
      connected = true;
    },
    close() {
      for (const s of open) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
