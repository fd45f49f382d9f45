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

export interface KeypadInput {
  counter: string;
  action: KeypadAction;
}

export interface KeypadSource {
  readonly kind: string;
  start(onInput: (input: KeypadInput) => void): Promise<void>;
  stop(): Promise<void>;
  /** one entry per configured keypad, keyed by counter id */
  health(): Record<string, ComponentHealth>;
}
