// The simulator page's server on loopback: the page itself (sim/page), the output files of the
// core (board frames, ticket images, announcements), the live state as Server-Sent Events, and the
// page's controls as small JSON POSTs handed to the SimHub.
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { ActionError, type KeyRequest, type SimHub } from './hub.ts';
import { FONT_CSS_DIR, FONT_DIR, listen, openSse, readJson, sendFile, sendJson } from './http-util.ts';

const PAGE_DIR = fileURLToPath(new URL('./page/', import.meta.url));
const LOOPBACK_HOST = /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/;

export interface SimWeb {
  port: number;
  url: string;
  close(): Promise<void>;
}

export async function startSimWeb(hub: SimHub, simDir: string, port: number, logger: Logger): Promise<SimWeb> {
  const streams = new Set<(event: string, data: unknown) => void>();
  let pending: NodeJS.Timeout | null = null;
  // Coalesce: a burst of events and file changes goes out as one state message.
  hub.onChange(() => {
    pending ??= setTimeout(() => {
      pending = null;
      for (const send of streams) send('state', hub.state);
    }, 30);
  });

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const p = url.pathname;
    // Loopback only, and only for pages loaded from here: a web page elsewhere (or a DNS-rebound
    // name) must not press buttons or cut the power. JSON bodies force a CORS preflight, which this
    // server never grants.
    if (!LOOPBACK_HOST.test(req.headers.host ?? '')) {
      return sendJson(res, 403, {
        error: { code: 'sim-bad-host', message: 'open the page as http://127.0.0.1:<port>/' },
      });
    }
    if (req.method === 'POST' && !(req.headers['content-type'] ?? '').startsWith('application/json')) {
      return sendJson(res, 415, { error: { code: 'sim-json-only', message: 'send the action as application/json' } });
    }
    if (req.method === 'GET') {
      if (p === '/') return sendFile(res, PAGE_DIR, 'index.html');
      if (p === '/api/state') return sendJson(res, 200, hub.state);
      if (p === '/api/live') {
        const send = openSse(req, res, () => streams.delete(send));
        streams.add(send);
        send('state', hub.state);
        return;
      }
      if (p === '/files/board.png') return sendFile(res, simDir, 'board.png', 'no-store');
      // A satellite's frames and sounds, under <dataDir>/satellites/<device>/sim (sim/satellites.ts).
      const sat =
        /^\/files\/satellites\/([a-z0-9-]{1,40})\/(board\.png|counter-[A-Za-z0-9_-]+\.png|audio\/\d+\.wav)$/.exec(p);
      if (sat && hub.state.satellites.some((x) => x.device === sat[1])) {
        const dir = path.join(simDir, '..', 'satellites', sat[1]!, 'sim');
        const [sub, name] = sat[2]!.startsWith('audio/') ? ['audio', sat[2]!.slice(6)] : ['', sat[2]!];
        return sendFile(res, path.join(dir, sub), name, sub ? 'max-age=3600' : 'no-store');
      }
      const c = /^\/files\/(counter-[A-Za-z0-9_-]+\.png)$/.exec(p);
      if (c) return sendFile(res, simDir, c[1]!, 'no-store');
      let m = /^\/files\/tickets\/([^/]+)$/.exec(p);
      if (m) return sendFile(res, path.join(simDir, 'tickets'), m[1]!, 'max-age=3600');
      m = /^\/files\/audio\/([^/]+)$/.exec(p);
      if (m) return sendFile(res, path.join(simDir, 'audio'), m[1]!, 'max-age=3600');
      m = /^\/fonts\/(noto-sans-kr-korean-\d00\.woff2)$/.exec(p);
      if (m) return sendFile(res, FONT_DIR, m[1]!, 'max-age=604800');
      if (p === '/fonts/fonts.css') return sendFile(res, FONT_CSS_DIR, 'fonts.css', 'max-age=86400');
      m = /^\/([a-z-]+\.(?:js|css|svg))$/.exec(p);
      if (m) return sendFile(res, PAGE_DIR, m[1]!);
    }
    if (req.method === 'POST' && p.startsWith('/api/')) {
      const body = await readJson(req);
      switch (p) {
        case '/api/press':
          hub.press(body.button);
          break;
        case '/api/key':
          hub.key(body as unknown as KeyRequest);
          break;
        case '/api/link':
          hub.setLink(body.connected === true);
          break;
        case '/api/keypad':
          hub.setKeypad(body.counter, body.plugged === true);
          break;
        case '/api/paper':
          hub.setPaper(body.out === true);
          break;
        case '/api/power-cut':
          hub.powerCut();
          break;
        case '/api/satellite/key':
          hub.satelliteKey(body.satellite, body as unknown as KeyRequest);
          break;
        case '/api/satellite/link':
          hub.setSatelliteLink(body.satellite, body.connected === true);
          break;
        case '/api/satellite/power-cut':
          hub.satellitePowerCut(body.satellite);
          break;
        default:
          return sendJson(res, 404, { error: { code: 'not-found', message: `no action ${p}` } });
      }
      return sendJson(res, 200, { ok: true });
    }
    sendJson(res, 404, { error: { code: 'not-found', message: `nothing at ${p}` } });
  };

  const web = await listen((req, res) => {
    route(req, res).catch((err: unknown) => {
      if (err instanceof ActionError) {
        sendJson(res, err.status, { error: { code: err.code, message: err.message } });
        return;
      }
      const code = (err as { code?: string }).code ?? 'sim-page-error';
      // the path without its query: the page sends none, and what a form puts there is no log's
      const at = (req.url ?? '').split('?')[0];
      logger.warn({ code, err: (err as Error).message, path: at }, 'simulator page request failed');
      if (!res.headersSent) sendJson(res, 400, { error: { code, message: (err as Error).message } });
    });
  }, port);
  return {
    port: web.port,
    url: `http://127.0.0.1:${web.port}/`,
    async close() {
      if (pending) clearTimeout(pending);
      await web.close();
    },
  };
}
