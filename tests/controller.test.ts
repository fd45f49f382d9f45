// The controller's own duties: recovery reported in the device status, a failing feature does not
// take the queue down, and features stop in reverse order.
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Controller } from '../device/controller.ts';
import type { ComponentHealth } from '../device/ports/health.ts';
import { Clock, testConfig } from './helpers/office.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'beonho-ctl-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function controller(clock: Clock, extra: Partial<ConstructorParameters<typeof Controller>[0]> = {}) {
  return new Controller({
    config: testConfig({ store: { snapshotEvery: 10 } }),
    dataDir: dir,
    logger: pino({ level: 'silent' }),
    now: clock.now,
    ...extra,
  });
}

describe('controller', () => {
  it('reports a recovered store in the device status', async () => {
    const clock = new Clock();
    const first = controller(clock);
    await first.start();
    for (let i = 0; i < 25; i++)
      await first.queue.execute({ type: 'ticket.issue', service: 'resident', channel: 'kiosk' });
    await first.stop();
    const stateDir = path.join(dir, 'state');
    const snaps = (await readdir(stateDir)).filter((f) => f.startsWith('snapshot-')).sort();
    await writeFile(path.join(stateDir, snaps.at(-1)!), '');
    const seen: ComponentHealth[] = [];
    const second = controller(clock, {
      extensions: (ctx) => [
        {
          name: 'spy',
          start: async () =>
            ctx.bus.on('healthChanged', {}, ({ component, health }) => component === 'store' && seen.push(health)),
          stop: async () => undefined,
        },
      ],
    });
    await second.start();
    expect(second.queue.state().services.resident!.lastIssued).toBe(1025);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ lastError: 'state-recovered' });
    expect(String((seen[0]!.recovered as string[])[0])).toMatch(/empty file; fell back/);
    await second.stop();
  });

  it('a feature that throws on an event does not stop the queue or the other features', async () => {
    const clock = new Clock();
    const heard: number[] = [];
    const c = controller(clock, {
      extensions: (ctx) => [
        {
          name: 'broken',
          start: async () =>
            ctx.bus.on('queueEvents', {}, () => {
              throw new Error('boom');
            }),
          stop: async () => undefined,
        },
        {
          name: 'fine',
          start: async () => ctx.bus.on('queueEvents', {}, ({ events }) => heard.push(events.length)),
          stop: async () => undefined,
        },
      ],
    });
    await c.start();
    const r = await c.queue.execute({ type: 'ticket.issue', service: 'resident', channel: 'kiosk' });
    expect(r.ok).toBe(true);
    expect(heard.length).toBe(1);
    await c.stop();
  });

  it('stops features in reverse order of start', async () => {
    const order: string[] = [];
    const ext = (name: string) => ({
      name,
      start: async () => void order.push(`start ${name}`),
      stop: async () => void order.push(`stop ${name}`),
    });
    const c = controller(new Clock(), { extensions: () => [ext('a'), ext('b')], lastExtensions: () => [ext('z')] });
    await c.start();
    await c.stop();
    expect(order).toEqual(['start a', 'start b', 'start z', 'stop z', 'stop b', 'stop a']);
  });
});

describe('dispenser refusals', () => {
  it('tell the citizen in Korean why no ticket came out, keeping the queue code', async () => {
    const { refusalForCitizens } = await import('../device/dispenser.ts');
    expect(refusalForCitizens('cutoff-passed', '여권', '17:30')).toBe('여권 발권이 마감되었습니다 (17:30 마감)');
    expect(refusalForCitizens('cap-reached', '여권')).toBe('여권 오늘 발급할 수 있는 번호표가 모두 나갔습니다');
    const clock = new Clock();
    const refused: Array<{ code: string; message: string }> = [];
    const c = controller(clock, {
      extensions: (ctx) => [
        {
          name: 'spy',
          start: async () => ctx.bus.on('dispenserRefused', {}, (r) => refused.push(r)),
          stop: async () => undefined,
        },
      ],
    });
    await c.start();
    await c.queue.execute({ type: 'day.close' });
    c.sim.buttons!.press('resident');
    await c.dispenser.idle();
    expect(refused).toEqual([
      { button: 'resident', code: 'day-closed', message: '오늘 업무가 끝났습니다 — 번호표를 발급하지 않습니다' },
    ]);
    await c.stop();
  });
});
