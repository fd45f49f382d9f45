// A broker made of mqtt-packet and a TCP server, answering as the test says: for the uplink's
// meetings with brokers that behave in ways mosquitto and aedes do not (a small Receive Maximum,
// a refused subscription).
import mqttPacket, { type Packet } from 'mqtt-packet';
import { type AddressInfo, createServer, type Socket } from 'node:net';

export interface RawMqttServer {
  url: string;
  /** the newest connection, null before the first */
  socket(): Socket | null;
  connections(): number;
  /** sends a packet on the newest connection */
  send(p: Packet): void;
  /** ends the newest connection */
  cut(): void;
  close(): Promise<void>;
}

/** Each packet a client sends goes to `onPacket`, with the means to answer it. */
export async function rawMqttServer(
  protocolVersion: 4 | 5,
  onPacket: (p: Packet, send: (reply: Packet) => void) => void,
): Promise<RawMqttServer> {
  const opts = { protocolVersion };
  let socket: Socket | null = null;
  let connections = 0;
  const server = createServer((s) => {
    socket = s;
    connections++;
    const parser = mqttPacket.parser(opts);
    const send = (reply: Packet) => s.write(mqttPacket.generate(reply, opts));
    parser.on('packet', (p: Packet) => onPacket(p, send));
    s.on('data', (chunk) => parser.parse(chunk));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`,
    socket: () => socket,
    connections: () => connections,
    send: (p) => socket!.write(mqttPacket.generate(p, opts)),
    cut: () => socket?.destroy(),
    close: async () => {
      socket?.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
