// Keeps a keypad's keys away from the text console. A USB keypad is a keyboard: the kernel hands
// its reports to hidraw (which beonho reads) and, separately, to the input subsystem, whose
// keyboard handler types them into the active virtual terminal. EVIOCGRAB on each of the keypad's
// evdev nodes makes the kernel deliver its input events to the grabbing file alone, so the console
// (and any other reader) gets nothing; hidraw is below the input layer and still gets every report.
// The grab lives as long as the file stays open: closing it (unplug, stop, a crash) releases it.
// docs/hardware.md argues this design against the udev alternatives.
import { messageOf } from './errors.ts';
import { eventNodesOf, HIDRAW_CLASS } from './hidraw-sysfs.ts';
import { EVIOCGRAB, type FdIo } from './ioctl.ts';

export type GrabCode = 'keypad-grab-denied' | 'keypad-grab-busy' | 'keypad-grab-unavailable';

export interface GrabOutcome {
  /** true: no key of this keypad reaches the console or another program */
  exclusive: boolean;
  /** the evdev nodes held grabbed now */
  nodes: string[];
  problem?: { code: GrabCode; message: string };
}

export interface KeypadGrabOptions {
  /** null when the ioctl module could not load; `unavailable` then says why */
  io: FdIo | null;
  unavailable?: string;
  /** /sys/class/hidraw (tests: a fake tree) */
  sysfsRoot?: string;
  devInput?: string;
}

export class KeypadGrab {
  private readonly fds = new Map<string, number>();

  constructor(private readonly o: KeypadGrabOptions) {}

  /** Grab every evdev node of the keypad behind these paths; nodes already held stay held. */
  grab(paths: readonly string[]): GrabOutcome {
    const hidraw = paths.filter((p) => p.startsWith('/dev/hidraw'));
    // libusb paths: hidapi detached the kernel's driver, so there is no input device to grab.
    if (hidraw.length === 0) return { exclusive: true, nodes: [] };
    let nodes: string[];
    try {
      nodes = [...new Set(hidraw.flatMap((p) => eventNodesOf(p, this.o.sysfsRoot ?? HIDRAW_CLASS, this.o.devInput)))];
    } catch (err) {
      return this.outcome(
        'keypad-grab-unavailable',
        `cannot find the input nodes of ${hidraw.join(', ')} in sysfs (${messageOf(err)}); its keys may reach the text console.`,
      );
    }
    const { io } = this.o;
    if (nodes.length > 0 && !io) {
      return this.outcome(
        'keypad-grab-unavailable',
        `${this.o.unavailable ?? 'the ioctl module is not loaded'}; the keys of this keypad also reach the text console.`,
      );
    }
    for (const node of nodes) {
      if (this.fds.has(node) || !io) continue;
      let fd: number;
      try {
        fd = io.open(node, 'read');
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENODEV') continue; // gone between the listing and the open
        if (code === 'EACCES' || code === 'EPERM') {
          return this.outcome(
            'keypad-grab-denied',
            `${node}: permission denied, so the keypad's keys also reach the text console. The installer's udev rule gives a keypad's input nodes to the group beonho: bind the keypad by usb, serial or port (or give --keypad), run the installer again, then unplug and plug the keypad.`,
          );
        }
        return this.outcome('keypad-grab-unavailable', `${node}: cannot open (${messageOf(err)}).`);
      }
      try {
        io.ioctl(fd, EVIOCGRAB, 1);
      } catch (err) {
        io.close(fd);
        if ((err as NodeJS.ErrnoException).code === 'EBUSY') {
          return this.outcome(
            'keypad-grab-busy',
            `${node} is grabbed by another program (a second beonho, or "npm run hw -- keypad" left running?): stop it; the daemon grabs the keypad again by itself.`,
          );
        }
        return this.outcome('keypad-grab-unavailable', `${node}: EVIOCGRAB failed (${messageOf(err)}).`);
      }
      this.fds.set(node, fd);
    }
    return { exclusive: true, nodes: [...this.fds.keys()] };
  }

  /** Close the grabbed nodes: the kernel releases a grab with its file. */
  release(): void {
    for (const fd of this.fds.values()) {
      try {
        this.o.io?.close(fd);
      } catch {
        // an unplugged node may refuse to close; the grab went with the device
      }
    }
    this.fds.clear();
  }

  private outcome(code: GrabCode, message: string): GrabOutcome {
    return { exclusive: false, nodes: [...this.fds.keys()], problem: { code, message } };
  }
}
