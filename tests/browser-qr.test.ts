// The citizen's side of the printed ticket's QR code, in real headless Chromium at a phone's size:
// the simulator office (`npm start`'s supervisor, a child) prints tickets whose QR link points at
// the simulated central (in-process, its own broker). The test reads the QR code back from the
// ticket's PNG (jsQR), opens the link on the "phone", watches its place drop as the clerk calls,
// opts in to 알림톡 and is called. A forged link and a ticket of a closed day are refused; the
// phone number never reaches a topic, the office's data dir or its log.
import { readdir, readFile, rm } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as jsqr from 'jsqr';
import type { MqttClient } from 'mqtt';
import { pino } from 'pino';
import type { BrowserContext, Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, Inbox } from '../bench/lib/mqtt-client.ts';
import { type Central, startCentral } from '../sim/central/main.ts';
import type { PageState } from '../sim/hub.ts';
import {
  chromiumAvailable,
  launchBrowser,
  ROOT,
  Simulator,
  screenshot,
  until,
  writeOfficeConfig,
} from './browser-helpers.ts';

const STEP_MS = 45_000;
// jsQR is CommonJS with an `export default` typing: typed here as what it is at run time.
const decodeQr = jsqr.default as unknown as (data: Uint8ClampedArray, w: number, h: number) => { data: string } | null;
const PHONE = '010-2468-1357';
const PHONE_DIGITS = ['01024681357', '2468-1357', '24681357'];

