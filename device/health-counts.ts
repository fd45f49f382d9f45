// A component's counters (calls announced, frames written) reach the device status through the
// health it sends on the bus. Sent with every change, they would be one more retained MQTT status
// to central per call or frame; sent only when an error changed, the status kept the start's
// counts all day. So a change of the counts alone is sent at most every HEALTH_COUNTS_EVERY_MS,
// the status file's own period; a change of an error is sent at once by its component, and
// carries the counts with it.

export const HEALTH_COUNTS_EVERY_MS = 30_000;

export class CountsThrottle {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private sentCounts: string | null = null;
  private stopped = false;

  /** `counts`: the counts as they are, as one comparable string; `send`: send the health now
   * (which calls sent()). */
  constructor(
    private readonly counts: () => string,
    private readonly send: () => void,
    private readonly everyMs = HEALTH_COUNTS_EVERY_MS,
  ) {}

  /** The health was just sent, with the counts as they are. */
  sent(): void {
    this.sentCounts = this.counts();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** The counts may have changed: they are sent when the period ends, if they still differ. */
  changed(): void {
    if (this.timer || this.stopped || this.counts() === this.sentCounts) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.stopped && this.counts() !== this.sentCounts) this.send();
    }, this.everyMs);
    this.timer.unref?.();
  }

  /** Nothing more is sent. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
