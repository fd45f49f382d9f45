// The Korean font of the board and the ticket. Noto Sans KR from @openfonts/noto-sans-kr_korean:
// the KS X 1001 subset (all 2,350 common Hangul syllables, Latin, digits, punctuation), one WOFF2
// file per weight, 2.7 MB in node_modules against ~98 MB for `pretendard`. @napi-rs/canvas (Skia)
// reads WOFF2 directly, so nothing is converted at install or start.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { loadCanvasBinding } from '../canvas-binding.ts';

/** The family name every layout uses; registered under our own alias so a system font of the same
 * name can never take its place. */
export const FONT_FAMILY = 'BeonhoSans';

/** Weights registered: regular text, bold labels, black numbers. */
export const FONT_WEIGHTS = [400, 700, 900] as const;
export type FontWeight = (typeof FONT_WEIGHTS)[number];

let loaded: Promise<void> | null = null;

export class FontError extends Error {
  readonly code = 'display-font-missing';
}

function fontDir(): string {
  const require = createRequire(import.meta.url);
  // The package has no JS entry: resolve its package.json and take the files beside it.
  const pkg = require.resolve('@openfonts/noto-sans-kr_korean/package.json');
  return join(dirname(pkg), 'files');
}

/** Register the board font once per process. Safe to call from every renderer. */
export function loadFonts(): Promise<void> {
  loaded ??= (async () => {
    const { GlobalFonts } = await loadCanvasBinding();
    const dir = fontDir();
    for (const weight of FONT_WEIGHTS) {
      const file = join(dir, `noto-sans-kr-korean-${weight}.woff2`);
      let bytes: Buffer;
      try {
        bytes = readFileSync(file);
      } catch (err) {
        loaded = null;
        throw new FontError(
          `font file ${file} cannot be read (${(err as Error).message}); run \`npm ci\` to install @openfonts/noto-sans-kr_korean`,
        );
      }
      if (!GlobalFonts.register(bytes, FONT_FAMILY)) {
        loaded = null;
        throw new FontError(`font file ${file} was not accepted by the canvas binding; reinstall with \`npm ci\``);
      }
    }
  })();
  return loaded;
}

/** A canvas font string: `font(900, 120)` -> "900 120px BeonhoSans". */
export function font(weight: FontWeight, px: number): string {
  return `${weight} ${Math.round(px)}px ${FONT_FAMILY}`;
}
