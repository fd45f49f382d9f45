// Frames and tickets are megabytes of pixels that are garbage a moment later, and V8 frees them
// late. The canvas binding's read-back buffers (data(), getImageData()) are external memory: V8 counts them, but lets
// them pile up to its external-memory limit (~64 MB over the last collection) before it collects,
// and they are freed by finalizers that run on a later turn of the event loop. A call on the board
// reads back about 4 MB, a ticket 2.3 MB (and the printer's copies). In bench/lean.ts that floating
// garbage was tens of megabytes of the daemon's peak RSS, so the daemon collects it itself:
// - a board frame's read-back buffers are dead once the frame is assembled, still in the young
//   generation: a young-generation collection (well under a millisecond with the unit's 1 MB
//   semi-spaces) frees them. A full collection after every frame cost a burst of calls ~5 ms a
//   frame (bench/display.ts);
// - a ticket's pixels live until it is printed, long enough to be promoted: after the print, one
//   full collection, incremental and concurrent (`execution: 'async'`: small steps on the main
//   thread, not one pause), one at a time. Tickets come a few a minute.
// It needs node's `--expose-gc`, which the systemd unit sets (deploy/unit.ts); without it (tsx,
// tests) these do nothing and V8 collects when it would have.

let running: Promise<void> | null = null;

/** After a board frame: collect the young generation, where its read-back buffers are. */
export function collectFrameGarbage(): void {
  const gc = globalThis.gc;
  if (typeof gc === 'function') gc({ type: 'minor' });
}

/** After a ticket is printed: one incremental full collection; joins one under way. */
export function collectTicketGarbage(): void {
  const gc = globalThis.gc;
  if (typeof gc !== 'function' || running) return;
  running = gc({ type: 'major', execution: 'async' }).finally(() => {
    running = null;
  });
}

// node's own, kept before a test's fake timers can replace it: the finalizers need a real turn
const realSetImmediate = globalThis.setImmediate;

/** A turn of the event loop, in which the canvas binding's finalizers free what was collected. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => realSetImmediate(resolve));
}
