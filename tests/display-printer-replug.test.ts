// A USB printer unplugged (or switched off) and plugged back: the descriptor the daemon opened
// before stays dead (the kernel answers ENODEV) while the device node, opened again, is the
// printer. The dispenser must neither issue a number it cannot print nor refuse a press because
// of the old descriptor.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { EscposPrinter } from '../display/printer/escpos-printer.ts';
import { type DeviceHandle, DeviceTransport } from '../display/printer/transport.ts';

/** The printer behind /dev/usb/lp0: each plug-in is a new device; a descriptor of an earlier one
 * fails every read and write, as usblp's does once its device is gone. Answers DLE EOT n "ready". */
class UsbPrinter {
  plugged = true;
  private generation = 0;
  opened = 0;
  received = 0;
  replug(): void {
    this.generation += 1;
  }
  readonly openDevice = async (): Promise<DeviceHandle> => {
    if (!this.plugged) throw Object.assign(new Error('ENOENT: no such file or directory'), { code: 'ENOENT' });
    this.opened += 1;
    const mine = this.generation;
    const alive = () => {
      if (mine !== this.generation || !this.plugged)
        throw Object.assign(new Error('ENODEV: no such device'), { code: 'ENODEV' });
    };
    const answers: number[] = [];
    return {
      write: async (b, o, l) => {
        alive();
        if (b[o] === 0x10 && b[o + 1] === 0x04) answers.push(0x12);
        else this.received += l;
        return { bytesWritten: l };
      },
      read: async (buf) => {
        alive();
        const a = answers.shift();
        if (a === undefined) return { bytesRead: 0 };
        buf[0] = a;
        return { bytesRead: 1 };
      },
      close: async () => {},
    };
  };
}

const image = { width: 8, height: 8, data: new Uint8ClampedArray(8 * 8 * 4).fill(255) };
const logger = pino({ level: 'silent' });

function printerOn(usb: UsbPrinter, statusQuery: boolean): EscposPrinter {
  const transport = new DeviceTransport('/dev/usb/lp0', { openDevice: usb.openDevice });
  return new EscposPrinter(
    transport,
    { device: '/dev/usb/lp0', widthDots: 576, statusTimeoutMs: 50, statusQuery },
    logger,
  );
}

describe('a printer unplugged and plugged back between two tickets', () => {
  it('statusQuery off: the status opens the device anew, so the ticket after it prints', async () => {
    const usb = new UsbPrinter();
    const p = printerOn(usb, false);
    await p.open();
    expect((await p.status()).ready).toBe(true);
    usb.replug();
    expect((await p.status()).ready).toBe(true);
    await p.print({ image, day: '2026-11-26', number: '1001' });
    expect(usb.received).toBeGreaterThan(0);
    expect(p.health()).toMatchObject({ printed: 1, failed: 0 });
    await p.close();
  });

  it('statusQuery off: a printer unplugged is not ready, though the old descriptor is still open', async () => {
    const usb = new UsbPrinter();
    const p = printerOn(usb, false);
    await p.open();
    usb.plugged = false;
    expect(await p.status()).toMatchObject({ ready: false, online: false });
    await p.close();
  });

  it('statusQuery on: the first press after the replug is answered by the printer, not refused', async () => {
    const usb = new UsbPrinter();
    const p = printerOn(usb, true);
    await p.open();
    expect((await p.status()).ready).toBe(true);
    usb.replug();
    expect(await p.status()).toEqual({ online: true, paper: 'ok', ready: true, error: null });
    await p.print({ image, day: '2026-11-26', number: '1001' });
    expect(p.health()).toMatchObject({ printed: 1, failed: 0 });
    usb.plugged = false;
    expect(await p.status()).toMatchObject({ ready: false, error: 'printer-offline' });
    await p.close();
  });
});
