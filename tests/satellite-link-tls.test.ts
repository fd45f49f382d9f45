// A satellite's link to the main unit over TLS: the satellite opens the TCP socket itself and hands
// it to the TLS layer, so that a key with no answer can reset it (device/satellite/link.ts abort()).
// It links, verifies the main unit's certificate, resets its TCP socket and links again.
import { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { satelliteSchema } from '../device/config/satellite-schema.ts';
import { MainLink, type MainLinkHandlers } from '../device/satellite/link.ts';
import { brokerTestScope, startTestBroker, until } from './bridge-broker-raw.ts';
import { satelliteAccount } from './helpers/satellite-link.ts';

const cert = fileURLToPath(new URL('./fixtures/bridge-tls/server.crt', import.meta.url));
const key = fileURLToPath(new URL('./fixtures/bridge-tls/server.key', import.meta.url));

describe('a satellite linked over TLS', () => {
  const scope = brokerTestScope();

  it('links, resets its TCP socket on abort(), and links again', async () => {
    const { broker } = await startTestBroker({
      port: null,
      wsPort: null,
      tls: { port: 0, cert, key },
      accounts: [await satelliteAccount()],
    });
    scope.broker = broker;
    const seen: string[] = [];
    const handlers: MainLinkHandlers = {
      connected: () => seen.push('connected'),
      up: () => seen.push('up'),
      down: () => seen.push('down'),
      state: () => undefined,
      event: () => undefined,
      result: () => undefined,
      status: () => undefined,
    };
    let session = 0;
    const link = new MainLink({
      cfg: satelliteSchema.parse({
        main: { url: `mqtts://127.0.0.1:${broker.ports.tls}`, password: 'pw-12', ca: cert, reconnectMinMs: 50 },
      }).main,
      office: 'singok2',
      device: 'counter-12',
      logger: pino({ level: 'silent' }),
      handlers,
      nextSession: async () => ++session,
      birth: (s) => ({ v: 1, office: 'singok2', device: 'counter-12', online: true, session: s }),
    });
    link.start();
    try {
      await until(() => seen.includes('up'), 'the link up');
      expect(link.up).toBe(true);
      const reset = vi.spyOn(Socket.prototype, 'resetAndDestroy');
      link.abort('key-timeout');
      // the TCP socket under the TLS layer, reset (a close would still send what it holds)
      expect(reset).toHaveBeenCalledTimes(1);
      expect(reset.mock.contexts[0]).toBeInstanceOf(Socket);
      reset.mockRestore();
      await until(() => seen.filter((s) => s === 'up').length === 2, 'the link up again');
      expect(seen).toEqual(['connected', 'up', 'down', 'connected', 'up']);
    } finally {
      await link.stop();
    }
  });
});
