// A satellite's counter keypads: each key becomes the contract's counter command (cmd) for the main
// unit, sent at once or refused at once, never kept to be sent later. What came of it is shown on
// that counter's display ("1035 호출", "대기 없음", "본체 연결 끊김 — 키 무시됨") and written to the log.
//
// One key per counter at a time: a second key while the first has no answer yet is refused (the
// clerk sees "이전 키 처리 중"), so two keys never race each other to the main unit. A key with no
// answer after `keyTimeoutMs`, or whose link dropped before the answer, is shown as unknown: the
// main unit may or may not have carried it out, and the display's number tells which.
import type { Logger } from 'pino';
import type { Command, CommandResult } from '../../bridge/contract/types.ts';
import type { Bus } from '../bus.ts';
import { keypadToAction } from '../counters.ts';
import type { SatelliteCode } from '../error-codes.ts';
import type { Extension } from '../extension.ts';
import type { KeypadInput, KeypadSource } from '../ports/keypad.ts';
import { keyRefusalForClerks } from '../messages-ko.ts';
import { keyProblemText, resultText } from './messages-ko.ts';
import { resultProblem } from './payloads.ts';

/** What the keys need of the link (./link.ts). */
export interface CommandLink {
  send(cmd: Command): Promise<void> | null;
  /** Drops the connection with a TCP reset: a command it still holds unsent is never delivered. */
  abort(reason: string): void;
}

export interface SatelliteKeysOptions {
  keypads: KeypadSource;
  link: CommandLink;
  bus: Bus;
  logger: Logger;
  /** the account's user name: every command id begins with "<username>:" */
  username: string;
  newId: () => string;
  timeoutMs: number;
  messageSeconds: number;
  /** a monotonic clock, ms (default performance.now) */
  monotonic?: () => number;
}

/** After the main unit answers `rate-limited`, keys are refused here for this long (the allowance
 * gives a counter a key each 10 s): the broker closes the connection at the fourth command past
 * the allowance, which would cut every counter of this unit off for a reconnection. */
export const RATE_HOLD_MS = 10_000;

/** What became of one key (the terminal prints it; tests read it). */
export interface KeyOutcome {
  counter: string;
  type: string;
  ok: boolean;
  /** the main unit's code, or the satellite's own (key-link-down, key-timeout, …) */
  code: string | null;
  text: string;
}

interface Pending {
  counter: string;
  type: string;
  timer: NodeJS.Timeout;
}

export class SatelliteKeys implements Extension {
  readonly name = 'keys';
  private readonly pending = new Map<string, Pending>();
  private readonly busy = new Set<string>();
  /** keys are refused here until then (monotonic ms): the main unit said we went past the allowance */
  private holdUntil = 0;
  private readonly outcomeFns: Array<(o: KeyOutcome) => void> = [];

  constructor(private readonly o: SatelliteKeysOptions) {}

  async start(): Promise<void> {
    await this.o.keypads.start((input) => this.press(input));
  }

  async stop(): Promise<void> {
    await this.o.keypads.stop();
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
    this.busy.clear();
  }

  onOutcome(fn: (o: KeyOutcome) => void): void {
    this.outcomeFns.push(fn);
  }

  /** keys sent and not answered yet */
  get inFlight(): number {
    return this.pending.size;
  }

