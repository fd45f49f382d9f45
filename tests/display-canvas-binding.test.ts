// The canvas binding is loaded without the installed fonts (display/canvas-binding.ts): it kept
// every font file of the machine mapped, for a daemon that draws with its own font only. Each case
// runs in a process of its own: the binding reads the setting once, when it loads.
import { execFile } from 'node:child_process';
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

/** In a new process: the families the binding lists, and a hash of text drawn in beonho's font
 * (with characters that font lacks: ∑, 漢, 똠). `how` loads the binding as beonho does, or directly. */
async function probe(how: 'beonho' | 'direct', env: Record<string, string> = {}) {
  const load =
    how === 'beonho'
      ? `(await import(${JSON.stringify(path.join(ROOT, 'display/canvas-binding.ts'))})).loadCanvasBinding()`
      : `import('@napi-rs/canvas')`;
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
