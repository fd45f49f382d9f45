// Simulated dispenser buttons: pressed from the terminal control, the simulator page or a test.
import { type ComponentHealth, healthy } from '../device/ports/health.ts';
import type { ButtonPress, ButtonSource } from '../device/ports/buttons.ts';

export class SimButtons implements ButtonSource {
  readonly kind = 'sim';
  private onPress: ((press: ButtonPress) => void) | null = null;

  constructor(private readonly ids: readonly string[]) {}

  async start(onPress: (press: ButtonPress) => void): Promise<void> {
    this.onPress = onPress;
  }

  async stop(): Promise<void> {
    this.onPress = null;
  }

  /** Returns false for a button the dispenser does not have. */
  press(button: string): boolean {
    if (!this.ids.includes(button) || !this.onPress) return false;
    this.onPress({ button });
    return true;
  }

  health(): ComponentHealth {
    return healthy({ buttons: this.ids.length });
  }
}
