// The few ioctl(2) calls beonho needs (EVIOCGRAB on a keypad's event node, KDSETMODE on the
// board's virtual terminal). Node has no ioctl; koffi (an FFI with prebuilt binaries for x64, arm64
// and armhf inside its npm packages, nothing compiled on install) calls libc's. It is loaded lazily,
// like the other native modules, so the simulator never loads it. Everything above this file
// talks to the `FdIo` interface, which is the tests' seam.
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { HardwareError, messageOf } from './errors.ts';

/** File descriptors and ioctls, as the drivers use them. Errors carry an errno `code` ("EBUSY"). */
export interface FdIo {
  open(path: string, mode: 'read' | 'write'): number;
  /** ioctl(fd, request, arg) with an integer argument passed by value; throws on -1 */
  ioctl(fd: number, request: number, arg: number): void;
  write(fd: number, bytes: Uint8Array): void;
  close(fd: number): void;
}

// linux/input.h: _IOW('E', 0x90, int)
export const EVIOCGRAB = 0x40044590;
// linux/kd.h
export const KDSETMODE = 0x4b3a;
export const KD_TEXT = 0x00;
export const KD_GRAPHICS = 0x01;

const ERRNO_NAMES = new Map(Object.entries(osConstants.errno).map(([name, n]) => [n, name]));

export function errnoError(errno: number, what: string): NodeJS.ErrnoException {
  const name = ERRNO_NAMES.get(errno) ?? `errno ${errno}`;
  return Object.assign(new Error(`${what}: ${name}`), { code: name, errno });
}

type IoctlFn = (fd: number, request: number, arg: number) => { result: number; errno: number };

let loaded: Promise<IoctlFn> | null = null;

/** libc's ioctl through koffi; a load failure is a HardwareError saying what to install. */
export function loadIoctl(): Promise<IoctlFn> {
  loaded ??= (async () => {
    try {
      const mod = (await import('koffi')) as unknown as { default?: Koffi } & Koffi;
      const koffi = mod.default ?? mod;
      const libc = koffi.load('libc.so.6');
      // variadic in C; the request is an unsigned long, the argument an int passed by value
      const ioctl = libc.func('int ioctl(int fd, unsigned long request, ...)');
      return (fd, request, arg) => {
        const result = ioctl(fd, request, 'int', arg) as number;
        return { result, errno: result === -1 ? koffi.errno() : 0 };
      };
    } catch (err) {
      loaded = null;
      throw new HardwareError(
        'ioctl-module-unavailable',
        `the ioctl module (koffi) cannot load: ${messageOf(err)}. Run "npm ci" on this machine (koffi ships binaries for x64, arm64 and armhf Linux).`,
        { cause: err },
      );
    }
  })();
  return loaded;
}

interface Koffi {
  load(path: string): { func(signature: string): (...args: unknown[]) => unknown };
  errno(): number;
}

/** The real file descriptors; `ioctl` loads koffi on first use (and throws if it cannot). */
export async function realFdIo(): Promise<FdIo> {
  const ioctl = await loadIoctl();
  return {
    open: (path, mode) =>
      openSync(
        path,
        (mode === 'read' ? constants.O_RDONLY : constants.O_WRONLY) | constants.O_NONBLOCK | constants.O_NOCTTY,
      ),
    ioctl: (fd, request, arg) => {
      const r = ioctl(fd, request, arg);
      if (r.result === -1) throw errnoError(r.errno, `ioctl 0x${request.toString(16)}`);
    },
    write: (fd, bytes) => {
      writeSync(fd, bytes);
    },
    close: (fd) => closeSync(fd),
  };
}
