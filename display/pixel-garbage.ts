// Frames and tickets are megabytes of pixels that are garbage a moment later, and V8 frees them
// late. The canvas binding's getImageData() buffers are external memory: V8 counts them, but lets
// them pile up to its external-memory limit (~64 MB over the last collection) before it collects,
// and by then most have outlived a young-generation collection and wait for a full one. A ticket
// is 2.3 MB of them, a board frame up to 8 MB. In bench/lean.ts that floating garbage was tens of
// megabytes of the daemon's peak RSS. So once a frame is written or a ticket printed, the daemon
// asks V8 for a full collection, incremental and concurrent (`execution: 'async'`: a few small
// steps on the main thread, not one pause), and at most one at a time. It needs node's
// `--expose-gc`, which the systemd unit sets (deploy/unit.ts); without it (tsx, tests) this does
// nothing and V8 collects when it would have.
let running: Promise<void> | null = null;

/** Ask for a full collection once the pixels just used are unreachable; joins one under way. */
export function collectPixelGarbage(): void {
  const gc = globalThis.gc;
  if (typeof gc !== 'function' || running) return;
  running = gc({ type: 'major', execution: 'async' }).finally(() => {
    running = null;
  });
}
