// Who may open MQTT over WebSocket. A browser lets any page open a WebSocket to any address, the
// office's loopback included (no CORS check applies), so a page from anywhere could log in with a
// known account (the demo's) and send commands. The browser does say which page asks, in the
// Origin header: the upgrade must come from an allowed page, and ask for the `mqtt` subprotocol
// (what MQTT clients send). Tools that are not browsers send no Origin and are let through.
import type { UpgradeRequest } from './upgrade-request.ts';

export interface UpgradeRefusal {
  status: 400 | 403;
  code: 'mqtt-ws-subprotocol-missing' | 'mqtt-ws-origin-refused';
  message: string;
}

/** `allowed` holds origins (`https://board.office:8443`) or `scheme://host:*` for any port. */
export function originAllowed(origin: string, allowed: readonly string[]): boolean {
  let u: URL;
  try {
    u = new URL(origin);
  } catch {
    return false; // "null" (a file or a sandboxed frame), or garbage
  }
  if (u.origin === 'null') return false;
  return allowed.some((entry) => {
    if (entry.endsWith(':*')) return `${u.protocol}//${u.hostname}` === entry.slice(0, -2).toLowerCase();
    try {
      return new URL(entry).origin === u.origin;
    } catch {
      return false;
    }
  });
}

export function subprotocols(req: Pick<UpgradeRequest, 'headers'>): string[] {
  const header = req.headers['sec-websocket-protocol'];
  return (header ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
}

export function upgradeRefusal(
  req: Pick<UpgradeRequest, 'headers'>,
  allowed: readonly string[],
): UpgradeRefusal | null {
  if (!subprotocols(req).includes('mqtt')) {
    return { status: 400, code: 'mqtt-ws-subprotocol-missing', message: 'ask for the "mqtt" WebSocket subprotocol' };
  }
  const origin = req.headers.origin;
  if (origin !== undefined && !originAllowed(origin, allowed)) {
    return {
      status: 403,
      code: 'mqtt-ws-origin-refused',
      message: 'this page may not use the broker: add its origin to mqtt.broker.wsOrigins',
    };
  }
  return null;
}
