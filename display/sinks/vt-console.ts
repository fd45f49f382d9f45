// The board owns its screen. On a Raspberry Pi the HDMI framebuffer is also the text console's:
// kernel messages, a getty's login prompt and the blinking cursor are drawn into the same pixels,
// and the console blanks the screen after ten idle minutes. Putting the virtual terminal in
// graphics mode (KDSETMODE KD_GRAPHICS) tells the kernel's console to keep its hands off: no text,
// no cursor, no blanking ("don't blank graphics" in drivers/tty/vt/vt.c). The mode belongs to the
// VT, not to the open file, so it is set with a short-lived descriptor and set back to KD_TEXT on
// a clean stop (a crash leaves the last frame on screen until systemd restarts the daemon).
//
// KDSETMODE needs CAP_SYS_TTY_CONFIG (or the tty as controlling terminal, which would hand the
// daemon SIGHUP and SIGINT from that console): the service unit grants that one capability.
import type { Logger } from 'pino';
import type { DisplayErrorCode } from '../../device/error-codes.ts';
import { type FdIo, KD_GRAPHICS, KD_TEXT, KDSETMODE, realFdIo } from '../../device/hw/ioctl.ts';

// ESC [ 9 ; 0 ]: blank after 0 minutes = never, and unblank now (console_codes(4), setterm -blank 0);
// ESC [ ? 25 l: no cursor. Written before the switch, for the text mode the VT returns to.
const NO_BLANK_NO_CURSOR = new TextEncoder().encode('\x1b[9;0]\x1b[?25l');

export interface VtConsoleOptions {
  /** the VT shown on the board's framebuffer, e.g. /dev/tty1 */
  tty: string;
  logger: Logger;
  /** file descriptors and ioctls; default libc through koffi (tests: a recorder) */
  fdIo?: () => Promise<FdIo>;
}

export type VtResult = { ok: true } | { ok: false; code: DisplayErrorCode; message: string };

export class VtConsole {
  private graphics = false;

  constructor(private readonly o: VtConsoleOptions) {}

  /** Graphics mode on the VT. Never throws: a board that cannot own its VT still draws. */
  async enterGraphics(): Promise<VtResult> {
    const r = await this.setMode(KD_GRAPHICS);
    if (r.ok) {
      this.graphics = true;
      this.o.logger.info({ tty: this.o.tty }, 'console in graphics mode: no text, cursor or blanking on the board');
    } else {
      this.o.logger.warn({ code: r.code, tty: this.o.tty }, r.message);
    }
    return r;
  }

  /** Back to text mode, if this console switched it. */
  async restoreText(): Promise<void> {
    if (!this.graphics) return;
    this.graphics = false;
    const r = await this.setMode(KD_TEXT);
    if (r.ok) this.o.logger.info({ tty: this.o.tty }, 'console back in text mode');
    else this.o.logger.warn({ code: r.code, tty: this.o.tty }, r.message);
  }

  get inGraphics(): boolean {
    return this.graphics;
  }

  private async setMode(mode: number): Promise<VtResult> {
    const { tty } = this.o;
    let io: FdIo;
    try {
      io = await (this.o.fdIo ?? realFdIo)();
    } catch (err) {
      return {
        ok: false,
        code: 'display-vt-unavailable',
        message: `${(err as Error).message}; the text console can draw over the board`,
      };
    }
    let fd: number;
    try {
      fd = io.open(tty, 'write');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM') {
        return {
          ok: false,
          code: 'display-vt-permission',
          message: `cannot open ${tty} (${code}): run npm run install-service again (its udev rule gives this VT to group beonho), or set outputs.board.vt: none`,
        };
      }
      return {
        ok: false,
        code: 'display-vt-unavailable',
        message: `cannot open ${tty} (${(err as Error).message}): check outputs.board.vt (the VT shown on the board's screen, usually /dev/tty1)`,
      };
    }
    try {
      if (mode === KD_GRAPHICS) io.write(fd, NO_BLANK_NO_CURSOR);
      io.ioctl(fd, KDSETMODE, mode);
      return { ok: true };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EPERM') {
        return {
          ok: false,
          code: 'display-vt-permission',
          message: `${tty}: KDSETMODE refused (EPERM): the service needs CAP_SYS_TTY_CONFIG (AmbientCapabilities in the unit npm run install-service writes); the text console can draw over the board`,
        };
      }
      return {
        ok: false,
        code: 'display-vt-unavailable',
        message: `${tty}: KDSETMODE failed (${(err as Error).message}): is it a virtual terminal?`,
      };
    } finally {
      io.close(fd);
    }
  }
}
