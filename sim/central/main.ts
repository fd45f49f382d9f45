// `npm run central`: a stand-in for a city's central system, on loopback. Either its own broker
// (aedes: the offices uplink to it) or a real broker or cluster it only reads (--mqtt-url, a list
// of nodes). One MQTT client (./reader.ts) reads every office through the public contract only
// (docs/mqtt.md), as a real integration would, and the page shows it: 민원대기현황 per office,
// 온라인 발권, notices, the 알림톡 it would send. It also serves the citizen's side of the printed
// ticket's QR link (/q/{office}/{day}/{number}?t=…: ./citizen.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Logger } from 'pino';
import { ListenError } from '../../bridge/broker/listeners.ts';
import { createLogger } from '../../device/log.ts';
import { FONT_CSS_DIR, FONT_DIR, listen, openSse, readJson, sendFile, sendJson } from '../http-util.ts';
import { AlertBook } from './alerts.ts';
import { type CentralBroker, readAccounts, startCentralBroker } from './broker.ts';
import { CitizenPages } from './citizen.ts';
import { demoKeys, readTicketKeys } from './keys.ts';
import { CentralReader, isOnline, type OfficeView } from './reader.ts';
import { isMainModule } from '../../device/util/main-module.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const PAGE_DIR = path.join(HERE, 'page');
const LOOPBACK_HOST = /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/;
/** the page's command types (the rest of the contract is for real integrations) */
const PAGE_COMMANDS = new Set(['ticket.issue', 'notice.set']);

export interface CentralOptions {
  /** the page (HTTP) */
  port: number;
  /** own broker: MQTT/TCP port for the office uplinks (0: any free one) */
  mqttPort?: number;
  /** own broker: MQTT over WebSocket for browser clients (0: any free one) */
  wsPort?: number;
  /** own broker: accounts file */
  accounts?: string;
  /** read a real broker or cluster instead (one URL per node); no broker of our own */
  mqttUrl?: string[];
  /** central's account on that broker (own broker: the demo central/central) */
  mqttUser?: string;
  mqttPassword?: string;
  /** fixed client id: a persistent session, so events sent while central was down are kept */
  clientId?: string;
  /** offices central asks for their state on every connect (own broker: its office accounts) */
  offices?: string[];
  /** YAML of ticket-link secrets (./keys.ts); default: every office signs with the demo secret */
  ticketKeys?: string;
}

export interface Central {
  url: string;
  /** own broker's ports (0 when reading a real broker) */
  ports: { mqtt: number; ws: number; page: number };
  reader: CentralReader;
  alerts: AlertBook;
  close(): Promise<void>;
}

/** What the page gets of an office (the state as published, the presence, the event tally). */
function card(v: OfficeView) {
  return {
    id: v.id,
    state: v.state,
    online: isOnline(v),
    lastSeq: v.lastSeq,
    gaps: v.gaps,
    missing: v.missing,
    late: v.late,
    duplicates: v.duplicates,
    recent: v.recent.map((e) => ({
      seq: e.seq,
      type: e.type,
      ...('ticket' in e ? { number: e.ticket.number } : {}),
    })),
  };
}

