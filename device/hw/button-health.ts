// Health of a set of dispenser buttons, as the device status publishes it: connected, the last
// error, and per button the presses accepted and rejected by the rate limit.
import type { Logger } from 'pino';
import type { ComponentHealth } from '../ports/health.ts';

export class ButtonHealth {
  private connected = false;
  private lastError: string | null = null;
  private lastErrorAt: string | null = null;
  private lastErrorMessage: string | null = null;
  private readonly presses: Record<string, number> = {};
  private readonly rejected: Record<string, number> = {};
  private reconnects = 0;

  constructor(
    private readonly onChange?: (h: ComponentHealth) => void,
    private readonly now: () => number = Date.now,
  ) {}

  connect(): void {
    if (this.connected) return;
    if (this.lastError) this.reconnects += 1;
    this.connected = true;
    this.changed();
  }

  disconnect(): void {
    this.connected = false;
    this.changed();
  }

  fail(code: string, message: string, logger: Logger): void {
    // a retry that fails as the one before it (an Arduino unplugged over a weekend, tried every
    // 30 s) is the same problem, already said and in the status: not an error line per attempt
    const repeated = !this.connected && this.lastError === code;
    logger[repeated ? 'debug' : 'error']({ code }, message);
    this.connected = false;
    this.lastError = code;
    this.lastErrorMessage = message;
    this.lastErrorAt = new Date(this.now()).toISOString();
    this.changed();
  }

  pressed(button: string): void {
    this.presses[button] = (this.presses[button] ?? 0) + 1;
  }

  rejectedPress(button: string): void {
    this.rejected[button] = (this.rejected[button] ?? 0) + 1;
    this.changed();
  }

  snapshot(): ComponentHealth {
    const rejectedTotal = Object.values(this.rejected).reduce((a, b) => a + b, 0);
    return {
      connected: this.connected,
      lastError: this.lastError,
      lastErrorAt: this.lastErrorAt,
      lastErrorMessage: this.lastErrorMessage,
      rejected: rejectedTotal,
      rejectedByButton: { ...this.rejected },
      presses: { ...this.presses },
      reconnects: this.reconnects,
    };
  }

  private changed(): void {
    this.onChange?.(this.snapshot());
  }
}
