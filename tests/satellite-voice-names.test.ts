// A satellite's voice names a counter as the board shows it, from the main unit's state: a counter
// renamed on the main unit was called by the old name of this unit's config while its board showed
// the new one.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Bus } from '../device/bus.ts';
import { SatelliteDaemon } from '../device/satellite/satellite.ts';
import { StateMirror } from '../device/satellite/mirror.ts';
import { brokerTestScope, startTestBroker, until } from './bridge-broker-raw.ts';
import { FakeSpeaker } from './helpers/boot.ts';
import { calledEvent, debugLog, satelliteAccount, satelliteConfigFor } from './helpers/satellite-link.ts';

describe("a satellite's voice", () => {
  const scope = brokerTestScope();

  it('calls citizens to the counter by the name the main unit gives it', async () => {
    const { broker, port } = await startTestBroker({ wsPort: null, accounts: [await satelliteAccount()] });
    scope.broker = broker;
    const config = satelliteConfigFor(port, 'pw-12');
    // the main unit's state, with counter 1 renamed there
    const mirror = new StateMirror({ config, bus: new Bus(), now: Date.now, logger: pino({ level: 'silent' }) });
    const state = structuredClone(mirror.snapshot());
    state.seq = 5;
    state.counters[0]!.name = '여권 전용 창구';
    // published in-process, as the main unit's daemon does
    await broker.publish('beonho/v1/singok2/state', JSON.stringify(state), { qos: 1, retain: true });

    const log = debugLog();
    const speaker = new FakeSpeaker();
    const dataDir = await mkdtemp(join(tmpdir(), 'beonho-sat-voice-'));
    const daemon = new SatelliteDaemon(config, {
      dataDir,
      logger: log.logger,
      features: ['audio', 'mqtt'],
      terminal: null,
      hardware: { audio: speaker },
    });
    try {
      await daemon.start();
      await until(() => daemon.parts.mirror.known, 'the main unit’s state');
      const event = { ...calledEvent(6, '1001'), at: new Date().toISOString() };
      await broker.publish('beonho/v1/singok2/events', JSON.stringify(event), { qos: 1, retain: false });
      await until(() => speaker.played.length > 0, 'the call announced', 15_000);
      await daemon.parts.audio!.idle();
      expect(speaker.played[0]).toContain('여권 전용 창구');
    } finally {
      await daemon.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