export async function startCentral(
  opts: CentralOptions,
  logger: Logger = createLogger({}).child({ component: 'central' }),
): Promise<Central> {
  let broker: CentralBroker | null = null;
  let urls = opts.mqttUrl ?? [];
  let offices = opts.offices ?? [];
  if (urls.length === 0) {
    const accounts = await readAccounts(opts.accounts ?? path.join(HERE, 'accounts.yaml'));
    broker = await startCentralBroker(
      { accounts, tcpPort: opts.mqttPort ?? 1884, wsPort: opts.wsPort ?? 9002 },
      logger,
    );
    urls = [`mqtt://127.0.0.1:${broker.ports.tcp}`];
    offices = [
      ...new Set([...offices, ...accounts.filter((a) => a.role === 'office').flatMap((a) => a.offices)]),
    ].filter((o) => o !== '*');
  }
  const keys = opts.ticketKeys ? await readTicketKeys(opts.ticketKeys) : demoKeys;
  const reader = new CentralReader({
    urls,
    username: opts.mqttUser ?? 'central',
    password: opts.mqttPassword ?? 'central',
    offices,
    logger,
    ...(opts.clientId ? { clientId: opts.clientId } : {}),
  });
  const alerts = new AlertBook();
  const citizen = new CitizenPages({ reader, alerts, keys, pageDir: PAGE_DIR, logger });

  // The page's live stream: every office at once, then what changed, a few times a second.
  const streams = new Set<(event: string, data: unknown) => void>();
  const changed = new Set<string>();
  let events: Array<{ office: string; seq: number; type: string }> = [];
  let talksChanged = false;
  reader.onOffice((v) => changed.add(v.id));
  reader.onEvent((v, ev) => {
    events.push({ office: v.id, seq: ev.seq, type: ev.type });
    if (alerts.onEvent(v.id, v.book.day, ev)) talksChanged = true;
  });
  reader.onConnection((up) => {
    for (const send of streams) send('conn', { connected: up });
  });
  const flush = setInterval(() => {
    citizen.flush();
    if (streams.size === 0) {
      changed.clear();
      events = [];
      talksChanged = false;
      return;
    }
    const cards = [...changed].map((id) => card(reader.offices.get(id)!));
    changed.clear();
    const batch = events;
    events = [];
    for (const send of streams) {
      if (cards.length) send('offices', cards);
      if (batch.length) send('events', batch);
      if (talksChanged) send('talks', alerts.talks.slice(0, 50));
    }
    talksChanged = false;
  }, 200);

  const page = await listen((req, res) => void route(req, res), opts.port);
  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const p = url.pathname;
    try {
      if (p.startsWith('/q/')) return await citizen.handle(req, res, url);
      if (p.startsWith('/api/')) {
        // Commands from a page on another site must not reach the offices (DNS rebinding).
        if (!LOOPBACK_HOST.test(req.headers.host ?? ''))
          return sendJson(res, 403, {
            error: { code: 'sim-bad-host', message: 'open the page as http://127.0.0.1:<port>/' },
          });
        if (p === '/api/live' && req.method === 'GET') {
          const send = openSse(req, res, () => streams.delete(send));
          streams.add(send);
          send('conn', { connected: reader.isConnected() });
          send(
            'offices',
            [...reader.offices.values()].map((v) => card(v)),
          );
          send('talks', alerts.talks.slice(0, 50));
          return;
        }
        if (p === '/api/cmd' && req.method === 'POST') return await pageCommand(req, res);
        return sendJson(res, 404, { error: { code: 'not-found', message: `nothing at ${p}` } });
      }
      if (req.method !== 'GET')
        return sendJson(res, 405, { error: { code: 'method-not-allowed', message: 'GET only' } });
      if (p === '/') return void (await sendFile(res, PAGE_DIR, 'index.html'));
      const f = /^\/fonts\/(noto-sans-kr-korean-\d00\.woff2)$/.exec(p);
      if (f) return void (await sendFile(res, FONT_DIR, f[1]!, 'max-age=604800'));
      if (p === '/fonts/fonts.css') return void (await sendFile(res, FONT_CSS_DIR, 'fonts.css', 'max-age=86400'));
      const m = /^\/([a-z-]+\.(?:js|css))$/.exec(p);
      if (m) return void (await sendFile(res, PAGE_DIR, m[1]!));
      sendJson(res, 404, { error: { code: 'not-found', message: `nothing at ${p}` } });
    } catch (err) {
      logger.error({ code: 'sim-page-error', err: String(err), path: p }, 'page request failed');
      if (!res.headersSent) sendJson(res, 500, { error: { code: 'internal-error', message: 'central failed' } });
    }
  }

  async function pageCommand(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!(req.headers['content-type'] ?? '').startsWith('application/json'))
      return sendJson(res, 415, {
        error: { code: 'sim-json-only', message: 'send the command as application/json' },
      });
    let body: Record<string, unknown>;
    try {
      body = await readJson(req);
    } catch (err) {
      return sendJson(res, 400, { error: { code: 'bad-json', message: (err as Error).message } });
    }
    const office = body.office;
    const cmd = body.command as Record<string, unknown> | undefined;
    if (typeof office !== 'string' || !reader.offices.has(office) || !cmd || !PAGE_COMMANDS.has(cmd.type as string))
      return sendJson(res, 400, {
        error: {
          code: 'central-bad-command',
          message: 'expected {office, command: {type: ticket.issue | notice.set, …}}',
        },
      });
    try {
      sendJson(res, 200, await reader.command(office, cmd));
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'central-command-failed';
      sendJson(res, code === 'central-offline' ? 503 : 504, { error: { code, message: (err as Error).message } });
    }
  }

  const connected = reader.start();
  // Our own broker answers at once: start with the subscriptions in place, so no office's first
  // events go by unseen. A real cluster may be away: the page says so, and the reader keeps trying.
  if (broker) await connected;
  return {
    url: `http://127.0.0.1:${page.port}/`,
    ports: { mqtt: broker?.ports.tcp ?? 0, ws: broker?.ports.ws ?? 0, page: page.port },
    reader,
    alerts,
    async close() {
      clearInterval(flush);
      citizen.close();
      await page.close();
      await reader.stop();
      await broker?.close();
    },
  };
}

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`not a port number: ${v}`);
  return n;
}

