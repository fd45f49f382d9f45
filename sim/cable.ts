// The simulator's "network cable" between the office and central (or a satellite and its main
// unit): a TCP proxy on loopback that the link connects through. Cutting it destroys the open
// connections and refuses new ones, which is what central sees when an office's line goes down
// (the broker fires the office's will); plugging it back lets the uplink reconnect and drain its
// outbox in order. Stalling it is a cable pulled without a word: nothing moves and nobody is told;
// what either end sends waits in the kernels' buffers (as TCP resends it over a real pulled cable)
// and arrives once it is restored, unless that end reset its connection meanwhile.
import { type AddressInfo, createConnection, createServer, type Server, type Socket } from 'node:net';

export interface Cable {
  /** the loopback port the office connects to */
  readonly port: number;
  readonly connected: boolean;
  cut(): void;
  /** nothing is carried either way, and nothing is closed, until restore() */
  stall(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startCable(target: { host: string; port: number }, listenPort = 0): Promise<Cable> {
  let connected = true;
  let stalled = false;
  const open = new Set<Socket>();
  const pairs = new Set<{ client: Socket; upstream: Socket }>();
  // Paused net sockets stop reading from the kernel: their bytes stay there, and a reset from the
  // other end throws them away, as it would over a real cable.
  const carry = (p: { client: Socket; upstream: Socket }): void => {
    p.client.pipe(p.upstream);
    p.upstream.pipe(p.client);
  };
  const hold = (p: { client: Socket; upstream: Socket }): void => {
    p.client.unpipe(p.upstream);
    p.upstream.unpipe(p.client);
    p.client.pause();
    p.upstream.pause();
  };
  const server: Server = createServer((client) => {
    if (!connected) {
      client.destroy();
      return;
    }
    const upstream = createConnection(target);
    const pair = { client, upstream };
    open.add(client);
    open.add(upstream);
    pairs.add(pair);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
      pairs.delete(pair);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    if (stalled) hold(pair);
    else carry(pair);
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
      stalled = false;
      for (const s of open) s.destroy();
      open.clear();
      pairs.clear();
    },
    stall() {
      stalled = true;
      for (const p of pairs) hold(p);
    },
    restore() {
      connected = true;
      if (stalled) for (const p of pairs) carry(p);
      stalled = false;
    },
    close() {
      for (const s of open) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
