// A satellite's own retained status, as central reads it: its components' times in office-local
// time like `at` (a driver stamps its error in UTC).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DeviceStatus } from '../bridge/contract/types.ts';
import type { ComponentHealth } from '../device/ports/health.ts';
import { SatelliteDaemon } from '../device/satellite/satellite.ts';
import { brokerTestScope, startTestBroker, until } from './bridge-broker-raw.ts';
import { FakeSpeaker } from './helpers/boot.ts';
import { debugLog, satelliteAccount, satelliteConfigFor } from './helpers/satellite-link.ts';

/** A loudspeaker whose last failure its driver stamped in UTC. */
class FailedSpeaker extends FakeSpeaker {
  override health(): ComponentHealth {
    return { connected: false, lastError: 'audio-device-busy', lastErrorAt: '2026-11-26T00:59:30.250Z' };
  }
}

describe("a satellite's status", () => {
  const scope = brokerTestScope();

  it("gives its components' lastErrorAt in office-local time, as its `at`", async () => {
    const { broker, port } = await startTestBroker({ wsPort: null, accounts: [await satelliteAccount()] });
    scope.broker = broker;
    const statuses: DeviceStatus[] = [];
    await broker.onMessage('beonho/v1/singok2/devices/counter-12/status', (payload) => {
      statuses.push(JSON.parse(payload.toString()) as DeviceStatus);
    });
    const dataDir = await mkdtemp(join(tmpdir(), 'beonho-sat-status-'));
    const daemon = new SatelliteDaemon(satelliteConfigFor(port, 'pw-12'), {
      dataDir,
      logger: debugLog().logger,
      features: ['audio', 'mqtt'],
      terminal: null,
      hardware: { audio: new FailedSpeaker() },
    });
    try {
      await daemon.start();
      await until(() => statuses.some((s) => s.online && s.hardware?.audio), 'a status with the audio');
      const s = statuses.find((x) => x.online && x.hardware?.audio)!;
      expect(s.at).toMatch(/\+09:00$/);
      expect(s.hardware!.audio!.lastErrorAt).toBe('2026-11-26T09:59:30.250+09:00');
    } finally {
      await daemon.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
