import { expect } from 'vitest';
import pino, { type Logger } from 'pino';
import { ulid } from 'ulid';
import type { Config } from '../device/config/schema.ts';
import type { Snapshot } from '../device/queue/snapshot-types.ts';
import { validatorFor } from '../bridge/contract/schemas.ts';
import type { TopicKind } from '../bridge/contract/topics.ts';
import { parseTopic } from '../bridge/contract/topics.ts';
import { bootDaemon } from './helpers/boot.ts';
import { Clock } from './helpers/office.ts';
import { tempDir } from '../bench/lib/mqtt-client.ts';
import { type Office as BenchOffice, MORNING, officeOf } from '../bench/lib/office.ts';

// The MQTT client helpers and the office's config live with the benchmarks, which use them too
// (bench/ never imports tests/).
export { connect, connectInbox, freePort, Inbox, tempDir, waitFor } from '../bench/lib/mqtt-client.ts';
export { MORNING, officeConfig as testConfig } from '../bench/lib/office.ts';

export const logger = pino({ level: process.env.BRIDGE_TEST_LOG ?? 'silent' });

/** The benchmarks' office, on a clock the test moves. */
export interface Office extends BenchOffice {
  clock: { t: number };
}

/** The daemon (device/app.ts) with its store in dataDir and only the MQTT bridge among its
 * features: no day roll (the tests open the day themselves), no board, printer or voice. */
export async function startOffice(config: Config, dataDir = tempDir(), log: Logger = logger): Promise<Office> {
  const clock = new Clock(MORNING);
  const { daemon } = await bootDaemon({
    config,
    dataDir,
    clock,
    logger: log,
    newId: () => ulid(),
    features: ['mqtt'],
    onFatal: (err) => {
      throw err;
    },
  });
  return { ...officeOf(config, daemon, dataDir), clock };
}

/** Every payload the device publishes must validate against the shipped schema of its topic. */
export function assertContract(topic: string, payload: unknown): void {
  const t = parseTopic(topic);
  if (!t) throw new Error(`not a contract topic: ${topic}`);
  const v = validatorFor(t.kind as TopicKind);
  if (!v(payload))
    throw new Error(`${topic} payload breaks the contract: ${JSON.stringify(v.errors)}\n${JSON.stringify(payload)}`);
}

// ---- the retained state after each kind of action, shared by the broker and mosquitto suites ----

/** Every command type once, on a fresh day, with a check of its visible effect. */
export const ACTION_STEPS: Array<[Record<string, unknown>, (s: Snapshot, prev: Snapshot) => void]> = [
  [{ type: 'day.open' }, (s) => expect(s.open).toBe(true)],
  [
    { type: 'ticket.issue', service: 'resident', channel: 'online', ref: 'r-1' },
    (s) => expect(s.services[0]!.waiting).toBe(1),
  ],
  [
    { type: 'ticket.issue', service: 'resident', channel: 'kiosk' },
    (s) => expect(s.services[0]!.lastIssued).toBe('1002'),
  ],
  [
    { type: 'ticket.issue', service: 'resident', channel: 'kiosk', priority: true },
    (s) => expect(s.services[0]!.waiting).toBe(3),
  ],
  [
    { type: 'counter.next', counter: '1' },
    (s) => expect(s.counters[0]).toMatchObject({ status: 'serving', ticket: '1003' }),
  ],
  [{ type: 'counter.recall', counter: '1' }, (s) => expect(s.recentCalls[0]!.ticket).toBe('1003')],
  [{ type: 'counter.skip', counter: '1' }, (s) => expect(s.counters[0]!.ticket).not.toBe('1003')],
  [{ type: 'counter.call', counter: '1', number: '1003' }, (s) => expect(s.counters[0]!.ticket).toBe('1003')],
  [
    { type: 'counter.transfer', counter: '1', toService: 'seal' },
    (s) => expect(s.counters[0]!.ticket).not.toBe('1003'),
  ],
  [{ type: 'counter.pause', counter: '2' }, (s) => expect(s.counters[1]!.status).toBe('paused')],
  [{ type: 'counter.resume', counter: '2' }, (s) => expect(s.counters[1]!.status).toBe('idle')],
  [{ type: 'counter.close', counter: '4' }, (s) => expect(s.counters[3]!.status).toBe('closed')],
  [
    { type: 'service.accepting', service: 'passport', accepting: false },
    (s) => expect(s.services[1]!.accepting).toBe(false),
  ],
  [{ type: 'notice.set', text: '점심시간 12:00-13:00' }, (s) => expect(s.notice).toBe('점심시간 12:00-13:00')],
  [
    { type: 'ticket.cancel', number: '1002' },
    (s, prev) => expect(s.services[0]!.waiting).toBe(prev.services[0]!.waiting - 1),
  ],
  [{ type: 'day.close' }, (s) => expect(s.open).toBe(false)],
];

/** Send each step as a command; after each, the retained state equals the queue's snapshot. */
export async function checkRetainedAfterEachAction(
  office: Office,
  command: (body: Record<string, unknown>) => Promise<Record<string, unknown>>,
  retained: () => Promise<Record<string, unknown>>,
): Promise<void> {
  let prev = await retained();
  for (const [body, check] of ACTION_STEPS) {
    const r = await command(body);
    expect(r, JSON.stringify(body)).toMatchObject({ ok: true });
    const seq = office.queue.state().seq;
    let s = await retained();
    // the publish is asynchronous; the retained copy catches up within a moment
    for (let i = 0; i < 50 && s.seq !== seq; i++) {
      await new Promise((res) => setTimeout(res, 20));
      s = await retained();
    }
    expect(s.seq, JSON.stringify(body)).toBe(seq);
    expect(s).toEqual(JSON.parse(JSON.stringify({ ...office.queue.snapshot(), at: s.at })));
    check(s as unknown as Snapshot, prev as unknown as Snapshot);
    prev = s;
  }
}
