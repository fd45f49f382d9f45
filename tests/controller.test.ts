// The controller's own duties, on the daemon the composition root builds: recovery reported in
// the device status, a failing feature does not take the queue down, the parts start in the
// documented order and stop in reverse, a part that fails to start leaves nothing running.
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keyRefusalForClerks, refusalForCitizens } from '../device/messages-ko.ts';
import type { ComponentHealth } from '../device/ports/health.ts';
import { nodeFs, type StoreFs } from '../device/store/fs.ts';
import { type BootOptions, bootConfig, bootDaemon } from './helpers/boot.ts';
import { Clock, testConfig } from './helpers/office.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'beonho-ctl-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The daemon's core with the day roll and the given test features (no board, printer, MQTT). */
function boot(clock: Clock, extra: BootOptions = {}) {
  return bootDaemon({
    config: testConfig({ store: { snapshotEvery: 10 } }),
    dataDir: dir,
    clock,
    features: ['dayRoll'],
    ...extra,
  });
}

const spy = (name: string, start: () => void) => ({ name, start: async () => start(), stop: async () => undefined });

describe('controller', () => {
  it('reports a recovered store in the device status', async () => {
    const clock = new Clock();
    const first = await boot(clock);
    for (let i = 0; i < 25; i++)
      await first.daemon.queue.execute({ type: 'ticket.issue', service: 'resident', channel: 'kiosk' });
    await first.stop();
    const stateDir = path.join(dir, 'state');
    const snaps = (await readdir(stateDir)).filter((f) => f.startsWith('snapshot-')).sort();
    await writeFile(path.join(stateDir, snaps.at(-1)!), '');
    const seen: ComponentHealth[] = [];
    const second = await boot(clock, {
      extraFeatures: (ctx) => [
        spy('spy', () =>
          ctx.bus.on('healthChanged', {}, ({ component, health }) => component === 'store' && seen.push(health)),
        ),
      ],
    });
    expect(second.daemon.queue.state().services.resident!.lastIssued).toBe(1025);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ lastError: 'state-recovered' });
    expect(String((seen[0]!.recovered as string[])[0])).toMatch(/empty file; fell back/);
    await second.stop();
  });

  it('a feature that throws on an event does not stop the queue or the other features', async () => {
    const heard: number[] = [];
    const b = await boot(new Clock(), {
      extraFeatures: (ctx) => [
        spy('broken', () =>
          ctx.bus.on('queueEvents', {}, () => {
            throw new Error('boom');
          }),
        ),
        spy('fine', () => ctx.bus.on('queueEvents', {}, ({ events }) => heard.push(events.length))),
      ],
    });
    const r = await b.daemon.queue.execute({ type: 'ticket.issue', service: 'resident', channel: 'kiosk' });
    expect(r.ok).toBe(true);
    expect(heard.length).toBe(1);
    await b.stop();
  });

  it('starts the parts in the documented order and stops them in reverse', async () => {
    const lines: Array<{ msg: string; extension?: string }> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(l));
        done();
      },
    });
    const b = await bootDaemon({
      config: bootConfig(),
      dataDir: dir,
      logger: pino({ level: 'debug' }, sink),
      extraFeatures: () => [spy('test-feature', () => undefined)],
    });
    await b.stop();
    const order = (msg: string) => lines.filter((l) => l.msg === msg).map((l) => l.extension);
    const started = ['day-roll', 'health', 'printer', 'board', 'audio', 'mqtt', 'test-feature'];
    started.push('dispenser', 'counters', 'systemd');
    expect(order('started')).toEqual(started);
    expect(order('stopped')).toEqual([...started].reverse());
  });

  it('a part that fails to start stops the ones before it and releases the data dir', async () => {
    const order: string[] = [];
    const part = (name: string, fail = false) => ({
      name,
      start: async () => {
        order.push(`start ${name}`);
        if (fail) throw new Error(`${name} cannot start`);
      },
      stop: async () => void order.push(`stop ${name}`),
    });
    await expect(
      boot(new Clock(), { features: [], extraFeatures: () => [part('a'), part('b', true), part('c')] }),
    ).rejects.toThrow('b cannot start');
    expect(order).toEqual(['start a', 'start b', 'stop b', 'stop a']);
    // the lock is gone: the next daemon on this data dir starts
    const again = await boot(new Clock());
    await again.stop();
  });

  it('a part whose stop hangs is named with a code, and the rest, the store and the lock still stop', async () => {
    const lines: Array<{ msg: string; code?: string; extension?: string }> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(l));
        done();
      },
    });
    const stopped: string[] = [];
    const part = (name: string, hang = false) => ({
      name,
      start: async () => undefined,
      // a printer whose USB write never returns, say
      stop: () => (hang ? new Promise<void>(() => undefined) : Promise.resolve(void stopped.push(name))),
    });
    const b = await boot(new Clock(), {
      features: ['dayRoll'],
      logger: pino({ level: 'debug' }, sink),
      stopBudgetMs: 50,
      extraFeatures: () => [part('before'), part('hung', true), part('after')],
    });
    await b.daemon.queue.execute({ type: 'ticket.issue', service: 'resident', channel: 'kiosk' });
    await b.stop();
    expect(stopped).toEqual(['after', 'before']);
    expect(lines.filter((l) => l.code === 'stop-timeout')).toEqual([
      expect.objectContaining({ extension: 'hung', msg: expect.stringMatching(/^hung did not stop in time/) }),
    ]);
    expect(lines.filter((l) => l.msg === 'stopped').map((l) => l.extension)).toContain('day-roll');
    // the store was checkpointed and the lock released: the next daemon starts where this one was
    const again = await boot(new Clock());
    expect(again.daemon.queue.state().services.resident!.lastIssued).toBe(1001);
    expect(again.daemon.store.stats().snapshotSeq).toBe(again.daemon.store.stats().durableSeq);
    await again.stop();
  });
  it('a journal that cannot be written is one fatal line with a code, and the daemon is told to stop', async () => {
    const lines: Array<{ msg: string; code?: string; level: number }> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(l));
        done();
      },
    });
    const card = { full: false };
    const full = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    // the journal's segments, written in place as on a Pi, on a card that fills up
    const storeFs: StoreFs = {
      ...nodeFs,
      async openPreallocated(file, bytes) {
        const { file: slot, zeroed } = await nodeFs.openPreallocated!(file, bytes);
        const writeAt: typeof slot.writeAt = (data, at) =>
          card.full ? Promise.reject(full()) : slot.writeAt(data, at);
        return { file: { ...slot, writeAt, datasync: () => slot.datasync(), close: () => slot.close() }, zeroed };
      },
    };
    const fatal: Error[] = [];
    const b = await boot(new Clock(), {
      storeFs,
      logger: pino({ level: 'info' }, sink),
      onFatal: (err) => void fatal.push(err),
    });
    card.full = true;
    for (let i = 0; i < 3; i++)
      await expect(
        b.daemon.queue.execute({ type: 'ticket.issue', service: 'resident', channel: 'kiosk' }),
      ).rejects.toThrow(/journal write failed: ENOSPC/);
    expect(fatal.length).toBeGreaterThan(0);
    expect(lines.filter((l) => l.level === 60)).toEqual([
      expect.objectContaining({
        code: 'journal-write-failed',
        msg: expect.stringMatching(/journal cannot be written/),
      }),
    ]);
    card.full = false;
    await b.stop();
  });
});

