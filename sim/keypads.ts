// Simulated counter keypads, one per counter; a keypad can be "unplugged" to try the fault path.
import { type ComponentHealth, healthy } from '../device/ports/health.ts';
import type { KeypadInput, KeypadInputAction, KeypadSource } from '../device/ports/keypad.ts';

export class SimKeypads implements KeypadSource {
  readonly kind = 'sim';
  private onInput: ((input: KeypadInput) => void) | null = null;
  /** each unplugged keypad's counter, and when it was unplugged (an ISO instant, as the drivers stamp
   * their errors) */
  private readonly unplugged = new Map<string, string>();

  constructor(private readonly counters: readonly string[]) {}

  async start(onInput: (input: KeypadInput) => void): Promise<void> {
    this.onInput = onInput;
  }

  async stop(): Promise<void> {
    this.onInput = null;
  }

  /** Returns false when there is no such keypad or it is unplugged. */
  input(counter: string, action: KeypadInputAction): boolean {
    if (!this.counters.includes(counter) || this.unplugged.has(counter) || !this.onInput) return false;
    this.onInput({ counter, action });
    return true;
  }

  setPlugged(counter: string, plugged: boolean): void {
    if (plugged) this.unplugged.delete(counter);
    else if (!this.unplugged.has(counter)) this.unplugged.set(counter, new Date().toISOString());
  }

  health(): Record<string, ComponentHealth> {
    const out: Record<string, ComponentHealth> = {};
    for (const c of this.counters) {
      const since = this.unplugged.get(c);
      out[c] = since ? { connected: false, lastError: 'keypad-unplugged', lastErrorAt: since } : healthy();
    }
    return out;
  }
}
