// Two satellites given one device id take the client id from each other at the main unit's
// broker: each connection is dropped as the other one links. They went on doing so every
// reconnectMinMs, three log lines and a durable session write a time; now each reconnect waits
// longer, the drops go to debug, and the log names the likely cause once.
import { describe, expect, it } from 'vitest';
import { satelliteSchema } from '../device/config/satellite-schema.ts';
import { MainLink, type MainLinkHandlers } from '../device/satellite/link.ts';
import { brokerTestScope, startTestBroker, until } from './bridge-broker-raw.ts';
import { debugLog, satelliteAccount } from './helpers/satellite-link.ts';

describe('two satellites with one device id', () => {
  const scope = brokerTestScope();

  it('back off from each other and say so once, not at every drop', async () => {
    const { broker, port } = await startTestBroker({
      wsPort: null,
      accounts: [await satelliteAccount()],
    });
    scope.broker = broker;
    const { lines, logger } = debugLog();
    let downs = 0;
    const handlers = (): MainLinkHandlers => ({
      connected: () => undefined,
      up: () => undefined,
      down: () => downs++,
      state: () => undefined,
      event: () => undefined,
      result: () => undefined,
      status: () => undefined,
    });
    let session = 0;
    const links = [0, 1].map(
      () =>
        new MainLink({
          cfg: satelliteSchema.parse({
            main: { url: `mqtt://127.0.0.1:${port}`, password: 'pw-12', reconnectMinMs: 50, reconnectMaxMs: 800 },
          }).main,
          office: 'singok2',
          device: 'counter-12',
          logger,
          handlers: handlers(),
          nextSession: async () => ++session,
          birth: (s) => ({ v: 1, office: 'singok2', device: 'counter-12', online: true, session: s }),
          random: () => 0.5,
        }),
    );
    for (const l of links) l.start();
    try {
      await until(() => downs >= 10, 'ten drops', 30_000);
      const said = lines.filter((l) => l.level >= 40);
      // the first drop of each link, and the cause named once per link
      expect(said.filter((l) => l.code === 'main-link-down').length).toBeLessThanOrEqual(2);
      expect(said.filter((l) => l.code === 'main-link-flapping').length).toBeGreaterThanOrEqual(1);
      expect(said.filter((l) => l.code === 'main-link-flapping').length).toBeLessThanOrEqual(2);
      expect(said.find((l) => l.code === 'main-link-flapping')?.msg).toContain('"counter-12"');
    } finally {
      for (const l of links) await l.stop();
    }
  }, 40_000);
});
