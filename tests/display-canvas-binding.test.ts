// The canvas binding is loaded without the installed fonts (display/canvas-binding.ts): it kept
// every font file of the machine mapped, for a daemon that draws with its own font only. And its
// allocator (mimalloc) takes no transparent huge pages: it asked the kernel for 2 MiB pages, and a
// ticket's read-back pixels were committed 2 MiB at a time. Each case runs in a process of its
// own: the binding reads both settings once, when it loads.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.join(import.meta.dirname, '..');
const run = promisify(execFile);
let home: string;

beforeAll(async () => {
  // a user font folder the binding scans ($HOME/.fonts), with a family no other folder has (a
  // weight beonho does not register: its own name is "Noto Sans KR Thin")
  home = await mkdtemp(path.join(tmpdir(), 'beonho-fonts-'));
  await mkdir(path.join(home, '.fonts'));
  const pkg = createRequire(import.meta.url).resolve('@openfonts/noto-sans-kr_korean/package.json');
  await copyFile(
    path.join(path.dirname(pkg), 'files/noto-sans-kr-korean-100.woff'),
    path.join(home, '.fonts/installed.woff'),
  );
});
afterAll(() => rm(home, { recursive: true, force: true }));

/** The expression that loads the binding in a probe: as beonho loads it, or directly. */
function loadExpression(how: 'beonho' | 'direct'): string {
  return how === 'beonho'
    ? `(await import(${JSON.stringify(path.join(ROOT, 'display/canvas-binding.ts'))})).loadCanvasBinding()`
    : `import('@napi-rs/canvas')`;
}

/** In a new process: the families the binding lists, and a hash of text drawn in beonho's font
 * (with characters that font lacks: ∑, 漢, 똠). `how` loads the binding as beonho does, or directly. */
async function probe(how: 'beonho' | 'direct', env: Record<string, string> = {}) {
  const load = loadExpression(how);
  const code = `
    const canvas = await ${load};
    const { loadFonts, font } = await import(${JSON.stringify(path.join(ROOT, 'display/fonts/fonts.ts'))});
    await loadFonts();
    const c = canvas.createCanvas(600, 80);
    const ctx = c.getContext('2d');
    ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, 600, 80);
    ctx.fillStyle = '#000'; ctx.font = font(400, 40);
    ctx.fillText('번호 1001 ∑ 漢 똠', 10, 55);
    const { createHash } = await import('node:crypto');
    console.log(JSON.stringify({
      families: canvas.GlobalFonts.families.map((f) => f.family),
      pixels: createHash('sha256').update(c.data()).digest('hex'),
    }));`;
  const childEnv: NodeJS.ProcessEnv = { ...process.env, HOME: home, ...env };
  if (!('DISABLE_SYSTEM_FONTS_LOAD' in env)) delete childEnv.DISABLE_SYSTEM_FONTS_LOAD;
  const r = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: ROOT,
    env: childEnv,
  });
  return JSON.parse(r.stdout) as { families: string[]; pixels: string };
}

describe('the canvas binding', () => {
  it('lists no installed font when beonho loads it, and draws the same pixels', async () => {
    const direct = await probe('direct');
    // the probe can tell: loaded directly, the binding lists the font of the user folder
    expect(direct.families).toContain('Noto Sans KR Thin');
    // as beonho loads it: only the fonts it registers (display/fonts/fonts.ts), under their own
    // names and its alias
    const ours = await probe('beonho');
    expect(ours.families.sort()).toEqual([
      'BeonhoSans',
      'Noto Sans KR Black',
      'Noto Sans KR Bold',
      'Noto Sans KR Regular',
    ]);
    expect(ours.pixels).toBe(direct.pixels);
  });

  it('keeps a setting the environment made', async () => {
    const listed = await probe('beonho', { DISABLE_SYSTEM_FONTS_LOAD: '' });
    expect(listed.families).toContain('Noto Sans KR Thin');
  });
});

/** In a new process, the binding loaded as beonho loads it or directly: its allocator's THP option
 * as mimalloc reports it, and the KiB of the process in transparent huge pages after ticket-sized
 * canvases (576x1000) drawn and read back, three alive at a time, as a burst of presses makes them. */
async function allocatorProbe(how: 'beonho' | 'direct', env: Record<string, string> = {}) {
  const load = loadExpression(how);
  const code = `
    const { createCanvas } = await ${load};
    const alive = [];
    for (let i = 0; i < 20; i++) {
      const ctx = createCanvas(576, 1000).getContext('2d');
      ctx.fillRect(0, 0, 576, 1000);
      alive.push(ctx.getImageData(0, 0, 576, 1000));
      if (alive.length > 3) alive.shift();
    }
    const { readFileSync } = await import('node:fs');
    let kib = 0;
    for (const m of readFileSync('/proc/self/smaps', 'utf8').matchAll(/^AnonHugePages:\\s+(\\d+) kB/gm)) kib += Number(m[1]);
    console.log(kib);`;
  const childEnv: NodeJS.ProcessEnv = { ...process.env, MIMALLOC_VERBOSE: '1', ...env };
  if (!('MIMALLOC_ALLOW_THP' in env)) delete childEnv.MIMALLOC_ALLOW_THP;
  const r = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: ROOT,
    env: childEnv,
  });
  return {
    allowThp: /option 'allow_thp': (\d+)/.exec(r.stderr)?.[1] ?? null,
    hugePagesKiB: Number(r.stdout.trim()),
  };
}

/** The kernel's transparent-huge-page mode: "madvise" gives them only to memory that asks for
 * them (mimalloc's arenas, unless told not to), "always" to any large enough mapping. */
function thpMode(): string {
  try {
    return /\[(\w+)\]/.exec(readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'))?.[1] ?? 'none';
  } catch {
    return 'none';
  }
}

describe("the canvas binding's allocator", () => {
  it('is told to take no transparent huge pages when beonho loads it, unless the environment says', async () => {
    const ours = await allocatorProbe('beonho');
    const direct = await allocatorProbe('direct');
    expect(ours.allowThp).toBe('0');
    // the binding's default, which beonho changes
    expect(direct.allowThp).toBe('1');
    expect((await allocatorProbe('beonho', { MIMALLOC_ALLOW_THP: '1' })).allowThp).toBe('1');
    const mode = thpMode();
    if (mode === 'madvise') {
      // only memory that asks gets them: none as beonho loads it, and the same reads with the
      // binding loaded directly do take huge pages (what the setting saves is real here)
      expect(ours.hugePagesKiB).toBe(0);
      expect(direct.hugePagesKiB).toBeGreaterThan(0);
    } else if (mode !== 'always') {
      // "never", or a kernel without them
      expect(ours.hugePagesKiB).toBe(0);
    }
    // "always": the kernel may give any large mapping huge pages (V8's, glibc's), asked or not;
    // mimalloc's option is checked above.
  });
});
