// Central's commands: validate, answer repeats from memory, map to a queue Action, execute, and
// build the result. handle() resolves once the result is durable: only then may the link
// acknowledge the command (PUBACK), so a command the broker counts as delivered is never lost to a
// power cut (docs/mqtt.md, "Idempotency").
import { clip } from '../log-names.ts';
import { RateLimitedLog } from '../../device/util/rate-limited-log.ts';
import type { Logger } from 'pino';
import type { Action } from '../../device/queue/actions.ts';
import type { QueueService } from '../../device/queue/service.ts';
import { doneRecord } from '../../device/store/command-log.ts';
import type { Command, CommandResult, CommandResultCode } from '../contract/types.ts';
import { officeTopics, parseTopic } from '../contract/topics.ts';
import { type CommandMemory, commandDigest, resultOf } from './memory.ts';
import { validateCommand } from './validate.ts';

export interface CommandHandlerOptions {
  office: string;
  maxBytes: number;
  queue: Pick<QueueService, 'execute' | 'state'>;
  memory: CommandMemory;
  logger: Logger;
  /** republish the snapshot and status (the `state.publish` command) */
  republish: () => void;
  /** ISO time for `at` */
  isoNow: () => string;
  /** command ids remembered a day per sender (mqtt.commands.idsPerDay); past them a new id is
   * refused with `command-memory-full` */
  idsPerDay?: number;
  /** told when a sender's ids of the day are used up (the device status shows it) */
  onMemoryFull?: (origin: string) => void;
}

/** How a command arrived. */
export interface Delivery {
  /** the link, for the log: 'broker', 'uplink' */
  source: string;
  /** who sent it, whose ids of the day are counted: the link, and on the office's broker the
   * account ('broker:central'); the link when absent */
  origin?: string;
  /** the broker delivered a retained copy (a stored message, not a command sent now) */
  retained?: boolean;
}

export class CommandHandler {
  /** commands being carried out, by id: a copy that arrives meanwhile waits for the first's result */
  private readonly inFlight = new Map<string, Promise<CommandResult>>();
  /** new ids being carried out per sender: counted against its ids of the day until remembered */
  private readonly pending = new Map<string, number>();

  /** refusals and repeated ids a client can send at will: summed up, not one line each (a
   * satellite's flood of invalid commands once wrote 900 KiB of log a second) */
  private readonly refusals: RateLimitedLog;

  constructor(private readonly o: CommandHandlerOptions) {
    this.refusals = new RateLimitedLog(o.logger);
  }

  /** The first result of an id: remembered, or (awaited) of its copy being carried out now; else
   * undefined. A command the broker refuses (an allowance, a counter not bound) gets this rather
   * than its refusal when its id has one, so two copies are answered alike. */
  firstResult(id: string, type?: string): Promise<CommandResult> | CommandResult | undefined {
    return this.inFlight.get(id) ?? this.o.memory.get(id, type)?.result;
  }

  /** Writes the refusals' pending summaries (at stop). */
  close(): void {
    this.refusals.close();
  }

  /** Handle one `cmd` message. Never throws: every outcome is a result, and it is durable (or
   * needs no durability: a refusal by validation, `internal-error`) when the promise resolves.
   * Commands are decided in the order of the calls (synchronously, up to the queue), and the
   * writes of concurrent ones share fsyncs. */
  handle(topic: string, payload: Buffer | Uint8Array, delivery: Delivery | string): Promise<CommandResult> {
    const how = typeof delivery === 'string' ? { source: delivery } : delivery;
    return this.handleOne(topic, payload, how).catch((err: unknown) => {
      this.o.logger.error({ code: 'internal-error', err: String(err) }, 'command failed');
      return this.failure(null, undefined, 'internal-error', 'the device could not carry out the command; retry later');
    });
  }