/** `--mqtt-url a,b --mqtt-url c`: the nodes of a cluster, in order. */
function urlList(v: string, prev: string[] = []): string[] {
  const urls = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const u of urls)
    if (!/^(mqtts?|wss?|tcp):\/\/[^\s/]+/.test(u)) throw new InvalidArgumentError(`not an mqtt:// URL: ${u}`);
  return [...prev, ...urls];
}

function slugList(v: string): string[] {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

async function main(): Promise<void> {
  const o = new Command()
    .name('beonho-central')
    .description(
      'Simulated central system: the 민원대기현황 page over its own broker or a real cluster, and the ticket QR pages.',
    )
    .addOption(
      new Option('--mqtt-port <port>', 'own broker: MQTT/TCP port for office uplinks')
        .env('BEONHO_CENTRAL_MQTT_PORT')
        .default(1884)
        .argParser(port),
    )
    .addOption(
      new Option('--ws-port <port>', 'own broker: MQTT over WebSocket port for browser clients')
        .env('BEONHO_CENTRAL_WS_PORT')
        .default(9002)
        .argParser(port),
    )
    .addOption(
      new Option('--port <port>', 'the central page (HTTP)').env('BEONHO_CENTRAL_PORT').default(8090).argParser(port),
    )
    .addOption(new Option('--accounts <file>', 'own broker: accounts YAML').default(path.join(HERE, 'accounts.yaml')))
    .addOption(
      new Option('--mqtt-url <urls>', 'read a real broker or cluster instead: node URLs, comma-separated or repeated')
        .env('BEONHO_CENTRAL_MQTT_URL')
        .argParser(urlList),
    )
    .addOption(new Option('--mqtt-user <name>', "central's account there").env('BEONHO_CENTRAL_MQTT_USER'))
    .addOption(new Option('--mqtt-password <password>', 'its password').env('BEONHO_CENTRAL_MQTT_PASSWORD'))
    .addOption(
      new Option('--client-id <id>', 'a fixed client id (a persistent session)').env('BEONHO_CENTRAL_CLIENT_ID'),
    )
    .addOption(new Option('--offices <ids>', 'offices to ask for their state on connect').argParser(slugList))
    .addOption(new Option('--ticket-keys <file>', 'ticket-link secrets (YAML: master and/or offices)'))
    // a bad command line exits 2, as a port it cannot take and as the daemon's
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
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
    central.ports.mqtt
      ? `beonho central page: ${central.url}\n  office uplinks: mqtt://127.0.0.1:${central.ports.mqtt}  browser MQTT: ws://127.0.0.1:${central.ports.ws}\n`
      : `beonho central page: ${central.url}\n  reading ${(o.mqttUrl ?? []).join(', ')}\n`,
  );
  const stop = (): void => void central.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (isMainModule(import.meta.url)) void main();
