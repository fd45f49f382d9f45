// `npm run central`: a stand-in for a city's central system, on loopback. A broker the offices
// uplink to (MQTT/TCP) and the central page talks to from the browser (MQTT over WebSocket), and
// the page itself: 민원대기현황 per office, 온라인 발권, notices, the 알림톡 it would send. The page
// uses only the public MQTT contract (docs/mqtt.md, docs/asyncapi.yaml), as a real central system
// would.
import { ListenError } from '../../bridge/broker/listeners.ts';
import { Command, Option } from 'commander';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../../device/log.ts';
import { FONT_CSS_DIR, FONT_DIR, listen, sendFile, sendJson } from '../http-util.ts';
import { readAccounts, startCentralBroker } from './broker.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const PAGE_DIR = path.join(HERE, 'page');
const MQTT_DIST = fileURLToPath(new URL('../../node_modules/mqtt/dist/', import.meta.url));

export interface CentralOptions {
  mqttPort: number;
  wsPort: number;
  port: number;
  accounts: string;
}

export interface Central {
  url: string;
  ports: { mqtt: number; ws: number; page: number };
  close(): Promise<void>;
}

export async function startCentral(
  opts: CentralOptions,
  logger = createLogger({}).child({ component: 'central' }),
): Promise<Central> {
  const broker = await startCentralBroker(
    { accounts: await readAccounts(opts.accounts), tcpPort: opts.mqttPort, wsPort: opts.wsPort },
    logger,
  );
  const page = await listen((req, res) => {
    const p = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method !== 'GET') return sendJson(res, 405, { error: { code: 'method-not-allowed', message: 'GET only' } });
    // The browser connects to the broker's WebSocket port on the host it loaded the page from.
    if (p === '/config.json')
      return sendJson(res, 200, { wsPort: broker.ports.ws, username: 'central', password: 'central' });
    if (p === '/') return void sendFile(res, PAGE_DIR, 'index.html');
    if (p === '/mqtt.min.js') return void sendFile(res, MQTT_DIST, 'mqtt.min.js', 'max-age=86400');
    const f = /^\/fonts\/(noto-sans-kr-korean-\d00\.woff2)$/.exec(p);
    if (f) return void sendFile(res, FONT_DIR, f[1]!, 'max-age=604800');
    if (p === '/fonts/fonts.css') return void sendFile(res, FONT_CSS_DIR, 'fonts.css', 'max-age=86400');
    const m = /^\/([a-z-]+\.(?:js|css))$/.exec(p);
    if (m) return void sendFile(res, PAGE_DIR, m[1]!);
    sendJson(res, 404, { error: { code: 'not-found', message: `nothing at ${p}` } });
  }, opts.port);
  return {
    url: `http://127.0.0.1:${page.port}/`,
    ports: { mqtt: broker.ports.tcp, ws: broker.ports.ws, page: page.port },
    async close() {
      await page.close();
      await broker.close();
    },
  };
}

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`not a port number: ${v}`);
  return n;
}

async function main(): Promise<void> {
  const o = new Command()
    .name('beonho-central')
    .description('Simulated central system: broker for office uplinks and the 민원대기현황 page.')
    .addOption(
      new Option('--mqtt-port <port>', 'MQTT/TCP port for office uplinks')
        .env('BEONHO_CENTRAL_MQTT_PORT')
        .default(1884)
        .argParser(port),
    )
    .addOption(
      new Option('--ws-port <port>', 'MQTT over WebSocket port for the page')
        .env('BEONHO_CENTRAL_WS_PORT')
        .default(9002)
        .argParser(port),
    )
    .addOption(
      new Option('--port <port>', 'the central page (HTTP)').env('BEONHO_CENTRAL_PORT').default(8090).argParser(port),
    )
    .addOption(new Option('--accounts <file>', 'accounts YAML').default(path.join(HERE, 'accounts.yaml')))
    .parse(process.argv)
    .opts<CentralOptions>();
  let central: Central;
  try {
    central = await startCentral(o);
  } catch (err) {
    // The listeners are the office broker's: point at this command's own port options instead.
    const hint = err instanceof ListenError ? ' (choose other ports with --mqtt-port / --ws-port / --port)' : '';
    process.stderr.write(`beonho-central: ${(err as Error).message.replace(/: another broker.*$/, '')}${hint}\n`);
    process.exit(2);
  }
  process.stdout.write(
    `beonho central page: ${central.url}\n  office uplinks: mqtt://127.0.0.1:${central.ports.mqtt}  page broker: ws://127.0.0.1:${central.ports.ws}\n`,
  );
  const stop = (): void => void central.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) void main();