  private async handleOne(topic: string, payload: Buffer | Uint8Array, delivery: Delivery): Promise<CommandResult> {
    const log = this.o.logger;
    const { source } = delivery;
    const parsed = parseTopic(topic);
    const v = validateCommand(payload, { office: this.o.office, maxBytes: this.o.maxBytes });
    const id = v.ok ? v.command.id : v.id;
    const type = v.ok ? v.command.type : v.type;
    if (parsed?.kind !== 'cmd' || parsed.office !== this.o.office) {
      this.refusals.warn('wrong-office', { topic: clip(topic, 200), cmdId: id, source }, 'command refused');
      return this.failure(
        id,
        type,
        'wrong-office',
        `this device only takes commands on ${officeTopics(this.o.office).cmd}`,
      );
    }
    if (delivery.retained) {
      // A retained command is a stored copy the broker hands every new subscriber: executing it
      // would run it again on each reconnect. An id already answered gets its first answer.
      const seen = v.ok ? this.o.memory.get(v.command.id, v.command.type) : undefined;
      if (seen) {
        log.info({ cmdId: id, type, source }, 'retained copy of an answered command: first result returned');
        return seen.result;
      }
      this.refusals.warn('retained-command', { cmdId: id, type, source }, 'retained command refused, not executed');
      return this.failure(
        id,
        type,
        'retained-command',
        'a retained command is never carried out; publish commands with retain=false and clear the retained one',
      );
    }
    if (!v.ok) {
      this.refusals.warn(
        v.error.code,
        { field: v.error.field, cmdId: v.id, type: v.type, source, bytes: payload.byteLength },
        'command refused',
      );
      return { v: 1, id: v.id, ...(v.type ? { type: v.type } : {}), ok: false, at: this.o.isoNow(), error: v.error };
    }
    const cmd = v.command;
    const { id: _id, v: _v, office: _office, ...asked } = cmd as Command & Record<string, unknown>;
    const digest = commandDigest(asked);
    const running = this.inFlight.get(cmd.id);
    const seen = running ? null : this.o.memory.get(cmd.id, cmd.type);
    if (running || seen) {
      const first = seen ? seen.result : await running!;
      // Summed up like the refusals: a repeat costs a client nothing (no queue, no disk), and a
      // central account on the office's broker has no command allowance: a line per repeat was as
      // many lines as the broker takes packets.
      if (seen && seen.digest !== null && seen.digest !== digest) {
        // Central reused an id for a different command: still the first answer, but say so.
        this.refusals.warn(
          'cmd-id-reused',
          { cmdId: cmd.id, type: cmd.type, source },
          'command id reused for a different command; first result returned',
        );
      } else {
        this.refusals.info(
          'cmd-repeated',
          { cmdId: cmd.id, type: cmd.type, source },
          'repeated command id: first result returned',
        );
      }
      return first;
    }
    if (cmd.type === 'state.publish') {
      // Changes nothing and is not remembered: a repeat simply publishes again.
      this.o.republish();
      log.info({ cmdId: cmd.id, type: cmd.type, source }, 'command done');
      return {
        v: 1,
        id: cmd.id,
        type: cmd.type,
        ok: true,
        at: this.o.isoNow(),
        result: { seq: this.o.queue.state().seq },
      };
    }
    const origin = delivery.origin ?? source;
    const max = this.o.idsPerDay;
    const pending = this.pending.get(origin) ?? 0;
    if (max !== undefined && this.o.memory.countToday(origin) + pending >= max) {
      // Nothing already remembered is dropped (a retry of any answered id still gets its first
      // result); a new id is not carried out and not remembered, so it costs no memory and no disk.
      this.refusals.warn(
        'command-memory-full',
        { cmdId: cmd.id, type: cmd.type, source, sender: clip(origin), idsPerDay: max },
        'command refused: this sender has used its command ids of the day (mqtt.commands.idsPerDay)',
      );
      this.o.onMemoryFull?.(origin);
      return this.failure(
        cmd.id,
        cmd.type,
        'command-memory-full',
        `the device remembers at most ${max} command ids a day from this sender: not carried out; ids already answered still get their result`,
      );
    }
    this.pending.set(origin, pending + 1);
    const run = this.execute(cmd, digest, source, origin);
    this.inFlight.set(cmd.id, run);
    try {
      return await run;
    } finally {
      this.inFlight.delete(cmd.id);
      const left = (this.pending.get(origin) ?? 1) - 1;
      if (left > 0) this.pending.set(origin, left);
      else this.pending.delete(origin);
    }
  }

  private async execute(
    cmd: Exclude<Command, { type: 'state.publish' }>,
    digest: string,
    source: string,
    origin: string,
  ): Promise<CommandResult> {
    const log = this.o.logger;
    let result: CommandResult;
    try {
      const r = await this.o.queue.execute(toAction(cmd), { cmdId: cmd.id, cmdDigest: digest, source, origin });
      if (r.ok && r.events.length > 0) {
        // Durable already: the journal record of its events carries the command, and the store
        // put it in the command log. The result is built the way every repeat will rebuild it.
        const done = resultOf(doneRecord({ id: cmd.id, digest, type: cmd.type, events: r.events }));
        log.info({ cmdId: cmd.id, type: cmd.type, source }, 'command done');
        return done;
      }
      result = r.ok
        ? {
            v: 1,
            id: cmd.id,
            type: cmd.type,
            ok: true,
            at: this.o.isoNow(),
            result: { ...(r.ticket ? { ticket: r.ticket } : {}), seq: this.o.queue.state().seq },
          }
        : this.failure(cmd.id, cmd.type, r.error.code, r.error.message);
    } catch (err) {
      // The queue promises not to throw for a refused action; a throw is a fault (disk, bug). Not
      // remembered: the command may be retried once the fault is fixed.
      log.error({ code: 'internal-error', cmdId: cmd.id, type: cmd.type, err }, 'command failed');
      return this.failure(
        cmd.id,
        cmd.type,
        'internal-error',
        'the device could not carry out the command; retry later',
      );
    }
    try {
      // Changed nothing, so no journal record holds it: its answer is written and fsync'd here.
      await this.o.memory.remember(cmd.id, result, digest, origin);
    } catch (err) {
      log.error(
        { code: 'internal-error', cmdId: cmd.id, type: cmd.type, err },
        'command result could not be remembered',
      );
      return this.failure(cmd.id, cmd.type, 'internal-error', 'the device could not record the result; retry later');
    }
    if (result.ok) log.info({ cmdId: cmd.id, type: cmd.type, source }, 'command done, nothing changed');
    else log.info({ cmdId: cmd.id, type: cmd.type, code: result.error.code, source }, 'command refused by the queue');
    return result;
  }

  private failure(
    id: string | null,
    type: string | undefined,
    code: CommandResultCode,
    message: string,
  ): CommandResult {
    return { v: 1, id, ...(type ? { type } : {}), ok: false, at: this.o.isoNow(), error: { code, message } };
  }
}

/** The command types map one to one to queue Actions; only the envelope fields are dropped. */
export function toAction(cmd: Exclude<Command, { type: 'state.publish' }>): Action {
  const { id: _id, v: _v, office: _office, ...action } = cmd as Command & Record<string, unknown>;
  return action as unknown as Action;
}