describe('dispenser refusals', () => {
  it('tell the citizen in Korean why no ticket came out, keeping the queue code', async () => {
    expect(refusalForCitizens('cutoff-passed', '여권', '17:30')).toBe('여권 발권이 마감되었습니다 (17:30 마감)');
    expect(refusalForCitizens('cap-reached', '여권')).toBe('오늘 여권 번호표가 모두 발급되었습니다');
    expect(refusalForCitizens('range-exhausted', '')).toBe('오늘 번호표가 모두 발급되었습니다');
    const refused: Array<{ code: string; message: string }> = [];
    const b = await boot(new Clock(), {
      extraFeatures: (ctx) => [spy('spy', () => ctx.bus.on('dispenserRefused', {}, (r) => refused.push(r)))],
    });
    await b.daemon.queue.execute({ type: 'day.close' });
    b.hw.buttons.press('resident');
    await b.settle();
    expect(refused).toEqual([
      { button: 'resident', code: 'day-closed', message: '지금은 업무 시간이 아닙니다 — 번호표를 발급하지 않습니다' },
    ]);
    await b.stop();
  });

  it('do not tell a citizen at the door in the morning that the day is over (autoOpen off, day not yet opened)', async () => {
    const clock = new Clock();
    const refused: Array<{ code: string; message: string }> = [];
    const b = await boot(clock, {
      config: testConfig({ store: { snapshotEvery: 10 }, policy: { autoOpen: false } }),
      extraFeatures: (ctx) => [spy('spy', () => ctx.bus.on('dispenserRefused', {}, (r) => refused.push(r)))],
    });
    await b.daemon.queue.execute({ type: 'day.open' });
    clock.minutes(9 * 60); // 18:00: central closes the day
    await b.daemon.queue.execute({ type: 'day.close' });
    clock.minutes(14 * 60 + 50); // 08:50 the next morning, before central opens the day
    b.hw.buttons.press('resident');
    await b.settle();
    expect(refused).toHaveLength(1);
    expect(refused[0]!.code).toBe('day-closed');
    expect(refused[0]!.message).not.toMatch(/끝났습니다/);
    await b.stop();
  });
});

describe('key refusals', () => {
  it("every refusal a counter's key can meet is told to the clerk in words, not as a code", () => {
    // the queue's codes of counter actions (a satellite's config behind the main unit's can name a
    // service the main unit no longer has: unknown-service)
    const codes = [
      'unknown-service',
      'unknown-counter',
      'unknown-ticket',
      'day-closed',
      'clock-behind',
      'counter-closed',
      'counter-idle',
      'no-waiting',
      'not-callable',
      'hold-expired',
      'invalid-transfer',
    ];
    for (const code of codes) expect(keyRefusalForClerks(code), code).not.toMatch(/처리 안 됨|[a-z]-[a-z]/);
    expect(keyRefusalForClerks('unknown-service')).toBe('없는 업무');
  });
});
