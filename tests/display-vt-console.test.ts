// The board owns its screen: the VT drawn on the board's framebuffer is in graphics mode while the
// board runs and back in text mode after a clean stop, also when the start fails half-way.
// Tested at the ioctl seam: a recorder stands in for libc's open/write/ioctl/close.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../device/config/schema.ts';
import { type FdIo, KD_GRAPHICS, KD_TEXT, KDSETMODE } from '../device/hw/ioctl.ts';
import { FramebufferSink } from '../display/sinks/framebuffer.ts';
import { VtConsole } from '../display/sinks/vt-console.ts';

const logger = pino({ level: 'silent' });

type Call =
  | { op: 'open'; path: string; mode: string }
  | { op: 'write'; text: string }
  | { op: 'ioctl'; request: number; arg: number }
  | { op: 'close' };

/** libc as the VT console uses it, recording every call; `fail` makes one step throw an errno. */
function recorder(fail: { open?: string; ioctl?: string } = {}): { io: FdIo; calls: Call[]; modes: () => number[] } {
  const calls: Call[] = [];
  const errno = (code: string): Error => Object.assign(new Error(code), { code });
  const io: FdIo = {
    open(path, mode) {
      calls.push({ op: 'open', path, mode });
      if (fail.open) throw errno(fail.open);
      return 7;
    },
    write(_fd, bytes) {
      calls.push({ op: 'write', text: Buffer.from(bytes).toString('latin1') });
    },
    ioctl(_fd, request, arg) {
      calls.push({ op: 'ioctl', request, arg });
      if (fail.ioctl) throw errno(fail.ioctl);
    },
    close() {
      calls.push({ op: 'close' });
    },
  };
  const modes = (): number[] => calls.flatMap((c) => (c.op === 'ioctl' && c.request === KDSETMODE ? [c.arg] : []));
  return { io, calls, modes };
}

let dir: string;
let sysfs: string;
let dev: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'beonho-vt-'));
  sysfs = join(dir, 'graphics');
  dev = join(dir, 'fb0');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function fakeFb(): void {
  mkdirSync(join(sysfs, 'fb0'), { recursive: true });
  writeFileSync(join(sysfs, 'fb0', 'virtual_size'), '4,2\n');
  writeFileSync(join(sysfs, 'fb0', 'bits_per_pixel'), '32\n');
  writeFileSync(dev, Buffer.alloc(32));
}

function sink(io: FdIo): FramebufferSink {
  const console = new VtConsole({ tty: '/dev/tty1', logger, fdIo: async () => io });
  return new FramebufferSink({ device: dev, sysfsRoot: sysfs, pixelOrder: 'bgra', logger, console });
}

const frame = { width: 4, height: 2, data: new Uint8Array(32).fill(255) };

describe('the board owns its VT', () => {
  it('graphics mode (no blanking, no cursor) before the first frame; text mode after a clean stop', async () => {
    fakeFb();
    const r = recorder();
    const s = sink(r.io);
    await s.open();
    expect(r.calls.slice(0, 4)).toEqual([
      { op: 'open', path: '/dev/tty1', mode: 'write' },
      // blank interval 0 (never) and unblank now, then the cursor off
      { op: 'write', text: '\x1b[9;0]\x1b[?25l' },
      { op: 'ioctl', request: KDSETMODE, arg: KD_GRAPHICS },
      { op: 'close' },
    ]);
    expect(s.health()).toMatchObject({ connected: true, console: 'graphics', lastError: null });
    await s.write(frame);
    expect(r.modes()).toEqual([KD_GRAPHICS]);
    await s.close();
    expect(r.modes()).toEqual([KD_GRAPHICS, KD_TEXT]);
    expect(r.calls.at(-1)).toEqual({ op: 'close' });
    expect(s.health()).toMatchObject({ connected: false, console: 'text' });
  });

  it('a start that fails after the switch gives the console back (no dark screen)', async () => {
    // no sysfs entry: the framebuffer cannot be opened
    const r = recorder();
    const s = sink(r.io);
    await expect(s.open()).rejects.toMatchObject({ code: 'display-fb-sysfs' });
    expect(r.modes()).toEqual([KD_GRAPHICS, KD_TEXT]);
    expect(s.health()).toMatchObject({ connected: false, console: 'text', lastError: 'display-fb-sysfs' });
    // the board extension retries every 30 s: each try switches and restores again
    fakeFb();
    await s.open();
    expect(r.modes()).toEqual([KD_GRAPHICS, KD_TEXT, KD_GRAPHICS]);
    await s.close();
    expect(r.modes().at(-1)).toBe(KD_TEXT);
  });

  it('without CAP_SYS_TTY_CONFIG the board still draws; its health says what to fix', async () => {
    fakeFb();
    const r = recorder({ ioctl: 'EPERM' });
    const s = sink(r.io);
    await s.open();
    await s.write(frame);
    expect(s.health()).toMatchObject({
      connected: true,
      console: 'text',
      lastError: 'display-vt-permission',
      frames: 1,
    });
    await s.close();
    // it never switched, so there is nothing to switch back
    expect(r.modes()).toEqual([KD_GRAPHICS]);
  });

  it('a tty it may not open names the installer, whose udev rule opens it (not the tty group)', async () => {
    const r = recorder({ open: 'EACCES' });
    const vt = new VtConsole({ tty: '/dev/tty1', logger, fdIo: async () => r.io });
    expect(await vt.enterGraphics()).toEqual({
      ok: false,
      code: 'display-vt-permission',
      message: expect.stringMatching(/install-service.*udev rule/),
    });
    await vt.restoreText();
    expect(r.modes()).toEqual([]);
  });

  it('without the ioctl module the board still opens, reported as display-vt-unavailable', async () => {
    fakeFb();
    const console = new VtConsole({
      tty: '/dev/tty1',
      logger,
      fdIo: async () => {
        throw new Error('ioctl-module-unavailable: the ioctl module (koffi) cannot load');
      },
    });
    const s = new FramebufferSink({ device: dev, sysfsRoot: sysfs, pixelOrder: 'bgra', logger, console });
    await s.open();
    expect(s.health()).toMatchObject({ connected: true, console: 'text', lastError: 'display-vt-unavailable' });
    await s.close();
  });

  it('the wall board takes /dev/tty1 unless told otherwise; "none" leaves the console alone', () => {
    const base = {
      office: { id: 'o', name: '테스트' },
      services: [{ id: 'resident', name: '주민등록', numbers: { from: 1001, to: 1999 } }],
      counters: [{ id: '1', name: '1번 창구', services: ['resident'] }],
    };
    expect(configSchema.parse(base).outputs.board.vt).toBe('/dev/tty1');
    expect(
      configSchema.parse({ ...base, outputs: { board: { driver: 'framebuffer', vt: 'none' } } }).outputs.board.vt,
    ).toBe('none');
  });
});
