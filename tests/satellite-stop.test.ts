// A satellite's stop is bounded like the main unit's (STOP_BUDGET_MS, device/util/stop-parts.ts): a part
// whose stop never returned (a keypad's USB read, say) held the whole stop until systemd's SIGKILL,
// which counts as a failure, and left the data dir locked; a main unit gone silent held the link's
// goodbye until mqtt.js's keepalive gave up (up to 90 s); and a stop while the client library still
// loaded left a client that linked, and said the satellite was online, after the stop.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { simulatorDefault } from '../device/config/default.ts';
import { validateConfig } from '../device/config/load.ts';
import type { SatelliteConfig } from '../device/config/schema.ts';
import { satelliteSchema } from '../device/config/satellite-schema.ts';
import { claimDataDir } from '../device/lock.ts';
import type { KeypadSource } from '../device/ports/keypad.ts';
import { MainLink, type MainLinkHandlers } from '../device/satellite/link.ts';
import { SatelliteDaemon } from '../device/satellite/satellite.ts';
import { startCable } from '../sim/cable.ts';
import { brokerTestScope, startTestBroker, until } from './bridge-broker-raw.ts';
import { debugLog, satelliteAccount } from './helpers/satellite-link.ts';
import { setMqttLoadDelay } from './helpers/slow-mqtt-load.ts';

vi.mock('../bridge/uplink/client-common.ts', async (orig) =>
  (await import('./helpers/slow-mqtt-load.ts')).slowMqttLoad(orig),
);

function link(port: number, handlers: Partial<MainLinkHandlers>, keepaliveSec = 5) {
  const nothing = () => undefined;
  let session = 0;
  return new MainLink({
    cfg: satelliteSchema.parse({
      main: { url: `mqtt://127.0.0.1:${port}`, password: 'pw-12', reconnectMinMs: 50, keepaliveSec },
    }).main,
    office: 'singok2',
    device: 'counter-12',
    logger: pino({ level: 'silent' }),
    handlers: {
      connected: nothing,
      up: nothing,
      down: nothing,
      state: nothing,
      event: nothing,
      result: nothing,
      status: nothing,
      ...handlers,
    },
    nextSession: async () => ++session,
    birth: (s) => ({ v: 1, office: 'singok2', device: 'counter-12', online: true, session: s }),
  });
}

/** Resolves with whether `p` settled before `ms`. */
function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.then(() => true),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

describe("a satellite's stop", () => {
  const scope = brokerTestScope();

  it('names a part that does not stop, goes on without it and releases the data dir', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'beonho-sat-stop-'));
    const { lines, logger } = debugLog();
    const config = validateConfig({
      ...simulatorDefault,
      role: 'satellite',
      device: { id: 'counter-12' },
      satellite: { main: { url: 'mqtt://127.0.0.1:1', password: 'x' }, counters: [1] },
    }) as SatelliteConfig;
    let hung: () => void = () => undefined;
    // a keypad whose USB read never returns
    const keypads: KeypadSource = {
      kind: 'hid',
      start: async () => undefined,
      stop: () =>
        new Promise<void>((resolve) => {
          hung = resolve;
        }),
      health: () => ({}),
    };
    const daemon = new SatelliteDaemon(config, {
      dataDir,
      logger,
      features: ['health'],
      hardware: { keypads },
      terminal: null,
      stopBudgetMs: 50,
    });
    try {
      await daemon.start();
      expect(await settlesWithin(daemon.stop(), 5000)).toBe(true);
      expect(lines.filter((l) => l.code === 'stop-timeout')).toEqual([
        expect.objectContaining({ extension: 'keys', msg: expect.stringMatching(/^keys did not stop in time/) }),
      ]);
      // the next start takes the data dir
      const release = await claimDataDir(dataDir);
      await release();
    } finally {
      hung();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('does not wait for a main unit gone silent to acknowledge its goodbye', async () => {
    const { broker, port } = await startTestBroker({ wsPort: null, accounts: [await satelliteAccount()] });
    scope.broker = broker;
    const cable = await startCable({ host: '127.0.0.1', port });
    let up = false;
    // the longest keepalive the config takes: mqtt.js would give up on the silent link after 90 s
    const l = link(cable.port, { up: () => (up = true) }, 60);
    l.start();
    try {
      await until(() => up, 'the link up');
      cable.stall();
      expect(await settlesWithin(l.stop(), 5000)).toBe(true);
    } finally {
      await l.stop();
      await cable.close();
    }
  });

  it('stopped while the client library loads, never links', async () => {
    const { broker, port } = await startTestBroker({ wsPort: null, accounts: [await satelliteAccount()] });
    scope.broker = broker;
    const seen: string[] = [];
    setMqttLoadDelay(200);
    const l = link(port, { connected: () => seen.push('connected') });
    try {
      l.start();
      // past the session number, into the library's load
      await new Promise((r) => setTimeout(r, 50));
      await l.stop();
      await new Promise((r) => setTimeout(r, 600));
      expect(seen).toEqual([]);
    } finally {
      setMqttLoadDelay(0);
      await l.stop();
    }
  });
});
