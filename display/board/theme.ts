// Colours and type sizes of the board. High contrast on a dark ground (a lit white board glares in
// a bright hall), and no meaning carried by red against green: states differ by words, shapes and
// light/dark, and the only accent is amber on navy, which every common colour-vision deficiency
// still sees as a strong light/dark contrast. Glyph heights are documented in docs/display.md.

export const colors = {
  ground: '#0A1A2F',
  header: '#050E1C',
  panel: '#13294A',
  panelLine: '#2B4B78',
  text: '#FFFFFF',
  /** secondary text: ~10:1 on ground */
  dim: '#B9C8DD',
  /** the accent: numbers and the highlight (~11:1 on ground) */
  accent: '#FFC933',
  /** text drawn on the accent */
  onAccent: '#08121F',
  /** a counter that is not serving citizens */
  muted: '#7F93AE',
} as const;

/** Font sizes in px at the reference resolution (1920x1080 landscape, 1080x1920 portrait,
 * 800x480 counter). Digits of Noto Sans KR stand 0.74 of the font size, Hangul 0.93. */
export const type = {
  /** tier 1, read from 10 m: the called number and its counter */
  callNumber: 300,
  callCounter: 150,
  /** tier 2: recent calls */
  recentNumber: 110,
  recentCounter: 88,
  /** tier 3, read from the seats: waiting per service, counters, notice */
  serviceName: 58,
  serviceFigure: 64,
  counterTile: 44,
  notice: 48,
  header: 56,
  clock: 72,
  label: 42,
  small: 30,
} as const;

export const DIGIT_HEIGHT = 0.74;
export const HANGUL_HEIGHT = 0.93;
