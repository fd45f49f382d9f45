// The embedded broker's network side: MQTT over TCP, over WebSocket (browser pages), and over TLS
// and secure WebSocket when a certificate is configured. Every socket is handed to aedes.handle.
import { readFileSync } from 'node:fs';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Server } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { Aedes } from 'aedes';
import { createWebSocketStream, WebSocketServer } from 'ws';
import type { BrokerConfig } from '../../device/config/mqtt-schema.ts';

export interface ListenerPorts {
  tcp: number;
  ws: number | null;
  tls: number | null;
  wss: number | null;
}

export interface Listeners {
  ports: ListenerPorts;
  close(): Promise<void>;
}

export class ListenError extends Error {
  readonly code = 'broker-listen-failed';
}

export async function openListeners(cfg: BrokerConfig, aedes: Aedes): Promise<Listeners> {
  const servers: Array<Server | HttpServer> = [];
  const sockets: WebSocketServer[] = [];

  const listen = (server: Server | HttpServer, port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'EADDRINUSE' || err.code === 'EACCES' || err.code === 'EADDRNOTAVAIL') {
          reject(
            new ListenError(
              `cannot listen on ${cfg.host}:${port} (${err.code}): another broker may hold the port; set mqtt.broker.port/wsPort (or --broker-port/--ws-port), or turn the embedded broker off`,
            ),
          );
        } else reject(err);
      });
      server.listen(port, cfg.host, () => {
        server.removeAllListeners('error');
        servers.push(server);
        resolve((server.address() as AddressInfo).port);
      });
    });

  const websocket = (server: HttpServer): void => {
    // Commands are capped at a few KiB; nothing a client may send needs bigger frames.
    const wss = new WebSocketServer({ server, maxPayload: 256 * 1024 });
    wss.on('connection', (socket, req) => {
      aedes.handle(createWebSocketStream(socket), req);
    });
    sockets.push(wss);
  };
  const upgradeOnly = (_req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket only\n');
  };

  const close = async (): Promise<void> => {
    for (const wss of sockets) {
      for (const c of wss.clients) c.terminate();
      wss.close();
    }
    await Promise.all(
      servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            (s as HttpServer).closeAllConnections?.();
          }),
      ),
    );
  };

  try {
    const ports: ListenerPorts = {
      tcp: await listen(createNetServer(aedes.handle), cfg.port),
      ws: null,
      tls: null,
      wss: null,
    };
    if (cfg.wsPort !== null) {
      const http = createHttpServer(upgradeOnly);
      websocket(http);
      ports.ws = await listen(http, cfg.wsPort);
    }
    if (cfg.tls) {
      const creds = {
        cert: readFileSync(cfg.tls.cert),
        key: readFileSync(cfg.tls.key),
        ...(cfg.tls.ca ? { ca: readFileSync(cfg.tls.ca) } : {}),
      };
      ports.tls = await listen(createTlsServer(creds, aedes.handle), cfg.tls.port);
      if (cfg.tls.wsPort !== null) {
        const https = createHttpsServer(creds, upgradeOnly);
        websocket(https);
        ports.wss = await listen(https, cfg.tls.wsPort);
      }
    }
    return { ports, close };
  } catch (err) {
    await close();
    throw err;
  }
}
