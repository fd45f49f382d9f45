// Port: the dispenser's buttons. GPIO, Firmata and the simulator implement it; the dispenser
// extension maps a button id to a service through config.
import type { ComponentHealth } from './health.ts';

export interface ButtonPress {
  /** the button's id from config (dispenser.buttons[].id) */
  button: string;
}

export interface ButtonSource {
  readonly kind: string;
  /** Attach to the hardware and start delivering presses. Rejects with a clear message when the
   * hardware cannot be used (not a Pi, no permission, wrong pin). */
  start(onPress: (press: ButtonPress) => void): Promise<void>;
  /** Release the hardware (pins, serial port). */
  stop(): Promise<void>;
  health(): ComponentHealth;
}
