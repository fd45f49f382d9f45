// The one HTTP request a WebSocket listener takes: the upgrade, read here rather than by node's HTTP
// server. That server keeps a socket alive and parses every request pipelined behind the first: 8
// sockets of pipelined GETs, before any login, were answered 88,000 times a second and, answered
// once and closed, still took the daemon to 898 MiB while it parsed 1.7 million requests a second.
// A WebSocket client sends one request and waits for the 101 before sending anything else, so:
// one request head of at most 8 KiB, nothing behind it, or the socket is closed.
import type { Duplex } from 'node:stream';

/** What ws's handleUpgrade and the origin check read of a request. */
export interface UpgradeRequest {
  method: string;
  url: string;
  /** lower-case names; a repeated header's values joined with ", " */
  headers: Record<string, string>;
  socket: Duplex;
}

export type HeadProblem = { status: 400 | 426 | 431; message: string };

export const MAX_HEAD_BYTES = 8192;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

const REASONS = {
  400: 'Bad Request',
  403: 'Forbidden',
  405: 'Method Not Allowed',
  426: 'Upgrade Required',
  431: 'Request Header Fields Too Large',
} as const;

/** The one answer a refused request gets, and the end of its socket. */
export function answerAndClose(socket: Duplex, status: keyof typeof REASONS, message: string): void {
  const body = `${message}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${REASONS[status]}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** Parses a request head (without its final blank line). */
export function parseRequestHead(head: string, socket: Duplex): UpgradeRequest | HeadProblem {
  const lines = head.split('\r\n');
  const start = /^([A-Z]+) (\S+) HTTP\/1\.1$/.exec(lines[0] ?? '');
  if (!start) return { status: 400, message: 'not an HTTP/1.1 request line' };
  // no prototype: a header may be called anything, `__proto__` included
  const headers: Record<string, string> = Object.create(null);
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon);
    if (colon <= 0 || !TOKEN.test(name)) return { status: 400, message: 'malformed header line' };
    const key = name.toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[key] = headers[key] === undefined ? value : `${headers[key]}, ${value}`;
  }
  if ((headers.upgrade ?? '').toLowerCase() !== 'websocket')
    return { status: 426, message: 'MQTT over WebSocket only' };
  return { method: start[1]!, url: start[2]!, headers, socket };
}

/**
 * Reads the upgrade request off `socket` and hands it on, synchronously from the read that ends it
 * (so ws attaches its own reader before anything else can arrive); or answers the problem and
 * closes. `onRequest` is called at most once.
 */
export function readUpgradeRequest(
  socket: Duplex,
  onRequest: (req: UpgradeRequest) => void,
  onProblem: (p: HeadProblem) => void,
): void {
  // Kept as the reads came, joined once: a client sending its head a byte at a time would otherwise
  // have the whole of it copied again at each byte (33 MB for 8 KiB).
  const chunks: Buffer[] = [];
  let length = 0;
  /** the last 3 bytes so far: an end of head may straddle two reads */
  let tail: Buffer = Buffer.alloc(0);
  const refuse = (p: HeadProblem): void => {
    socket.off('data', onData);
    onProblem(p);
    answerAndClose(socket, p.status, p.message);
  };
  const onData = (chunk: Buffer): void => {
    const window = Buffer.concat([tail, chunk]);
    const at = window.indexOf('\r\n\r\n');
    const end = at < 0 ? -1 : length - tail.length + at;
    chunks.push(chunk);
    length += chunk.length;
    tail = window.subarray(Math.max(0, window.length - 3));
    const problem =
      (end < 0 ? length : end + 4) > MAX_HEAD_BYTES
        ? ({ status: 431, message: `request head over ${MAX_HEAD_BYTES} bytes` } as const)
        : end >= 0 && length > end + 4
          ? ({ status: 400, message: 'nothing may follow the request before the upgrade' } as const)
          : null;
    if (problem) {
      refuse(problem);
      return;
    }
    if (end < 0) return;
    const req = parseRequestHead(Buffer.concat(chunks, length).subarray(0, end).toString('latin1'), socket);
    if ('status' in req) {
      refuse(req);
      return;
    }
    socket.off('data', onData);
    onRequest(req);
  };
  socket.on('data', onData);
}
