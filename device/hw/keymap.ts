// The counter keypad's layout and the little state machine behind it: digits are typed, Enter
// confirms, single keys act at once, and a few keys do something else when held. The default
// layout is printed in docs/hardware.md; config can override any key.
//
//   [NumLock] [  /  ] [  *  ] [  -  ]      /  transfer: / 3 Enter = to counter 3,
//   [  7  ]   [  8  ] [  9  ] [     ]                   / / 2 Enter = to the 2nd service
//   [  4  ]   [  5  ] [  6  ] [  +  ]      *  skip (no-show)      -  recall
//   [  1  ]   [  2  ] [  3  ] [     ]      +  next                digits Enter: call that number
//   [     0      ]    [  .  ] [Enter]      Enter alone: back from a pause
//                                          .  clear what was typed
//   hold 0 (2 s): pause (away)             hold . (2 s): close the counter
import type { Logger } from 'pino';
import type { KeyName, KeyRole } from '../config/hardware-schema.ts';
import type { KeypadAction, KeypadInputAction } from '../ports/keypad.ts';

export const defaultKeys: Partial<Record<KeyName, KeyRole>> = {
  '+': 'next',
  '-': 'recall',
  '*': 'skip',
  '/': 'transfer',
  enter: 'enter',
  '.': 'clear',
  backspace: 'clear',
  escape: 'clear',
  numlock: 'none',
};

export const defaultHoldKeys: Partial<Record<KeyName, KeyRole>> = { '0': 'pause', '.': 'close' };

const DIGITS: Partial<Record<KeyName, string>> = {
  '0': '0',
  '1': '1',
  '2': '2',
  '3': '3',
  '4': '4',
  '5': '5',
  '6': '6',
  '7': '7',
  '8': '8',
  '9': '9',
  '00': '00',
  '000': '000',
};

/** Longest number a clerk can type; longer input is cut off rather than sent. */
const MAX_DIGITS = 7;

export interface KeymapOptions {
  keys?: Partial<Record<KeyName, KeyRole>>;
  holdKeys?: Partial<Record<KeyName, KeyRole>>;
  holdMs: number;
  entryTimeoutMs: number;
  repeatGuardMs: number;
  now: () => number;
  logger: Logger;
  /** "/ / n Enter": the n-th service (1-based) -> its id, or undefined */
  serviceByIndex?: (n: number) => string | undefined;
  onAction: (action: KeypadInputAction) => void;
  /** a double press caught by the repeat guard */
  onRejected?: (action: KeypadAction) => void;
  /** a key with no role */
  onIgnored?: (usage: number, key: KeyName | undefined) => void;
}

type Mode = 'call' | 'to-counter' | 'to-service';

export class KeypadInterpreter {
  private readonly keys: Partial<Record<KeyName, KeyRole>>;
  private readonly holdKeys: Partial<Record<KeyName, KeyRole>>;
  private buffer = '';
  private mode: Mode = 'call';
  private lastKeyAt = Number.NEGATIVE_INFINITY;
  private last: { sig: string; at: number } | null = null;
  /** keys with a hold role, down now: a short press acts on release, a long one at holdMs */
  private readonly held = new Map<number, { key: KeyName; timer: ReturnType<typeof setTimeout> | null }>();

  constructor(private readonly o: KeymapOptions) {
    this.keys = { ...defaultKeys, ...o.keys };
    this.holdKeys = { ...defaultHoldKeys, ...o.holdKeys };
  }