describe.skipIf(!chromiumAvailable())("the ticket's QR link on a phone", () => {
  let dir: string;
  let central: Central;
  let sim: Simulator;
  let simUrl: string;
  let browser: BrowserContext;
  let phone: Page;
  let wire: MqttClient;
  let topics: Inbox;
  let link: URL;

  const api = async (route: string, body: unknown): Promise<void> => {
    const r = await fetch(new URL(route, simUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(r.status, `${route} ${JSON.stringify(body)}`).toBe(200);
  };
  const simState = async (): Promise<PageState> => {
    const page = browser.pages().find((p) => p.url().startsWith(simUrl));
    return page!.evaluate(() => (window as unknown as { sim: { state(): PageState } }).sim.state());
  };
  const headline = () => phone.locator('#headline').textContent();
  const status = () => phone.locator('#ticket').getAttribute('data-status');

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'beonho-qr-'));
    central = await startCentral(
      { mqttPort: 0, wsPort: 0, port: 0, accounts: path.join(ROOT, 'sim/central/accounts.yaml') },
      pino({ level: 'warn' }, pino.destination(2)),
    );
    // Everything any office publishes, from the first message: the phone number must never be there.
    wire = await connect(`mqtt://127.0.0.1:${central.ports.mqtt}`, { username: 'central', password: 'central' });
    topics = new Inbox(wire);
    await wire.subscribeAsync('#', { qos: 1 });
    const config = await writeOfficeConfig(path.join(dir, 'office.yaml'), central.ports.mqtt, {
      ticketUrl: `http://127.0.0.1:${central.ports.page}/q/{office}/{day}/{number}?t={token}`,
    });
    sim = new Simulator(['--config', config, '--data-dir', path.join(dir, 'data'), '--no-stdin']);
    simUrl = await sim.url;
    browser = await launchBrowser();
    const office = await browser.newPage();
    await office.goto(simUrl);
    await until('the core to be up', async () => (await simState())?.core === 'up', 30_000);
    await until('central to know the office', () => central.reader.offices.get('singok2')?.state?.open, 30_000);
    phone = await browser.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await sim?.stop();
    wire?.end(true);
    await central?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it(
    'scans the third ticket of the morning, opens its link and sees two people ahead',
    async () => {
      for (let i = 0; i < 3; i++) await api('/api/press', { button: 'resident' });
      const tickets = path.join(dir, 'data', 'sim', 'tickets');
      const png = await until('the third ticket printed', async () =>
        (await readdir(tickets).catch(() => [] as string[])).find((f) => f.endsWith('-1003.png')),
      );
      const image = PNG.sync.read(await readFile(path.join(tickets, png)));
      const code = decodeQr(new Uint8ClampedArray(image.data), image.width, image.height);
      expect(code, 'a QR code on the ticket').not.toBeNull();
      link = new URL(code!.data);
      expect(link.origin).toBe(`http://127.0.0.1:${central.ports.page}`);
      expect(link.pathname).toMatch(/^\/q\/singok2\/\d{4}-\d{2}-\d{2}\/1003$/);
      await phone.goto(link.href);
      await until('the place', async () => (await headline()) === '내 앞에 2명');
      expect(await phone.locator('#number').textContent()).toBe('1003');
      expect(await phone.locator('#office').textContent()).toBe('신곡2동 행정복지센터');
      expect(await phone.locator('#detail').textContent()).toMatch(/^예상 대기 시간 약 \d+분$/);
      // Phone-sized: nothing wider than the screen.
      expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await screenshot(phone, 'qr-01-two-ahead');
    },
    STEP_MS,
  );

  it(
    'refuses a forged link: another number with this token, or a changed token',
    async () => {
      const other = new URL(link.href.replace('/1003?', '/1002?'));
      const forged = new URL(link.href);
      const t = forged.searchParams.get('t')!;
      forged.searchParams.set('t', `${t.slice(0, -1)}${t.endsWith('A') ? 'B' : 'A'}`);
      for (const bad of [other, forged]) {
        const r = await phone.goto(bad.href);
        expect(r!.status()).toBe(403);
        expect(await phone.locator('h1').textContent()).toBe('확인할 수 없는 번호표');
      }
      const live = await fetch(new URL(`${forged.pathname}/live${forged.search}`, forged));
      expect(live.status).toBe(403);
      expect(((await live.json()) as { error: { code: string } }).error.code).toBe('ticket-link-invalid');
      await screenshot(phone, 'qr-02-forged');
    },
    STEP_MS,
  );

  it(
    'opts in to 알림톡 (a wrong number is refused), moves up as the clerks call, is told and called',
    async () => {
      await phone.goto(link.href);
      await until('the place', async () => (await headline()) === '내 앞에 2명');
      await phone.fill('#phone', '02-123-4567');
      await phone.click('#alert-form button[type="submit"]');
      await until('the refusal', async () => (await phone.locator('#alert-error').textContent())?.includes('확인해'));
      await phone.fill('#phone', PHONE);
      await phone.click('#alert-form button[type="submit"]');
      await until('the opt-in', async () => (await phone.locator('#alert-to').textContent()) === '010-****-1357');
      await screenshot(phone, 'qr-03-opted-in');

      await api('/api/key', { counter: '1', action: 'next' });
      await until('one ahead', async () => (await headline()) === '내 앞에 1명');
      await api('/api/key', { counter: '2', action: 'next' });
      await until('next in line', async () => (await headline()) === '곧 호출됩니다');
      await until('the near note to the phone', () =>
        central.alerts.talks.some((t) => t.number === '1003' && t.kind === 'near' && t.to === '010-****-1357'),
      );
      await api('/api/key', { counter: '1', action: 'next' });
      await until('called', async () => (await status()) === 'called');
      expect(await headline()).toBe('1번 창구로 오세요');
      await until('the called note to the phone', () =>
        central.alerts.talks.some((t) => t.number === '1003' && t.kind === 'called' && t.counter === '1'),
      );
      await screenshot(phone, 'qr-04-called');
      expect((await simState()).snapshot!.counters.find((c) => c.id === '1')!.ticket).toBe('1003');
    },
    STEP_MS,
  );

  it(
    'the phone number stayed in central: not in any topic, the office data dir or its log',
    async () => {
      expect(topics.messages.length).toBeGreaterThan(10);
      for (const m of topics.messages) for (const p of PHONE_DIGITS) expect(m.text).not.toContain(p);
      const files = await readdir(path.join(dir, 'data'), { recursive: true, withFileTypes: true });
      let scanned = 0;
      for (const f of files) {
        if (!f.isFile()) continue;
        // The board's PNG is written to a temporary file and renamed: one listed may be gone.
        const bytes = await readFile(path.join(f.parentPath, f.name)).catch((err: NodeJS.ErrnoException) => {
          if (err.code === 'ENOENT') return null;
          throw err;
        });
        if (!bytes) continue;
        const body = bytes.toString('latin1');
        scanned++;
        for (const p of PHONE_DIGITS) expect(body, f.name).not.toContain(p);
      }
      expect(scanned).toBeGreaterThan(3);
      for (const p of PHONE_DIGITS) expect(sim.output).not.toContain(p);
    },
    STEP_MS,
  );

  it(
    'once the day is closed the open page says so and the link is refused',
    async () => {
      const r = await central.reader.command('singok2', { type: 'day.close' });
      expect(r.ok).toBe(true);
      await until('the page to say the day is over', async () => (await status()) === 'gone');
      expect(await headline()).toBe('이 번호표의 업무일이 끝났습니다');
      const again = await phone.goto(link.href);
      expect(again!.status()).toBe(410);
      expect(await phone.locator('h1').textContent()).toBe('지난 번호표');
      await screenshot(phone, 'qr-05-day-over');
    },
    STEP_MS,
  );
});
