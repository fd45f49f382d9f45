// Two devices given one office and device id (an SD card cloned and its config not edited) log in
// to central with one client id, and central's broker hands the session to whichever came last:
// each link dropped as the other came up, a reconnect within reconnectMinMs, for ever. Neither
// said why: "uplink connected" and "uplink lost" once a second each, as for a bad cable. Now each
// reconnect waits longer, as after failed attempts, the drops go to debug, and the log names the
// likely cause once, with the client id.
import { afterEach, describe, expect, it } from 'vitest';
import type { Uplink } from '../bridge/uplink/uplink.ts';
import { centralBroker, type CentralBroker } from './helpers/central-broker.ts';
import { debugLog } from './helpers/satellite-link.ts';
import { testUplink } from './helpers/uplink.ts';

async function until(cond: () => boolean, what: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let central: CentralBroker | null = null;
let links: Uplink[] = [];
afterEach(async () => {
  for (const l of links) await l.stop();
  links = [];
  await central?.close();
  central = null;
});

describe('two devices with one client id at central', () => {
  it('back off from each other and name the cause once, not a drop a second', async () => {
    central = await centralBroker();
    const { lines, logger } = debugLog();
    let downs = 0;
    // waits that may grow to 5 s: backing off shows as a few drops a second, not the ~100 a second
    // of reconnects 5-10 ms apart (the first attempt's), whatever this machine's speed
    links = [0, 1].map(() => testUplink(central!.url, { logger, reconnectMaxMs: 5000 }));
    for (const l of links) {
      l.onDisconnect(() => downs++);
      l.start();
    }
    await until(() => downs >= 8, 'eight drops', 30_000);
    const said = lines.filter((l) => (l.level as number) >= 40);
    const flapping = said.filter((l) => l.code === 'uplink-flapping');
    expect(flapping.length).toBeGreaterThanOrEqual(1);
    expect(flapping.length).toBeLessThanOrEqual(2);
    expect(flapping[0]?.level).toBe(50);
    expect(flapping[0]?.msg).toContain('"beonho-singok2-main"');
    // the first drop of each link is said; the rest of the loop is the flapping line's
    expect(said.filter((l) => l.code === 'uplink-down').length).toBeLessThanOrEqual(4);
    // backing off: the reconnects no longer come at once (without it: every 5-10 ms)
    const at = downs;
    await new Promise((r) => setTimeout(r, 1000));
    expect(downs - at).toBeLessThanOrEqual(12);
  }, 40_000);

  it('is no longer said once central cannot be reached at all: the status gives the new cause', async () => {
    central = await centralBroker();
    const { logger } = debugLog();
    links = [0, 1].map(() => testUplink(central!.url, { logger, reconnectMaxMs: 200 }));
    for (const l of links) l.start();
    await until(() => links.some((l) => l.flapping()), 'a link flapping', 30_000);
    const flapper = links.find((l) => l.flapping())!;
    for (const l of links) if (l !== flapper) await l.stop();
    await central.close();
    central = null;
    let failed = 0;
    flapper.onAttemptFailed(() => failed++);
    await until(() => failed >= 1, 'an attempt that fails', 10_000);
    // central refuses the connection now: that is not a twin taking the session
    expect(flapper.failureReason()).toMatch(/ECONNREFUSED/);
    expect(flapper.flapping()).toBe(false);
  }, 40_000);
});
