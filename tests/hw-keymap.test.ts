import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { KeyName, KeyRole } from '../device/config/hardware-schema.ts';
import { keyName } from '../device/hw/hid-report.ts';
import { KeypadInterpreter } from '../device/hw/keymap.ts';
import type { KeypadAction, KeypadInputAction } from '../device/ports/keypad.ts';
import { captureLogger } from './hw-fakes.ts';

let t = 0;
beforeEach(() => {
  vi.useFakeTimers();
  t = 0;
});
afterEach(() => vi.useRealTimers());

const USAGE: Record<string, number> = {
  '0': 0x62,
  '1': 0x59,
  '2': 0x5a,
  '3': 0x5b,
  '4': 0x5c,
  '5': 0x5d,
  '6': 0x5e,
  '7': 0x5f,
  '8': 0x60,
  '9': 0x61,
  '+': 0x57,
  '-': 0x56,
  '*': 0x55,
  '/': 0x54,
  '.': 0x63,
  enter: 0x58,
  numlock: 0x53,
  f1: 0x3a,
};

function pad(
  overrides: { keys?: Partial<Record<KeyName, KeyRole>>; holdKeys?: Partial<Record<KeyName, KeyRole>> } = {},
) {
  const actions: KeypadInputAction[] = [];
  const rejected: KeypadAction[] = [];
  const ignored: number[] = [];
  const k = new KeypadInterpreter({
    ...overrides,
    holdMs: 2000,
    entryTimeoutMs: 10_000,
    repeatGuardMs: 1000,
    now: () => t,
    logger: captureLogger().logger,
    serviceByIndex: (n) => ['resident', 'certificate', 'welfare'][n - 1],
    onAction: (a) => actions.push(a),
    onRejected: (a) => rejected.push(a),
    onIgnored: (u) => ignored.push(u),
  });
  /** taps keys: down then up, `gap` ms apart */
  const type = (keys: string, gap = 150): void => {
    for (const key of keys.split(' ')) {
      const u = USAGE[key]!;
      k.keyDown(u, keyName(u));
      vi.advanceTimersByTime(50);
      k.keyUp(u);
      t += gap;
      vi.advanceTimersByTime(gap - 50);
    }
  };
  return { k, actions, rejected, ignored, type };
}

