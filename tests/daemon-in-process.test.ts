// The whole daemon booted in this process by the composition root, every piece of hardware faked
// at its one seam (tests/helpers/boot.ts), as zigbee2mqtt's tests boot their controller: press the
// buttons and keys, then look at what was printed, shown, announced and published over MQTT.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildDaemon } from '../device/app.ts';
import { assertContract, connectInbox, logger } from './bridge-helpers.ts';
import { type Booted, bootConfig, bootDaemon } from './helpers/boot.ts';
import { DAY } from './helpers/office.ts';
import { debugLog } from './helpers/satellite-link.ts';

let booted: Booted | null = null;
afterEach(async () => {
  await booted?.stop();
  booted = null;
});

/** A central subscriber on the daemon's embedded broker, seeing everything of its office. */
async function central(b: Booted) {
  const port = b.daemon.parts.bridge!.parts.broker!.ports.tcp;
  const { client, inbox } = await connectInbox(`mqtt://127.0.0.1:${port}`, {
    username: 'central',
    password: 'central',
  });
  await client.subscribeAsync(`beonho/v1/${b.daemon.config.office.id}/#`, { qos: 1 });
  return { client, inbox };
}

describe('the daemon in-process over fake hardware', () => {
  it('a press prints the ticket, a key calls it to the board and the voice, and central sees both', async () => {
    const b = await bootDaemon();
    booted = b;
    const { client, inbox } = await central(b);
    try {
      expect(b.hw.buttons.press('resident')).toBe(true);
      await b.settle();
      expect(b.hw.printer.jobs.map((j) => [j.day, j.number])).toEqual([[DAY, '1001']]);
      expect(b.hw.printer.jobs[0]!.image.width).toBeGreaterThan(0);

      const framesBefore = b.hw.board.frames;
      expect(b.hw.keypads.input('1', { type: 'next' })).toBe(true);
      await b.settle();
      expect(b.daemon.parts.board!.model()?.highlight).toMatchObject({ ticket: '1001', counter: '1' });
      expect(b.hw.board.frames).toBeGreaterThan(framesBefore);
      expect(b.hw.board.last?.width).toBe(1920);
      expect(b.hw.speaker.played.length).toBeGreaterThan(0);

      const events = () => inbox.on('/events').map((e) => e.type);
      await inbox.until(() => events().includes('ticket.called'), 10_000, 'the call on MQTT');
      expect(events()).toEqual(expect.arrayContaining(['ticket.issued', 'ticket.called']));
      for (const m of inbox.messages) assertContract(m.topic, m.json);
      await inbox.until(
        () => inbox.on('/state').at(-1)?.seq === b.daemon.queue.state().seq,
        10_000,
        'the retained state caught up',
      );
      const state = inbox.on('/state').at(-1) as { counters: Array<Record<string, unknown>> };
      expect(state.counters[0]).toMatchObject({ id: '1', status: 'serving', ticket: '1001' });
    } finally {
      await client.endAsync();
    }
  });

  it("a refused key says why on that counter's display, as a satellite's does; a done key does not", async () => {
    const b = await bootDaemon();
    booted = b;
    // nobody waits: "next" changes nothing on the board, so the counter's display says so
    expect(b.hw.keypads.input('1', { type: 'next' })).toBe(true);
    await b.settle();
    expect(b.daemon.parts.board!.model()?.counterNotes).toEqual({ '1': '대기 없음' });
    // a key that did something leaves no note (its counter shows the called number)
    expect(b.hw.buttons.press('resident')).toBe(true);
    await b.settle();
    b.clock.t += 6_000; // the note's 5 s are over
    expect(b.hw.keypads.input('2', { type: 'next' })).toBe(true);
    await b.settle();
    expect(b.daemon.parts.board!.model()?.counterNotes).toBeUndefined();
  });

  it("a refused key is one log line, the queue's with its keypad, and a line on that counter's display", async () => {
    const { lines, logger: log } = debugLog();
    const b = await bootDaemon({ logger: log });
    booted = b;
    // nobody waiting: `next` is refused
    expect(b.hw.keypads.input('1', { type: 'next' })).toBe(true);
    await b.settle();
    const refusals = (lines as unknown as Array<Record<string, unknown>>).filter(
      (l) => typeof l.code === 'string' && (l.source === 'keypad:1' || l.counter === '1'),
    );
    expect(refusals).toEqual([expect.objectContaining({ source: 'keypad:1', action: 'counter.next' })]);
    expect(b.daemon.parts.board!.model()?.counterNotes?.['1']).toEqual(expect.any(String));
  });

  it("a service number the keypad has not (/ / 9 Enter) changes nothing and says so on that counter's display", async () => {
    const b = await bootDaemon();
    booted = b;
    b.hw.buttons.press('resident');
    b.hw.keypads.input('1', { type: 'next' });
    await b.settle();
    const before = b.daemon.queue.state();
    const refusals: unknown[] = [];
    b.daemon.bus.on('actionRefused', refusals, (r) => refusals.push(r));
    expect(b.hw.keypads.input('1', { type: 'mistake', code: 'unknown-service' })).toBe(true);
    await b.settle();
    expect(b.daemon.parts.board!.model()?.counterNotes).toEqual({ '1': '없는 업무' });
    expect(b.daemon.queue.state()).toEqual(before);
    // told on the bus as the queue's refusal is, for the simulator's log and terminal
    expect(refusals).toEqual([expect.objectContaining({ source: 'keypad:1', code: 'unknown-service' })]);
    b.daemon.bus.removeListeners(refusals);
  });

  it('paper out: the first press turned away is a warning, the rest of the outage a count, and again after a refill', async () => {
    const { lines, logger: log } = debugLog();
    const b = await bootDaemon({ logger: log });
    booted = b;
    const refused = () =>
      (lines as unknown as Array<Record<string, unknown>>)
        .filter((l) => l.msg === 'press refused: the ticket cannot be printed')
        .map((l) => [l.level, l.pressesRefused]);
    b.hw.printer.paper = 'out';
    for (let i = 0; i < 3; i++) {
      b.hw.buttons.press('resident');
      await b.settle();
    }
    expect(refused()).toEqual([
      [40, 1],
      [30, 2],
      [30, 3],
    ]);
    b.hw.printer.paper = 'ok';
    b.hw.buttons.press('resident');
    await b.settle();
    expect(b.hw.printer.jobs).toHaveLength(1);
    b.hw.printer.paper = 'out';
    b.hw.buttons.press('resident');
    await b.settle();
    expect(refused().at(-1)).toEqual([40, 1]);
    // refilled and out again with no press between: the printer's status ended the outage
    b.hw.printer.paper = 'ok';
    await b.daemon.parts.printer!.poll();
    b.hw.printer.paper = 'out';
    b.hw.buttons.press('resident');
    await b.settle();
    expect(refused().at(-1)).toEqual([40, 1]);
  });

  it('paper out at the printer: no number, the board says why, the device status reports it', async () => {
    const b = await bootDaemon();
    booted = b;
    const { client, inbox } = await central(b);
    try {
      b.hw.printer.paper = 'out';
      b.hw.buttons.press('resident');
      await b.settle();
      expect(b.hw.printer.jobs).toEqual([]);
      expect(b.daemon.queue.state().services.resident!.issuedToday).toBe(0);
      // the printer the dispenser asked is the one the printer feature reports: one printer
      expect(b.daemon.parts.board!.model()?.alert).toBe('용지 없음 — 직원에게 문의하세요');
      await inbox.until(
        () =>
          inbox.on('/status').some((s) => (s.hardware as { printer?: { ready?: boolean } })?.printer?.ready === false),
        10_000,
        'the printer in the device status',
      );
    } finally {
      await client.endAsync();
    }
  });

  it("uses the simulator's inputs only when none is configured or handed in", async () => {
    const b = await bootDaemon({ features: [] });
    booted = b;
    expect(b.daemon.parts.sim).toEqual({});
    const dataDir = await mkdtemp(path.join(tmpdir(), 'beonho-sim-inputs-'));
    const d = buildDaemon(bootConfig(), { dataDir, logger, features: [] });
    await d.start();
    try {
      expect(d.parts.sim.buttons?.kind).toBe('sim');
      expect(d.parts.sim.keypads?.kind).toBe('sim');
      await d.queue.execute({ type: 'day.open' });
      expect(d.parts.sim.buttons?.press('resident')).toBe(true);
      await d.parts.dispenser.idle();
      expect(d.queue.state().services.resident!.issuedToday).toBe(1);
    } finally {
      await d.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
