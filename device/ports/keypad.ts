// Port: the clerks' counter keypads. node-hid and the simulator implement it; each input arrives
// already bound to its counter and decoded to an action.
import type { ComponentHealth } from './health.ts';

export type KeypadAction =
  | { type: 'next' }
  | { type: 'recall' }
  | { type: 'skip' }
  | { type: 'call'; number: string }
  | { type: 'transfer'; toService?: string; toCounter?: string }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'close' };

/** A key sequence the keypad itself can tell is wrong (`/ / 9 Enter` with no 9th service): no queue
 * action, but the clerk is told on the counter's display, as for a refused key. */
export interface KeypadMistake {
  type: 'mistake';
  /** the queue's code for the same mistake, so the display's line is the same */
  code: 'unknown-service';
}

export type KeypadInputAction = KeypadAction | KeypadMistake;

export interface KeypadInput {
  counter: string;
  action: KeypadInputAction;
}

export interface KeypadSource {
  readonly kind: string;
  start(onInput: (input: KeypadInput) => void): Promise<void>;
  stop(): Promise<void>;
  /** one entry per configured keypad, keyed by counter id */
  health(): Record<string, ComponentHealth>;
}
