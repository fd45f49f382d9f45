// A satellite whose password the main unit refuses retries for ever, and nothing fixes it but a
// person. The installer's `npm run status` showed only `main-link DISCONNECTED`, as for a pulled
// cable, and the log one warning among the retries; the refusal is now the link's last error in
// the status, and said once at error level with what to check.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LINK_COMPONENT, SatelliteDaemon } from '../device/satellite/satellite.ts';
import { brokerTestScope, startTestBroker, until } from './bridge-broker-raw.ts';
import { freePort } from './bridge-helpers.ts';
import { rawMqttServer } from './helpers/raw-mqtt-server.ts';
import { debugLog, satelliteAccount, satelliteConfigFor } from './helpers/satellite-link.ts';

describe('a satellite given the wrong password', () => {
  const scope = brokerTestScope();

  it('says so once, with what to check, and in its status', async () => {
    const { broker, port } = await startTestBroker({
      wsPort: null,
      accounts: [await satelliteAccount()],
    });
    scope.broker = broker;
    const { lines, logger } = debugLog();
    const config = satelliteConfigFor(port, 'pw-21');
    const dataDir = await mkdtemp(join(tmpdir(), 'beonho-sat-login-'));
    const daemon = new SatelliteDaemon(config, { dataDir, logger, features: ['health', 'mqtt'], terminal: null });
    try {
      await daemon.start();
      // the link is among the parts once started (it is made when its part starts)
      expect(daemon.parts.link).not.toBeNull();
      const refusals = () => lines.filter((l) => l.code === 'main-link-refused');
      await until(() => refusals().length >= 3, 'three refused logins');
      expect(refusals().filter((l) => l.level >= 40)).toEqual([
        expect.objectContaining({ level: 50, msg: expect.stringContaining('"counter-12"') }),
      ]);
      expect(refusals()[0]?.msg).toMatch(/satellite\.main\.password/);
      const status = await daemon.parts.health!.current();
      expect(status.components[LINK_COMPONENT]).toMatchObject({ connected: false, lastError: 'main-link-refused' });
    } finally {
      await daemon.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('a satellite whose main unit cannot be reached', () => {
  it('says why in its status, once for the reason, not at every retry', async () => {
    const { lines, logger } = debugLog();
    // nothing listens there: every attempt is refused by the network
    const config = satelliteConfigFor(await freePort(), 'pw-21');
    const dataDir = await mkdtemp(join(tmpdir(), 'beonho-sat-unreach-'));
    const daemon = new SatelliteDaemon(config, { dataDir, logger, features: ['health', 'mqtt'], terminal: null });
    const said: unknown[] = [];
    try {
      await daemon.start();
      daemon.bus.on('healthChanged', said, ({ component, health }) => {
        if (component === LINK_COMPONENT) said.push(health);
      });
      const link = async () => (await daemon.parts.health!.current()).components[LINK_COMPONENT];
      await until(() => countAttempts(lines) >= 4, 'four attempts');
      expect(await link()).toMatchObject({
        connected: false,
        lastError: 'main-link-down',
        lastErrorReason: expect.stringMatching(/ECONNREFUSED/),
      });
      // at most the one (the first may have come before the listener): not one per attempt
      expect(said.length).toBeLessThanOrEqual(1);
    } finally {
      daemon.bus.removeListeners(said);
      await daemon.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

/** Connection attempts the link logged (each refused by the network: a main-link-error, at debug
 * once repeated). */
function countAttempts(lines: Array<{ code?: string }>): number {
  return lines.filter((l) => l.code === 'main-link-error').length;
}

describe('a satellite refused once, then closed on without a word', () => {
  it("says the close's reason in its status, not the refusal of the attempt before", async () => {
    let connects = 0;
    const main = await rawMqttServer(4, (p, send) => {
      if (p.cmd !== 'connect') return;
      connects++;
      // the first login refused (CONNACK 5); every later connection closed before any CONNACK
      if (connects === 1) send({ cmd: 'connack', returnCode: 5, sessionPresent: false });
      else main.socket()?.destroy();
    });
    const { logger } = debugLog();
    const config = satelliteConfigFor(Number(new URL(main.url).port), 'pw-21');
    const dataDir = await mkdtemp(join(tmpdir(), 'beonho-sat-closed-'));
    const daemon = new SatelliteDaemon(config, { dataDir, logger, features: ['health', 'mqtt'], terminal: null });
    try {
      await daemon.start();
      const link = async () => (await daemon.parts.health!.current()).components[LINK_COMPONENT];
      await until(() => connects >= 3, 'three attempts');
      expect(await link()).toMatchObject({
        connected: false,
        lastError: 'main-link-down',
        lastErrorReason: expect.not.stringMatching(/authori[sz]ed/i),
      });
    } finally {
      await daemon.stop();
      await main.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
