// The whole office in a browser: the simulator page and the simulated central page in real headless
// Chromium, against `npm start`'s supervisor (core as a child) and the central broker. Steps share
// one office and run in order; each writes a screenshot to test-artifacts/screenshots/.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

describe.skipIf(!chromiumAvailable())('the office and central in Chromium', () => {
  let dir: string;
  let central: Central;
  let sim: Simulator;
  let browser: BrowserContext;
  let office: Page;
  let hq: Page;

  const simState = (): Promise<PageState> =>
    office.evaluate(() => (window as unknown as { sim: { state(): PageState } }).sim.state());
  const waiting = (service: string): Promise<number | undefined> =>
    simState().then((s) => s?.snapshot?.services.find((v) => v.id === service)?.waiting);
  const centralWaiting = async (service: string): Promise<string | null> =>
    hq
      .locator(`[data-office="singok2"] [data-service="${service}"] [data-test="waiting"]`)
      .textContent({ timeout: 1000 })
      .catch(() => null);
  const centralOnline = (): Promise<string | null> =>
    hq
      .locator('[data-office="singok2"] [data-test="online"]')
      .getAttribute('data-online', { timeout: 1000 })
      .catch(() => null);
  const received = (): Promise<number[]> =>
    hq.evaluate(() =>
      (window as unknown as { central: { received: Array<{ office: string; seq: number }> } }).central.received
        .filter((e) => e.office === 'singok2')
        .map((e) => e.seq),
    );
  const boardVersion = (): Promise<string | null> => office.locator('#board-img').getAttribute('data-v');

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'beonho-browser-'));
    central = await startCentral(
      { mqttPort: 0, wsPort: 0, port: 0, accounts: path.join(ROOT, 'sim/central/accounts.yaml') },
      pino({ level: 'warn' }, pino.destination(2)),
    );
    const config = await writeOfficeConfig(path.join(dir, 'office.yaml'), central.ports.mqtt);
    sim = new Simulator(['--config', config, '--data-dir', path.join(dir, 'data'), '--no-stdin']);
    const url = await sim.url;
    browser = await launchBrowser();
    office = await browser.newPage();
    office.on('dialog', (d) => void d.accept());
    await office.goto(url);
    hq = await browser.newPage();
    await hq.goto(central.url);
    await until('the core to be up', async () => (await simState())?.core === 'up', 30_000);
    await until('central to see the office online', async () => (await centralOnline()) === 'true', 30_000);
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await sim?.stop();
    await central?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it(
    'a dispenser press prints a ticket image and the waiting count rises on the board and at central',
    async () => {
      await until('the first board frame', boardVersion);
      const boardBefore = await boardVersion();
      await office.click('[data-button="resident"]');
      const ticket = office.locator('#tickets img').first();
      await until('a ticket image', async () => (await ticket.getAttribute('data-name'))?.endsWith('-1001.png'));
      await until('the ticket image to load', () =>
        ticket.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0),
      );
      expect(await waiting('resident')).toBe(1);
      await until('the button to show one waiting', async () =>
        (await office.locator('[data-waiting="resident"]').first().textContent())?.includes('대기 1명'),
      );
      // The board is redrawn from the same snapshot: a new frame was written after the press.
      await until('a new board frame', async () => (await boardVersion()) !== boardBefore);
      await until('central to show one waiting', async () => (await centralWaiting('resident')) === '1명');
      await screenshot(office, '01-sim-ticket-issued');
      await screenshot(hq, '01-central-waiting');
    },
    STEP_MS,
  );

  it(
    'keypad next calls the ticket: the board, the counter card and central show the call',
    async () => {
      await office.click('#sound');
      const before = await boardVersion();
      await office.click('[data-counter="1"] [data-key="next"]');
      await until('counter 1 serving 1001', async () =>
        (await office.locator('[data-counter="1"] [data-current]').textContent())?.includes('1001'),
      );
      const s = await simState();
      expect(s.snapshot?.recentCalls[0]).toMatchObject({ ticket: '1001', counter: '1' });
      await until('the board to redraw with the call', async () => (await boardVersion()) !== before);
      const frame = await readFile(path.join(dir, 'data/sim/board.png'));
      expect(frame.subarray(1, 4).toString()).toBe('PNG');
      await until('the announcement to play in the page', async () =>
        office.evaluate(() => (window as unknown as { sim: { played: string[] } }).sim.played.length > 0),
      );
      await until('central to show the call', async () =>
        (await hq.locator('[data-office="singok2"] [data-service="resident"] td').nth(3).textContent())?.includes(
          '1001',
        ),
      );
      await screenshot(office, '02-sim-called');
    },
    STEP_MS,
  );

  it(
    'cutting the link shows the office offline at central; restored, the missed events arrive in order',
    async () => {
      const seenBefore = (await received()).length;
      await office.click('#fault-link');
      await until('central to mark the office offline', async () => (await centralOnline()) === 'false', 20_000);
      await until('the page to show the cut', async () => (await simState()).link.cable === false);
      await screenshot(hq, '03-central-offline');
      // Work goes on in the office while central cannot hear it.
      const seqBefore = (await simState()).snapshot!.seq;
      await office.click('[data-button="passport"]');
      await office.click('[data-button="seal"]');
      await until('two more tickets', async () => (await simState()).snapshot!.seq >= seqBefore + 2);
      await office.click('[data-counter="2"] [data-key="next"]');
      await until(
        'counter 2 serving',
        async () => (await simState()).snapshot!.counters.find((c) => c.id === '2')?.ticket,
      );
      const seqAfter = (await simState()).snapshot!.seq;
      expect((await received()).length).toBe(seenBefore);
      await screenshot(office, '03-sim-link-cut');

      await office.click('#fault-link');
      await until('central to see the office online again', async () => (await centralOnline()) === 'true', 20_000);
      await until('the missed events at central', async () => (await received()).includes(seqAfter), 20_000);
      const seqs = await received();
      // In order, none missing, none twice: every seq from the first seen to the last.
      for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBe(seqs[i - 1]! + 1);
      expect(seqs).toContain(seqBefore + 1);
      const gaps = await hq.evaluate(
        () =>
          (window as unknown as { central: { offices: Map<string, { gaps: number }> } }).central.offices.get('singok2')
            ?.gaps,
      );
      expect(gaps).toBe(0);
      await screenshot(hq, '03-central-restored');
    },
    STEP_MS,
  );

  it(
    'an online ticket from central appears in the office waiting count; its 알림톡 and a notice follow',
    async () => {
      const before = (await waiting('passport'))!;
      await hq.selectOption('#issue-form select[name="office"]', 'singok2');
      await hq.selectOption('#issue-form select[name="service"]', 'passport');
      await hq.click('#issue-form button[type="submit"]');
      await until(
        'the command result',
        async () => (await hq.locator('#issue-result').getAttribute('data-ok')) === 'true',
      );
      expect(await hq.locator('#issue-result').textContent()).toMatch(/\d+번 발급/);
      const number = /(\d+)번 발급/.exec((await hq.locator('#issue-result').textContent()) ?? '')![1]!;
      await until('the office to count it', async () => (await waiting('passport')) === before + 1);
      // Its ref came back on ticket.near: the 알림톡 central would send.
      await until('the 알림톡 entry', async () =>
        (await hq.locator('#talks li').allTextContents()).some(
          (t) => t.includes(`${number}번`) && t.includes('ref web-'),
        ),
      );
      await hq.fill('#notice-form input[name="text"]', '점심시간에도 정상 운영합니다');
      await hq.click('#notice-form button[type="submit"]');
      await until(
        'the notice at the office',
        async () => (await simState()).snapshot!.notice === '점심시간에도 정상 운영합니다',
      );
      await until('the notice on central', async () =>
        (
          await hq
            .locator('[data-office="singok2"] .notice')
            .textContent()
            .catch(() => '')
        )?.includes('점심시간'),
      );
      await until('the office log to show it', async () =>
        (await simState()).log.some((e) => e.text.startsWith('온라인 발권')),
      );
      await screenshot(hq, '04-central-online-ticket');
      await screenshot(office, '04-sim-online-ticket');
    },
    STEP_MS,
  );

  it(
    'an unplugged keypad does nothing until it is plugged back',
    async () => {
      const plug = office.locator('[data-plug="4"]');
      await until('the keypad switch', () => plug.isVisible());
      await plug.uncheck();
      await until('the card to show it unplugged', async () =>
        (await office.locator('[data-counter="4"]').getAttribute('class'))?.includes('unplugged'),
      );
      const res = await office.evaluate(() =>
        fetch('/api/key', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ counter: '4', action: 'pause' }),
        }).then((r) => r.status),
      );
      expect(res).toBe(409);
      await screenshot(office, '05-sim-keypad-unplugged');
      await plug.check();
      await until('plugged back', async () => (await simState()).faults.unplugged.length === 0);
      await office.click('[data-counter="4"] [data-key="pause"]');
      await until(
        'counter 4 paused',
        async () => (await simState()).snapshot!.counters.find((c) => c.id === '4')?.status === 'paused',
      );
      await office.click('[data-counter="4"] [data-key="pause"]'); // now 업무 재개
      await until(
        'counter 4 back',
        async () => (await simState()).snapshot!.counters.find((c) => c.id === '4')?.status === 'idle',
      );
    },
    STEP_MS,
  );

  it(
    'printer out of paper: a press is refused with the reason, refilled it prints again',
    async () => {
      const before = (await simState()).files.tickets.length;
      await office.click('#fault-paper');
      await until('the switch to show paper out', async () => (await simState()).faults.paperOut);
      const seq = (await simState()).snapshot!.seq;
      await office.click('[data-button="welfare"]');
      await until('the refusal in the log', async () => (await simState()).log.some((e) => e.kind === 'refused'));
      expect((await simState()).snapshot!.seq).toBe(seq); // no ticket was issued
      await screenshot(office, '05-sim-paper-out');
      await office.click('#fault-paper');
      await until('paper back', async () => !(await simState()).faults.paperOut);
      await office.click('[data-button="welfare"]');
      await until('a welfare ticket', async () => (await simState()).files.tickets.length > before);
      expect((await simState()).files.tickets[0]).toMatch(/-4001\.png$/);
    },
    STEP_MS,
  );

  it(
    'the power cut kills the core; the page shows it and recovers with the same state',
    async () => {
      const before = await simState();
      const pid = sim.child.pid;
      await office.click('#fault-power');
      await until('the page to show the power off', async () => (await simState()).core !== 'up', 10_000);
      await until('the overlay', () => office.locator('#power-overlay').isVisible());
      await screenshot(office, '06-sim-power-off');
      await until('the core back up', async () => (await simState()).core === 'up', 30_000);
      const after = await simState();
      expect(sim.child.pid).toBe(pid); // the supervisor stayed; only the core restarted
      expect(after.restarts).toBe(before.restarts + 1);
      expect(after.snapshot!.seq).toBe(before.snapshot!.seq);
      expect(after.snapshot!.services).toEqual(before.snapshot!.services);
      expect(after.snapshot!.counters).toEqual(before.snapshot!.counters);
      expect(after.files.tickets).toEqual(before.files.tickets);
      expect(after.log.length).toBeGreaterThan(before.log.length); // kept, plus the power notes
      await until('the overlay to go', async () => !(await office.locator('#power-overlay').isVisible()));
      // And it still works: the next press continues the numbering.
      await office.click('[data-button="resident"]');
      await until('ticket 1002', async () => (await simState()).files.tickets[0]?.endsWith('-1002.png'));
      await screenshot(office, '06-sim-recovered');
    },
    STEP_MS,
  );
});
