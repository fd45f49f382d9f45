// The simulated central's 민원대기현황 page over a fleet: twelve offices of the fleet benchmark
// (bench/fleet.ts: the daemon per office, its own store, a time-compressed day) on a real
// mosquitto, central reading it as an outside broker (--mqtt-url). Every office gets its card, the
// header sums them, and each card's waiting counts end equal to its office's queue.
import { pino } from 'pino';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CENTRAL_PW, Fleet, mosquittoTarget, officeId, type Target } from '../bench/fleet.ts';
import { mosquittoAvailable } from '../bench/lib/mosquitto.ts';
import { type Central, startCentral } from '../sim/central/main.ts';
import { chromiumAvailable, launchBrowser, screenshot, until } from './browser-helpers.ts';

const N = 12;

describe.skipIf(!chromiumAvailable() || !mosquittoAvailable())('the central page over a fleet', () => {
  let target: Target;
  let central: Central;
  let fleet: Fleet;
  let browser: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    target = await mosquittoTarget(N, 0);
    central = await startCentral(
      {
        port: 0,
        mqttUrl: target.centralUrls(),
        mqttUser: 'central',
        mqttPassword: CENTRAL_PW,
        clientId: 'fleet-page-test',
        offices: Array.from({ length: N }, (_, i) => officeId(i)),
      },
      pino({ level: 'warn' }, pino.destination(2)),
    );
    await until('central connected', () => central.reader.isConnected());
    fleet = new Fleet({ speedup: 20, central, urls: (i) => target.officeUrls(i) });
    await fleet.start(N);
    await until('every office connected', () => fleet.connected() === N, 30_000);
    browser = await launchBrowser();
    page = await browser.newPage();
    await page.goto(central.url);
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await fleet?.stop();
    await central?.close();
    await target?.destroy();
  });

  it("shows every office of the fleet, summed in the header, each card ending on its office's queue", async () => {
    fleet.startLoad(7);
    await until('every card', async () => (await page.locator('[data-office]').count()) === N, 30_000);
    await new Promise((r) => setTimeout(r, 3000));
    fleet.stopLoad();
    expect(await fleet.drained(30_000)).toBe(true);
    const waiting = (id: string) =>
      page
        .locator(`[data-office="${id}"] [data-test="waiting"]`)
        .allTextContents()
        .then((t) => t.map((x) => Number.parseInt(x, 10)));
    for (const o of fleet.offices) {
      const want = o.daemon.queue.snapshot().services.map((s) => s.waiting);
      await until(`${o.id}'s card`, async () => JSON.stringify(await waiting(o.id)) === JSON.stringify(want));
    }
    const total = fleet.offices.reduce(
      (n, o) => n + o.daemon.queue.snapshot().services.reduce((m, s) => m + s.waiting, 0),
      0,
    );
    await until('the header', async () =>
      (await page.locator('#summary').textContent())?.startsWith(`기관 ${N}곳 · 온라인 ${N}곳 · 대기 ${total}명`),
    );
    expect(await page.locator('[data-office] [data-test="online"][data-online="true"]').count()).toBe(N);
    await screenshot(page, 'central-fleet');
  }, 90_000);
});
