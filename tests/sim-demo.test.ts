// `npm run demo` on its fixed ports: run twice (or beside `npm run central`), the second must say
// what the demo needs, not name options it does not take (--broker-port, --sim-port).
import { type AddressInfo, createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startDemoCentral } from '../sim/demo/main.ts';

describe('npm run demo', () => {
  it('refuses a port already taken by naming what the demo needs', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const taken = (holder.address() as AddressInfo).port;
    try {
      const err = await startDemoCentral({ mqttPort: taken, wsPort: 0, port: 0 }).then(
        () => null,
        (e: Error) => e,
      );
      expect(err?.message).toMatch(new RegExp(`^cannot listen on 127\\.0\\.0\\.1:${taken} \\(EADDRINUSE\\)`));
      expect(err?.message).toContain('is another `npm run demo` or `npm run central` still running?');
      expect(err?.message).not.toMatch(/--broker-port|mqtt\.broker\.port|--sim-port/);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });
});