  keyDown(usage: number, key: KeyName | undefined): void {
    if (key === undefined) {
      this.o.onIgnored?.(usage, key);
      return;
    }
    // Another key going down while a hold key is still short of holdMs: the clerk is typing fast
    // ("1 0 3 5" with the 0 not yet up when the 3 goes down), so the hold key was a press, and it
    // came first.
    for (const [u, e] of this.held) {
      if (!e.timer) continue;
      clearTimeout(e.timer);
      this.held.delete(u);
      this.tap(u, e.key);
    }
    const holdRole = this.holdKeys[key];
    if (holdRole && holdRole !== 'none') {
      const entry: { key: KeyName; timer: ReturnType<typeof setTimeout> | null } = { key, timer: null };
      entry.timer = setTimeout(() => {
        entry.timer = null;
        this.clearEntry();
        this.act(holdRole);
      }, this.o.holdMs);
      this.held.set(usage, entry);
      return;
    }
    this.tap(usage, key);
  }

  keyUp(usage: number): void {
    const entry = this.held.get(usage);
    if (!entry) return;
    this.held.delete(usage);
    // Released before holdMs: it was an ordinary press of that key.
    if (entry.timer) {
      clearTimeout(entry.timer);
      this.tap(usage, entry.key);
    }
  }

  /** The keypad went away: keys half-pressed and digits half-typed must not act later. */
  reset(): void {
    for (const e of this.held.values()) if (e.timer) clearTimeout(e.timer);
    this.held.clear();
    this.clearEntry();
  }

  private tap(usage: number, key: KeyName): void {
    const now = this.o.now();
    const sinceKey = now - this.lastKeyAt;
    // A wall clock stepped back makes the gap negative: the half-typed number is then of unknown
    // age, and forgetting it is the safe side.
    if (sinceKey < 0 || sinceKey > this.o.entryTimeoutMs) this.clearEntry();
    this.lastKeyAt = now;
    const digits = DIGITS[key];
    const role = this.keys[key];
    if (role === undefined && digits !== undefined) {
      this.buffer = (this.buffer + digits).slice(0, MAX_DIGITS);
      return;
    }
    if (role === undefined || role === 'none') {
      this.o.onIgnored?.(usage, key);
      return;
    }
    this.act(role);
  }

  private act(role: KeyRole): void {
    switch (role) {
      case 'clear':
        this.clearEntry();
        return;
      case 'transfer':
        // "/" then "/" again (nothing typed in between) switches from counter to service.
        this.mode = this.mode === 'to-counter' && this.buffer === '' ? 'to-service' : 'to-counter';
        this.buffer = '';
        return;
      case 'enter':
        this.enter();
        return;
      case 'none':
        return;
      default:
        this.clearEntry();
        this.emit({ type: role });
    }
  }

  private enter(): void {
    const { buffer, mode } = this;
    this.clearEntry();
    if (mode === 'call') {
      if (buffer === '') this.emit({ type: 'resume' });
      // the digits as typed: the queue finds the ticket they mean (its letters and zeros, and among
      // several the one this counter can call: docs/queue.md, counter.call)
      else this.emit({ type: 'call', number: buffer });
      return;
    }
    if (buffer === '') return;
    if (mode === 'to-counter') {
      this.emit({ type: 'transfer', toCounter: buffer });
      return;
    }
    const service = this.o.serviceByIndex?.(Number(buffer));
    if (service === undefined) {
      // told to the clerk as the queue's own refusal would be: silence reads as a key not heard
      this.o.logger.info({ index: buffer }, 'keypad transfer to an unknown service number');
      this.o.onAction({ type: 'mistake', code: 'unknown-service' });
      return;
    }
    this.emit({ type: 'transfer', toService: service });
  }

  private emit(action: KeypadAction): void {
    const now = this.o.now();
    const sig = JSON.stringify(action);
    const since = this.last ? now - this.last.at : Number.POSITIVE_INFINITY;
    // `since >= 0`: after the wall clock steps back, every repeat of an action (next, next, …)
    // would otherwise be taken for a double press until the clock caught up.
    if (this.last?.sig === sig && since >= 0 && since < this.o.repeatGuardMs) {
      this.o.onRejected?.(action);
      return;
    }
    this.last = { sig, at: now };
    this.o.onAction(action);
  }

  private clearEntry(): void {
    this.buffer = '';
    this.mode = 'call';
  }
}
