// Small HTTP helpers shared by the simulator page and the simulated central's page: static files
// from a fixed folder (no path walking), JSON in and out, Server-Sent Events. Loopback-only tools,
// so no framework.
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.wav': 'audio/wav',
  '.svg': 'image/svg+xml',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

/** The pages' Korean font (the board's font package): tablets and CI have no Korean font. */
export const FONT_DIR = fileURLToPath(
  new URL('../node_modules/@openfonts/noto-sans-kr_korean/files/', import.meta.url),
);

/** The @font-face rules both pages import (/fonts/fonts.css). */
export const FONT_CSS_DIR = fileURLToPath(new URL('.', import.meta.url));

/** Sends dir/name when name is a plain file name (no slashes, no dot-dot). */
export async function sendFile(res: ServerResponse, dir: string, name: string, cache = 'no-cache'): Promise<void> {
  if (!/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith('.')) {
    sendJson(res, 404, { error: { code: 'not-found', message: 'no such file' } });
    return;
  }
  try {
    const body = await readFile(path.join(dir, name));
    res.writeHead(200, {
      'content-type': TYPES[path.extname(name)] ?? 'application/octet-stream',
      'cache-control': cache,
      'content-length': body.length,
    });
    res.end(body);
  } catch {
    sendJson(res, 404, { error: { code: 'not-found', message: `no file ${name}` } });
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

export async function readJson(req: IncomingMessage, max = 16_384): Promise<Record<string, unknown>> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) throw Object.assign(new Error('request body too large'), { code: 'too-large' });
    chunks.push(chunk as Buffer);
  }
  if (chunks.length === 0) return {};
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    // V8's message quotes the body ("…" is not valid JSON), and the pages log the message: a
    // phone number typed into a form would reach the log.
    throw Object.assign(new Error('the request body is not JSON'), { code: 'bad-json' });
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc))
    throw Object.assign(new Error('expected a JSON object'), { code: 'bad-json' });
  return doc as Record<string, unknown>;
}

/** What one stream may hold unsent. A page that stopped reading (a frozen tab, a script on
 * loopback that never reads) was sent every state regardless, and node kept each one in memory
 * for it, without end; past this it is dropped, and EventSource reconnects to the whole state. */
export const SSE_MAX_UNSENT_BYTES = 1 << 20;

/** An SSE stream: `send(event, data)`; it closes with the request. */
export function openSse(
  req: IncomingMessage,
  res: ServerResponse,
  onClose: () => void,
): (event: string, data: unknown) => void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
  });
  res.write('retry: 1000\n\n');
  const write = (text: string): void => {
    if (res.destroyed) return;
    if (res.writableLength > SSE_MAX_UNSENT_BYTES) res.destroy();
    else res.write(text);
  };
  // A comment now and then keeps proxies and idle timers from closing a quiet stream.
  const ping = setInterval(() => write(': ping\n\n'), 15_000);
  req.on('close', () => {
    clearInterval(ping);
    onClose();
  });
  return (event, data) => write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

export async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  port: number,
  host = '127.0.0.1',
): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        Object.assign(
          new Error(
            `cannot listen on ${host}:${port} (${err.code}): another program holds the port; choose another with --sim-port / --port`,
          ),
          { code: 'sim-listen-failed' },
        ),
      ),
    );
    server.listen(port, host, () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