  press(input: KeypadInput): void {
    const { counter, action: key } = input;
    if (key.type === 'mistake') {
      // refused as any key is while the counter's last one has no answer: told at once, its line
      // would be overwritten by that answer
      if (this.busy.has(counter)) {
        this.problem(counter, 'counter.transfer', 'key-busy');
        return;
      }
      // told here, as the main unit's refusal of the same would be: nothing to send
      this.o.logger.info({ counter, type: 'counter.transfer', code: key.code }, 'key refused');
      this.show({ counter, type: 'counter.transfer', ok: false, code: key.code, text: keyRefusalForClerks(key.code) });
      return;
    }
    const action = keypadToAction({ counter, action: key });
    if (this.busy.has(counter)) {
      this.problem(counter, action.type, 'key-busy');
      return;
    }
    if (this.now() < this.holdUntil) {
      this.o.logger.info({ counter, type: action.type, code: 'rate-limited' }, 'key not sent: past the allowance');
      this.show({
        counter,
        type: action.type,
        ok: false,
        code: 'rate-limited',
        text: keyRefusalForClerks('rate-limited'),
      });
      return;
    }
    const id = `${this.o.username}:${this.o.newId()}`;
    const cmd = { id, ...action } as Command;
    const sent = this.o.link.send(cmd);
    if (!sent) {
      this.problem(counter, action.type, 'key-link-down');
      return;
    }
    this.busy.add(counter);
    const timer = setTimeout(() => this.timedOut(id), this.o.timeoutMs);
    this.pending.set(id, { counter, type: action.type, timer });
    this.o.logger.info({ cmdId: id, type: action.type, counter }, 'key sent to the main unit');
    // A publish that fails is a link that dropped: linkDown() settles it.
    sent.catch(() => undefined);
  }

  /** A cmd/result from the main unit: ours when its id is pending. */
  result(r: CommandResult): void {
    if (typeof r.id !== 'string' || !this.pending.has(r.id)) return;
    // An answer that is not the contract's (ok without its result, a refusal without its code: a
    // damaged payload, another release) threw reading it, and ended the satellite. It says the
    // main unit answered, not what it did: shown as unknown, the display's number tells.
    if (resultProblem(r)) {
      this.settle(r.id, null, 'key-result-invalid');
      return;
    }
    this.settle(r.id, r, null);
  }

  /** No answer in time. A link that went silent (a cable pulled, a switch without power) still
   * looks up for seconds, and TCP keeps resending what it holds: the key's command would reach the
   * main unit once the path is back and be carried out long after the clerk was told it failed,
   * and the clerk's second key with it (a citizen called and passed over at once). So the link is
   * reset: what it had not delivered is dropped with it, and the other counters' keys still waiting
   * are told their link was lost. */
  private timedOut(id: string): void {
    if (!this.pending.has(id)) return;
    // The reset first, then the clerk is told: told first, a path that came back in between (the
    // cable plugged in again) could still carry the key to the main unit after it showed as failed.
    this.o.link.abort('key-timeout');
    if (this.pending.has(id)) this.settle(id, null, 'key-timeout');
  }

  /** The link dropped: every key still waiting may or may not have been carried out. */
  linkDown(): void {
    for (const id of [...this.pending.keys()]) this.settle(id, null, 'key-link-lost');
  }

  private settle(id: string, r: CommandResult | null, problem: SatelliteCode | null): void {
    const p = this.pending.get(id);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(id);
    this.busy.delete(p.counter);
    if (problem || !r) {
      this.problem(p.counter, p.type, problem ?? 'key-timeout', id);
      return;
    }
    const text = resultText(p.type, r);
    const code = r.ok ? null : r.error.code;
    if (code === 'rate-limited') this.holdUntil = this.now() + RATE_HOLD_MS;
    if (r.ok) this.o.logger.info({ cmdId: id, type: p.type, counter: p.counter }, 'key done');
    else this.o.logger.info({ cmdId: id, type: p.type, counter: p.counter, code }, 'key refused by the main unit');
    this.show({ counter: p.counter, type: p.type, ok: r.ok, code, text });
  }

  private now(): number {
    return (this.o.monotonic ?? performance.now.bind(performance))();
  }

  private problem(counter: string, type: string, code: SatelliteCode, cmdId?: string): void {
    // A key that was sent (it has an id) and got no answer may have been carried out: the log must
    // not tell the IT admin otherwise.
    const msg = cmdId ? 'key sent, outcome unknown (the counter display tells)' : 'key not carried out';
    this.o.logger.warn({ code, counter, type, ...(cmdId ? { cmdId } : {}) }, msg);
    this.show({ counter, type, ok: false, code, text: keyProblemText(code) });
  }

  private show(outcome: KeyOutcome): void {
    this.o.bus.emit('counterMessage', {
      counter: outcome.counter,
      message: outcome.text,
      seconds: this.o.messageSeconds,
    });
    for (const fn of this.outcomeFns) fn(outcome);
  }
}