describe('the default keypad layout', () => {
  it('+ next, - recall, * skip', () => {
    const p = pad();
    p.type('+ - * +', 1500);
    expect(p.actions).toEqual([{ type: 'next' }, { type: 'recall' }, { type: 'skip' }, { type: 'next' }]);
  });

  it('digits then Enter call that number', () => {
    const p = pad();
    p.type('1 0 3 5 enter');
    expect(p.actions).toEqual([{ type: 'call', number: '1035' }]);
  });

  it('a short press of 0 (the pause key) is still a digit', () => {
    const p = pad();
    p.type('1 0 0 9 enter');
    expect(p.actions).toEqual([{ type: 'call', number: '1009' }]);
  });

  it('typed fast, a 0 still down when the next digit goes down keeps its place (1035, not 1305)', () => {
    const p = pad();
    const down = (key: string): void => p.k.keyDown(USAGE[key]!, keyName(USAGE[key]!));
    const up = (key: string): void => p.k.keyUp(USAGE[key]!);
    down('1');
    up('1');
    down('0');
    down('3'); // rollover: the 0 is not up yet
    up('0');
    up('3');
    down('5');
    up('5');
    down('enter');
    up('enter');
    vi.advanceTimersByTime(3000); // no hold fires for the 0 afterwards
    expect(p.actions).toEqual([{ type: 'call', number: '1035' }]);
  });

  it('/ counter Enter transfers to that counter; / / n Enter to the n-th service', () => {
    const p = pad();
    p.type('/ 3 enter');
    p.type('/ / 2 enter');
    expect(p.actions).toEqual([
      { type: 'transfer', toCounter: '3' },
      { type: 'transfer', toService: 'certificate' },
    ]);
  });

  it('a transfer to a service number that does not exist is no transfer, but a mistake the clerk is told of', () => {
    const p = pad();
    p.type('/ / 9 enter');
    expect(p.actions).toEqual([{ type: 'mistake', code: 'unknown-service' }]);
    p.type('/ / 0 enter');
    expect(p.actions).toHaveLength(2);
    expect(p.actions.every((a) => a.type === 'mistake')).toBe(true);
  });

  it('holding 0 pauses, Enter alone resumes', () => {
    const p = pad();
    p.k.keyDown(USAGE['0']!, '0');
    vi.advanceTimersByTime(1999);
    expect(p.actions).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(p.actions).toEqual([{ type: 'pause' }]);
    p.k.keyUp(USAGE['0']!); // the release after a hold is not a digit
    t += 3000;
    p.type('enter');
    expect(p.actions).toEqual([{ type: 'pause' }, { type: 'resume' }]);
  });

  it('holding . closes the counter; a tap of . clears what was typed', () => {
    const p = pad();
    p.type('1 2 . 1 0 0 1 enter');
    expect(p.actions).toEqual([{ type: 'call', number: '1001' }]);
    p.k.keyDown(USAGE['.']!, '.');
    vi.advanceTimersByTime(2000);
    expect(p.actions.at(-1)).toEqual({ type: 'close' });
  });

  it('forgets digits typed long ago', () => {
    const p = pad();
    p.type('4 4');
    t += 11_000;
    p.type('1 0 2 0 enter');
    expect(p.actions).toEqual([{ type: 'call', number: '1020' }]);
  });

  it('takes a double press of + for one, and reports the second', () => {
    const p = pad();
    p.type('+ +', 300);
    t += 1000;
    p.type('+');
    expect(p.actions).toEqual([{ type: 'next' }, { type: 'next' }]);
    expect(p.rejected).toEqual([{ type: 'next' }]);
  });

  it('after the wall clock steps back, the same action twice is not taken for a double press', () => {
    const p = pad();
    t = 10 * 3_600_000;
    p.type('+');
    t -= 3_600_000; // NTP steps the clock back an hour
    p.type('+');
    t += 5000;
    p.type('+');
    expect(p.actions).toEqual([{ type: 'next' }, { type: 'next' }, { type: 'next' }]);
    expect(p.rejected).toEqual([]);
  });

  it('after the wall clock steps back, a number half-typed before the step is forgotten', () => {
    const p = pad();
    t = 10 * 3_600_000;
    p.type('4 4');
    t -= 3_600_000;
    p.type('1 0 2 0 enter');
    expect(p.actions).toEqual([{ type: 'call', number: '1020' }]);
  });

  it('ignores keys without a role (NumLock, unknown usages) and reports them', () => {
    const p = pad();
    p.type('numlock f1 1 0 0 2 enter');
    expect(p.actions).toEqual([{ type: 'call', number: '1002' }]);
    expect(p.ignored).toEqual([USAGE.numlock, USAGE.f1]);
  });

  it('reset (keypad unplugged) cancels a hold and a half-typed number', () => {
    const p = pad();
    p.type('1 0');
    p.k.keyDown(USAGE['0']!, '0');
    p.k.reset();
    vi.advanceTimersByTime(5000);
    p.type('enter');
    expect(p.actions).toEqual([{ type: 'resume' }]);
  });

  it('config overrides: Enter alone does nothing, NumLock pauses when held', () => {
    const p = pad({ keys: { '-': 'skip', '*': 'recall' }, holdKeys: { '0': 'none', numlock: 'pause' } });
    p.type('- *', 1500);
    expect(p.actions).toEqual([{ type: 'skip' }, { type: 'recall' }]);
    p.k.keyDown(USAGE.numlock!, 'numlock');
    vi.advanceTimersByTime(2000);
    expect(p.actions.at(-1)).toEqual({ type: 'pause' });
    p.k.keyDown(USAGE['0']!, '0');
    vi.advanceTimersByTime(5000);
    expect(p.actions).toHaveLength(3);
  });
});

describe('typed digits', () => {
  it('go to the queue as typed: the keypad does not guess the letters (the queue finds the ticket)', () => {
    const p = pad();
    p.type('7 enter', 1500);
    p.type('0 3 5 enter', 1500);
    expect(p.actions).toEqual([
      { type: 'call', number: '7' },
      { type: 'call', number: '035' },
    ]);
  });
});
