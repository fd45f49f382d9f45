// The canvas binding (@napi-rs/canvas), loaded once for every renderer: the board, the ticket, the
// fonts, the PNG sink.
//
// Without the installed fonts. The binding opens every font under /usr/share/fonts when it loads
// (to list their families and to find a character the chosen font lacks) and keeps each one
// mapped: 38 files and ~5 MiB of the daemon's memory on a Debian machine with only DejaVu and
// Liberation, more on a Pi with a desktop's fonts. beonho draws with its own font only
// (display/fonts/fonts.ts), and a character that font lacks is still looked up by the binding
// with the variable set, with the same pixels (tests/display-canvas-binding.test.ts).
//
// Without transparent huge pages. The binding's allocator (mimalloc) asks the kernel for 2 MiB
// pages for its arenas (madvise), so a ticket's or a board window's read-back pixels were
// committed 2 MiB at a time, and a freed one stayed whole: 2-4 MiB of the daemon's peak after an
// office day, ~5 at ready, ~10 MiB in a loop of ticket-sized reads (README, "Benchmarks";
// tests/display-canvas-binding.test.ts). MIMALLOC_ALLOW_THP=0 keeps it to 4 KiB pages; the
// other allocators of the process are untouched.
//
// Both variables are read once, when the binding loads, so they are set here, before. An
// environment that sets one already (even to "": DISABLE_SYSTEM_FONTS_LOAD="" lists the installed
// fonts) is kept.

type CanvasBinding = typeof import('@napi-rs/canvas');

let binding: Promise<CanvasBinding> | null = null;

export function loadCanvasBinding(): Promise<CanvasBinding> {
  if (process.env.DISABLE_SYSTEM_FONTS_LOAD === undefined) process.env.DISABLE_SYSTEM_FONTS_LOAD = '1';
  if (process.env.MIMALLOC_ALLOW_THP === undefined) process.env.MIMALLOC_ALLOW_THP = '0';
  binding ??= import('@napi-rs/canvas');
  return binding;
}
