// A bound on how long a satellite waits for something at its stop: systemd SIGKILLs a stop that
// outlasts TimeoutStopSec, and counts it as a failure (deploy/unit.ts).

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
