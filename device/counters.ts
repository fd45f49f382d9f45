// The counters' keypads: each decoded key action becomes a queue action for that counter.
import type { Logger } from 'pino';
import type { Bus } from './bus.ts';
import type { Extension } from './extension.ts';
import { keyRefusalForClerks } from './messages-ko.ts';
import type { KeypadAction, KeypadSource } from './ports/keypad.ts';
import type { Action } from './queue/actions.ts';
import type { QueueService } from './queue/service.ts';

export function keypadToAction(input: { counter: string; action: KeypadAction }): Action {
  const counter = input.counter;
  const a: KeypadAction = input.action;
  switch (a.type) {
    case 'next':
      return { type: 'counter.next', counter };
    case 'recall':
      return { type: 'counter.recall', counter };
    case 'skip':
      return { type: 'counter.skip', counter };
    case 'call':
      return { type: 'counter.call', counter, number: a.number };
    case 'transfer': {
      const t: Action = { type: 'counter.transfer', counter };
      if (a.toService !== undefined) t.toService = a.toService;
      if (a.toCounter !== undefined) t.toCounter = a.toCounter;
      return t;
    }
    case 'pause':
      return { type: 'counter.pause', counter };
    case 'resume':
      return { type: 'counter.resume', counter };
    case 'close':
      return { type: 'counter.close', counter };
  }
}

export interface CountersOptions {
  queue: QueueService;
  keypads: KeypadSource;
  logger: Logger;
  /** where a refused key is told to the counter's display (as a satellite's keys are) */
  bus?: Bus;
}

/** How long a refused key's line stays on the counter's display (a satellite's default too). */
export const KEY_MESSAGE_SECONDS = 5;

export class Counters implements Extension {
  readonly name = 'counters';
  private chain: Promise<unknown> = Promise.resolve();

  private readonly queue: QueueService;
  private readonly keypads: KeypadSource;
  private readonly logger: Logger;
  private readonly bus: Bus | null;

  constructor(opts: CountersOptions) {
    this.queue = opts.queue;
    this.keypads = opts.keypads;
    this.logger = opts.logger;
    this.bus = opts.bus ?? null;
  }

  async start(): Promise<void> {
    await this.keypads.start((input) => {
      const { counter, action: key } = input;
      // Nothing changes on the board for a refused key or a mistyped one: without a word the clerk
      // cannot tell either from a key that was not heard.
      // The queue logs its own refusals (with the action's source): only the line is added here.
      const refused = (code: string): void => {
        this.bus?.emit('counterMessage', { counter, message: keyRefusalForClerks(code), seconds: KEY_MESSAGE_SECONDS });
      };
      if (key.type === 'mistake') {
        // in turn with the keys before it, so the line is not overwritten by an older key's; on the
        // bus as the queue's own refusal of the same transfer would be (the simulator's log shows it)
        this.chain = this.chain.then(() => {
          this.logger.info({ counter, action: 'counter.transfer', code: key.code }, 'key refused');
          refused(key.code);
          this.bus?.emit('actionRefused', {
            action: 'counter.transfer',
            source: `keypad:${counter}`,
            code: key.code,
            message: 'the keypad has no service of that number',
          });
        });
        return;
      }
      const action = keypadToAction({ counter, action: key });
      this.chain = this.chain
        .then(async () => {
          const r = await this.queue.execute(action, { source: `keypad:${counter}` });
          if (!r.ok) refused(r.error.code);
        })
        .catch((err) => this.logger.error({ err, counter: input.counter }, 'keypad action failed'));
    });
  }

  async stop(): Promise<void> {
    await this.keypads.stop();
    await this.chain;
  }

  idle(): Promise<unknown> {
    return this.chain;
  }
}
