// The canvas binding (@napi-rs/canvas), loaded once for every renderer: the board, the ticket, the
// fonts, the PNG sink.
//
// Without the installed fonts. The binding opens every font under /usr/share/fonts when it loads
// (to list their families and to find a character the chosen font lacks) and keeps each one
// mapped: 38 files and ~5 MiB of the daemon's memory on a Debian machine with only DejaVu and
// Liberation, more on a Pi with a desktop's fonts. beonho draws with its own font only
// (display/fonts/fonts.ts), and a character that font lacks is still looked up by the binding
// with the variable set, with the same pixels (tests/display-canvas-binding.test.ts).
// DISABLE_SYSTEM_FONTS_LOAD is read once, when the binding loads, so it is set here, before.
// An environment that sets it already (even to "", which lists the installed fonts) is kept.

type CanvasBinding = typeof import('@napi-rs/canvas');

let binding: Promise<CanvasBinding> | null = null;

export function loadCanvasBinding(): Promise<CanvasBinding> {
  if (process.env.DISABLE_SYSTEM_FONTS_LOAD === undefined) process.env.DISABLE_SYSTEM_FONTS_LOAD = '1';
  binding ??= import('@napi-rs/canvas');
  return binding;
}
