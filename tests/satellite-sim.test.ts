// The simulator with satellites: the hub's view of them, the demo office's satellite config, and
// `npm start -- --satellite <config>` end to end (the page shows the satellite beside the main
// unit, its frames are served, its keys and its LAN cable work from the page; in Chromium when
// it is installed).
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { simulatorDefault } from '../device/config/default.ts';
import { validateConfig } from '../device/config/load.ts';
import { isSatellite } from '../device/config/role.ts';
import { ActionError, type PageState, type SatelliteHandle, SimHub } from '../sim/hub.ts';
import type { SatelliteLayout } from '../sim/satellite-ipc.ts';
import { freePort, tempDir } from './bridge-helpers.ts';
import { mainBroker, satelliteAccount } from './helpers/satellite-accounts.ts';
import { chromiumAvailable, launchBrowser, ROOT, Simulator, screenshot, until } from './browser-helpers.ts';

const LAYOUT: SatelliteLayout = {
  device: 'passport-2f',
  office: 'singok2',
  keys: ['3'],
  displays: ['3'],
  board: 'portrait',
  voice: { counters: ['3'], services: ['passport'] },
  simKeys: true,
};

function fakeSatellite(): SatelliteHandle & { lines: string[]; cuts: string[]; kills: number; up: boolean } {
  const h = {
    lines: [] as string[],
    cuts: [] as string[],
    kills: 0,
    up: true,
    line(text: string) {
      if (!h.up) return false;
      h.lines.push(text);
      return true;
    },
    send: () => true,
    powerCut: () => {
      h.kills++;
    },
    cable: { cut: () => h.cuts.push('cut'), restore: () => h.cuts.push('restore') },
  };
  return h;
}

const noCore = {
  line: () => false,
  send: () => false,
  powerCut: () => undefined,
  cable: null,
};

describe("the simulator hub's satellites", () => {
  it('shows each satellite, its link and its keys, and turns page actions into its terminal words', () => {
    const hub = new SimHub(noCore, () => Date.UTC(2026, 10, 26, 1, 0));
    const sat = fakeSatellite();
    hub.addSatellite('passport-2f', sat);
    expect(() => hub.satelliteKey('passport-2f', { counter: '3', action: 'next' })).toThrow(/다시 시작하는 중/);
    hub.fromSatellite('passport-2f', { kind: 'satellite-ready', layout: LAYOUT });
    hub.fromSatellite('passport-2f', { kind: 'satellite-link', online: true, seq: 12 });
    hub.satelliteKey('passport-2f', { counter: '3', action: 'next' });
    hub.satelliteKey('passport-2f', { counter: '3', action: 'call', number: '2005' });
    expect(sat.lines).toEqual(['key 3 next', 'key 3 call 2005']);
    hub.fromSatellite('passport-2f', {
      kind: 'satellite-key',
      outcome: { counter: '3', type: 'counter.next', ok: false, code: 'no-waiting', text: '대기 없음' },
    });
    const v = hub.state.satellites[0]!;
    expect(v).toMatchObject({ device: 'passport-2f', core: 'up', link: { cable: true, online: true } });
    expect(v.keys).toEqual({ '3': { ok: false, text: '대기 없음' } });
    expect(hub.state.log.map((l) => l.text).slice(0, 2)).toEqual([
      'passport-2f 3번 창구 키: 대기 없음',
      'passport-2f: 본체 연결됨 (seq 12)',
    ]);
    hub.setSatelliteLink('passport-2f', false);
    expect(sat.cuts).toEqual(['cut']);
    expect(hub.state.satellites[0]!.link.cable).toBe(false);
    hub.satellitePowerCut('passport-2f');
    expect(sat.kills).toBe(1);
    hub.satelliteState('passport-2f', 'down', true, '전원 차단');
    expect(hub.state.satellites[0]).toMatchObject({ core: 'down', link: { online: false } });
  });

  it('refuses what the satellite does not have, and a satellite nobody started', () => {
    const hub = new SimHub(noCore);
    const sat = fakeSatellite();
    hub.addSatellite('passport-2f', sat);
    hub.fromSatellite('passport-2f', { kind: 'satellite-ready', layout: LAYOUT });
    const code = (fn: () => void): string | null => {
      try {
        fn();
        return null;
      } catch (err) {
        return err instanceof ActionError ? err.code : String(err);
      }
    };
    expect(code(() => hub.satelliteKey('passport-2f', { counter: '1', action: 'next' }))).toBe('sim-unknown-counter');
    expect(code(() => hub.satelliteKey('passport-2f', { counter: '3', action: 'explode' }))).toBe('sim-unknown-key');
    expect(code(() => hub.satelliteKey('nobody', { counter: '3', action: 'next' }))).toBe('sim-unknown-satellite');
    expect(code(() => hub.setSatelliteLink('nobody', false))).toBe('sim-unknown-satellite');
    sat.up = false;
    expect(code(() => hub.satelliteKey('passport-2f', { counter: '3', action: 'next' }))).toBe('sim-core-down');
    hub.addSatellite('wired', { ...fakeSatellite(), cable: null });
    expect(code(() => hub.setSatelliteLink('wired', false))).toBe('sim-no-cable');
    expect(sat.lines).toEqual([]);
  });
});

