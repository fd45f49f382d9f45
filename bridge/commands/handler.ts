// Central's commands: validate, answer repeats from memory, map to a queue Action, execute, and
// build the result. One command at a time, so two copies of one id can never both reach the queue.
import type { Logger } from 'pino';
import type { Action } from '../../device/queue/actions.ts';
import type { QueueService } from '../../device/queue/service.ts';
import type { QueueEvent, TicketInfo } from '../../device/queue/types.ts';
import type { Command, CommandResult, CommandResultCode } from '../contract/types.ts';
import { officeTopics, parseTopic } from '../contract/topics.ts';
import { type CommandMemory, commandDigest } from './memory.ts';
import { validateCommand } from './validate.ts';

export interface CommandHandlerOptions {
  office: string;
  maxBytes: number;
  queue: Pick<QueueService, 'execute' | 'state'> & Partial<Pick<QueueService, 'journaledCommand'>>;
  memory: CommandMemory;
  logger: Logger;
  /** republish the snapshot and status (the `state.publish` command) */
  republish: () => void;
  /** ISO time for `at` */
  isoNow: () => string;
}

export class CommandHandler {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: CommandHandlerOptions) {}

  /** Handle one `cmd` message. Never throws: every outcome is a result. */
  handle(topic: string, payload: Buffer | Uint8Array, source: string): Promise<CommandResult> {
    const run = this.chain.then(() => this.handleOne(topic, payload, source));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async handleOne(topic: string, payload: Buffer | Uint8Array, source: string): Promise<CommandResult> {
    const log = this.o.logger;
    const parsed = parseTopic(topic);
    const v = validateCommand(payload, { office: this.o.office, maxBytes: this.o.maxBytes });
    if (parsed?.kind !== 'cmd' || parsed.office !== this.o.office) {
      const id = v.ok ? v.command.id : v.id;
      log.warn({ code: 'wrong-office', topic, cmdId: id, source }, 'command refused');
      return this.failure(
        id,
        v.ok ? v.command.type : v.type,
        'wrong-office',
        `this device only takes commands on ${officeTopics(this.o.office).cmd}`,
      );
    }
    if (!v.ok) {
      log.warn(
        { code: v.error.code, field: v.error.field, cmdId: v.id, type: v.type, source, bytes: payload.byteLength },
        'command refused',
      );
      return { v: 1, id: v.id, ...(v.type ? { type: v.type } : {}), ok: false, at: this.o.isoNow(), error: v.error };
    }
    const cmd = v.command;
    const { id: _id, v: _v, office: _office, ...asked } = cmd as Command & Record<string, unknown>;
    const digest = commandDigest(asked);
    const seen = this.o.memory.get(cmd.id);
    if (seen) {
      if (seen.digest !== digest) {
        // Central reused an id for a different command: still the first answer, but say so.
        log.warn(
          { code: 'cmd-id-reused', cmdId: cmd.id, type: cmd.type, source },
          'command id reused for a different command; first result returned',
        );
      } else {
        log.info({ cmdId: cmd.id, type: cmd.type, source }, 'repeated command id: first result returned');
      }
      return seen.result;
    }
    if (cmd.type === 'state.publish') {
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
    const journaled = this.o.queue.journaledCommand?.(cmd.id);
    if (journaled) {
      // Done before a power cut that came before its result was remembered: answer it again from
      // the journal instead of doing it twice (a second online ticket).
      const result = resultFromEvents(cmd.id, cmd.type, journaled, this.o.isoNow());
      await this.o.memory.remember(cmd.id, result, digest);
      log.info(
        { cmdId: cmd.id, type: cmd.type, source },
        'repeated command id found in the journal: first result returned',
      );
      return result;
    }
    let result: CommandResult;
    try {
      const r = await this.o.queue.execute(toAction(cmd), { cmdId: cmd.id });
      if (r.ok) {
        const last = r.events.at(-1);
        result = {
          v: 1,
          id: cmd.id,
          type: cmd.type,
          ok: true,
          at: this.o.isoNow(),
          result: { ...(r.ticket ? { ticket: r.ticket } : {}), seq: last ? last.seq : this.o.queue.state().seq },
        };
      } else {
        result = this.failure(cmd.id, cmd.type, r.error.code, r.error.message);
      }
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
    await this.o.memory.remember(cmd.id, result, digest);
    if (result.ok) log.info({ cmdId: cmd.id, type: cmd.type, source }, 'command done');
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

/** The result of a command from the events it caused, as execute() would have answered. */
export function resultFromEvents(id: string, type: Command['type'], events: QueueEvent[], at: string): CommandResult {
  const pick = (t: QueueEvent['type']) => events.find((e) => e.type === t) as { ticket?: TicketInfo } | undefined;
  const ticket =
    pick('ticket.issued')?.ticket ??
    [...events].reverse().find((e) => e.type === 'ticket.called')?.ticket ??
    (pick('ticket.recalled') ?? pick('ticket.transferred') ?? pick('ticket.cancelled'))?.ticket;
  const last = events.at(-1);
  return { v: 1, id, type, ok: true, at, result: { ...(ticket ? { ticket } : {}), seq: last ? last.seq : 0 } };
}

/** The command types map one to one to queue Actions; only the envelope fields are dropped. */
export function toAction(cmd: Exclude<Command, { type: 'state.publish' }>): Action {
  const { id: _id, v: _v, office: _office, ...action } = cmd as Command & Record<string, unknown>;
  return action as unknown as Action;
}
