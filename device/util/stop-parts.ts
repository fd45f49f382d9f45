// Stopping a daemon's parts (the main unit's controller, a satellite) in reverse start order within
// one time budget. systemd SIGKILLs a stop that outlasts TimeoutStopSec=20 (deploy/unit.ts) and
// counts it as a failure: the unit's OnFailure timer then starts the daemon again ten minutes after
// an admin's `systemctl stop`, and what comes after the parts (the store's checkpoint, the lock)
// never happens. A part whose stop never returns (a USB read, a main unit gone silent) is named and
// the rest go on without it.
import type { Logger } from 'pino';

/** The parts' share of a stop: 12 s leaves the voice its 10 s to finish a sentence and the store
 * its checkpoint, under TimeoutStopSec=20. */
export const STOP_BUDGET_MS = 12_000;
/** What a part still gets once the budget is spent: its stop is asked for, not awaited. */
const STOP_GRACE_MS = 500;

export async function stopParts(
  parts: ReadonlyArray<{ readonly name: string; stop(): Promise<void> }>,
  logger: Logger,
  budgetMs: number = STOP_BUDGET_MS,
): Promise<void> {
  const deadline = performance.now() + budgetMs;
  for (const part of [...parts].reverse()) {
    const waitMs = Math.max(STOP_GRACE_MS, deadline - performance.now());
    try {
      if (await within(part.stop(), waitMs)) logger.debug({ extension: part.name }, 'stopped');
      else
        logger.error(
          { code: 'stop-timeout', extension: part.name, waitedMs: Math.round(waitMs) },
          `${part.name} did not stop in time; stopping the rest without it`,
        );
    } catch (err) {
      logger.error({ err, extension: part.name }, 'stop failed');
    }
  }
}

/** Whether `p` settled within `ms`; its rejection is thrown. */
export async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}