describe("the demo office's satellite (npm run demo)", () => {
  it('validates, and its account on the main unit is bound to the same counters', async () => {
    const load = async (name: string) =>
      validateConfig(parseYaml(await readFile(path.join(ROOT, 'sim/demo', `${name}.yaml`), 'utf8')), name);
    const main = await load('singok2');
    const sat = await load('singok2-passport');
    expect(isSatellite(main)).toBe(false);
    expect(isSatellite(sat)).toBe(true);
    if (!isSatellite(sat)) return;
    const account = main.mqtt.broker.accounts.find((a) => a.username === sat.device.id);
    expect(account).toMatchObject({ role: 'satellite', offices: [main.office.id], counters: sat.satellite.counters });
    expect(new URL(sat.satellite.main.url).port).toBe(String(main.mqtt.broker.port));
    expect(sat.counters).toEqual(main.counters);
    expect(sat.services).toEqual(main.services);
  });
});

describe('npm start -- --satellite <config>', () => {
  let dir: string;
  let sim: Simulator;
  let url: string;
  const services = simulatorDefault.services.map(({ cutoff: _c, ...s }) => s);

  beforeAll(async () => {
    dir = tempDir('beonho-satellite-sim-');
    const port = await freePort();
    await writeFile(
      path.join(dir, 'office.yaml'),
      stringify({
        ...simulatorDefault,
        services,
        outputs: { board: { driver: 'sim' }, printer: { driver: 'sim' }, audio: { driver: 'none' } },
        mqtt: {
          broker: mainBroker(port, [await satelliteAccount('passport-2f', 'pw', [3])]),
        },
      }),
    );
    await writeFile(
      path.join(dir, 'satellite.yaml'),
      stringify({
        ...simulatorDefault,
        services,
        dispenser: undefined,
        mqtt: undefined,
        role: 'satellite',
        device: { id: 'passport-2f' },
        satellite: {
          main: { url: `mqtt://127.0.0.1:${port}`, password: 'pw', reconnectMinMs: 100, reconnectMaxMs: 500 },
          counters: [3],
          keyTimeoutMs: 10_000,
        },
        outputs: {
          board: { driver: 'sim', layout: 'portrait', counterDisplays: [{ counter: '3', driver: 'sim' }] },
          audio: { driver: 'none' },
        },
      }),
    );
    sim = new Simulator([
      '--config',
      path.join(dir, 'office.yaml'),
      '--satellite',
      path.join(dir, 'satellite.yaml'),
      '--data-dir',
      path.join(dir, 'data'),
      '--no-stdin',
    ]);
    url = await sim.url;
  }, 40_000);

  afterAll(async () => {
    await sim?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const state = async (): Promise<PageState> => (await (await fetch(`${url}api/state`)).json()) as PageState;
  const post = (p: string, body: unknown) =>
    fetch(`${url}${p}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('runs the satellite beside the main unit and shows it on the same page', async () => {
    await until('the satellite linked', async () => (await state()).satellites[0]?.link.online === true, 30_000);
    const s = await state();
    expect(s.satellites[0]).toMatchObject({ device: 'passport-2f', layout: { ...LAYOUT, voice: null } });
    await until(
      'its frames',
      async () => {
        const f = (await state()).satellites[0]!.files;
        return f.board > 0 && (f.counters['3'] ?? 0) > 0;
      },
      30_000,
    );
    const board = await fetch(`${url}files/satellites/passport-2f/board.png`);
    expect(board.status).toBe(200);
    expect(board.headers.get('content-type')).toBe('image/png');
    expect((await fetch(`${url}files/satellites/passport-2f/counter-3.png`)).status).toBe(200);
    expect((await fetch(`${url}files/satellites/nobody/board.png`)).status).toBe(404);

    // A key from the page goes through the satellite to the main unit, whose log shows the call.
    await post('api/press', { button: 'passport' });
    await until(
      'the ticket',
      async () => (await state()).snapshot?.services.find((x) => x.id === 'passport')?.waiting === 1,
    );
    expect((await post('api/satellite/key', { satellite: 'passport-2f', counter: '3', action: 'next' })).status).toBe(
      200,
    );
    await until('the answer', async () => (await state()).satellites[0]!.keys['3']?.text === '2001 호출', 30_000);
    // The satellite's terminal lines are marked as its own: the main unit's ticket is printed once.
    await until('its lines', () => sim.output.includes('[passport-2f] key 3 counter.next: 2001 호출'));
    await until('its copy of the ticket', () => /^\[passport-2f\] ticket 2001 \(passport\)/m.test(sim.output));
    expect(sim.output.match(/^ticket 2001 \(passport\)/gm)).toHaveLength(1);
    expect((await state()).snapshot?.counters.find((c) => c.id === '3')?.ticket).toBe('2001');
    const refused = await post('api/satellite/key', { satellite: 'passport-2f', counter: '1', action: 'next' });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('sim-unknown-counter');

    if (chromiumAvailable()) {
      const browser = await launchBrowser();
      try {
        const page = await browser.newPage();
        await page.goto(url);
        const card = page.locator('[data-satellite="passport-2f"]');
        await until('the card', async () => (await card.locator('[data-sat-link]').textContent()) === '본체 연결됨');
        await until(
          'its board frame',
          async () => (await card.locator('[data-sat-board]').getAttribute('data-v')) !== null,
        );
        // Its LAN cable, from the page: the card says so, a key is refused at once.
        await card.locator('[data-sat-cable]').click();
        await until('the cut shown', async () => (await card.locator('[data-sat-link]').textContent()) === 'LAN 끊김');
        await until('the link down', async () => (await state()).satellites[0]!.link.online === false);
        expect((await state()).log.filter((l) => l.text === 'passport-2f: LAN 케이블 뽑음')).toHaveLength(1);
        await card.locator('[data-sat-key="recall"]').click();
        await until(
          'the refusal on the page',
          async () => (await card.locator('[data-sat-result="3"]').textContent()) === '본체 연결 끊김 — 키 무시됨',
        );
        await screenshot(page, 'satellite-cut');
        await card.locator('[data-sat-cable]').click();
        await until(
          'linked again',
          async () => (await card.locator('[data-sat-link]').textContent()) === '본체 연결됨',
        );
      } finally {
        await browser.close();
      }
    }
  }, 60_000);
});
