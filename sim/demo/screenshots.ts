// Regenerates docs/img/sim-page.png and docs/img/central-page.png from a running `npm run demo`:
// drives the three offices through their pages' APIs (a morning's first tickets and calls), then
// photographs the singok2 simulator page and the central page in headless Chromium.
//   npm run demo   (in another terminal), then: npx tsx sim/demo/screenshots.ts
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OFFICES = { cityhall: 8081, singok2: 8082, hoewon1: 8083 } as const;

async function post(port: number, action: string, body: Record<string, unknown>): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${port}/api/${action}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${port} ${action}: ${res.status} ${await res.text()}`);
  await new Promise((r) => setTimeout(r, 120));
}

async function main(): Promise<void> {
  const { cityhall, singok2, hoewon1 } = OFFICES;
  for (const b of ['apply', 'apply', 'pickup', 'apply', 'apostille', 'pickup', 'priority', 'apply'])
    await post(cityhall, 'press', { button: b });
  for (const c of ['1', '2', '4']) await post(cityhall, 'key', { counter: c, action: 'next' });
  for (const b of [
    'resident',
    'resident',
    'seal',
    'passport',
    'welfare',
    'resident',
    'priority',
    'seal',
    'resident',
    'passport',
  ]) {
    await post(singok2, 'press', { button: b });
  }
  for (const c of ['1', '2', '3']) await post(singok2, 'key', { counter: c, action: 'next' });
  await post(singok2, 'key', { counter: '4', action: 'pause' });
  await post(singok2, 'key', { counter: '1', action: 'next' });
  for (const b of ['resident', 'welfare', 'seal']) await post(hoewon1, 'press', { button: b });
  await post(hoewon1, 'key', { counter: '1', action: 'next' });
  await new Promise((r) => setTimeout(r, 1500));

  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu'],
  });
  const page = await browser.newPage({ viewport: { width: 1440, height: 1050 }, deviceScaleFactor: 1 });
  await page.goto(`http://127.0.0.1:${singok2}/`);
  await page.waitForTimeout(2000);
  await page.screenshot({ path: path.join(ROOT, 'docs/img/sim-page.png') });
  const hq = await browser.newPage({ viewport: { width: 1440, height: 960 }, deviceScaleFactor: 1 });
  await hq.goto('http://127.0.0.1:8090/');
  await hq.waitForTimeout(2500);
  // One 온라인 발권 so the result line and the 알림톡 list have something to show.
  await hq.selectOption('#issue-form select[name="office"]', 'singok2');
  await hq.selectOption('#issue-form select[name="service"]', 'passport');
  await hq.click('#issue-form button[type="submit"]');
  await hq.waitForTimeout(1500);
  await hq.screenshot({ path: path.join(ROOT, 'docs/img/central-page.png') });
  await browser.close();
  process.stdout.write('wrote docs/img/sim-page.png and docs/img/central-page.png\n');
}

await main();
