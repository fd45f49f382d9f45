// sd_notify: the protocol and its timing with an injected sender and fake timers, then the real
// systemd-notify against a fake notify socket.
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Bus } from '../device/bus.ts';
import { configSchema } from '../device/config/schema.ts';
import type { ExtensionContext } from '../device/extension.ts';
import type { QueueService } from '../device/queue/service.ts';
import {
  createSystemdExtension,
  type NotifySender,
  systemdNotifySender,
  watchdogIntervalMs,
} from '../device/systemd.ts';
import { fakeNotifySocket } from './fixtures/deploy-notify-socket.ts';

const config = configSchema.parse({
  office: { id: 'singok2', name: '신곡2동 행정복지센터' },
  device: { id: 'main' },
  services: [{ id: 'resident', name: '주민등록', numbers: { from: 1001, to: 1999 } }],
  counters: [{ id: '1', name: '1번 창구', services: ['resident'] }],
});

let logs: Array<Record<string, unknown>>;
function context(): ExtensionContext {
  logs = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => logs.push(JSON.parse(s)) });
  return { config, bus: new Bus(), queue: {} as QueueService, logger, dataDir: '/nonexistent', now: () => 0 };
}

function recorder(): NotifySender & { sent: string[][] } {
  const sent: string[][] = [];
  return {
    sent,
    async send(lines) {
      sent.push(lines);
    },
  };
}

const ENV = { NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '30000000' };

describe('watchdogIntervalMs', () => {
  it('is half of WATCHDOG_USEC, and null when unset or meant for another process', () => {
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000' }, 42)).toBe(15_000);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '42' }, 42)).toBe(15_000);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '7' }, 42)).toBeNull();
    expect(watchdogIntervalMs({}, 42)).toBeNull();
    expect(watchdogIntervalMs({ WATCHDOG_USEC: 'x' }, 42)).toBeNull();
  });
});

describe('the systemd extension', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('does nothing without NOTIFY_SOCKET', async () => {
    const sender = recorder();
    const ext = createSystemdExtension(context(), { env: { WATCHDOG_USEC: '30000000' }, sender });
    await ext.start();
    await vi.advanceTimersByTimeAsync(120_000);
    await ext.stop();
    expect(sender.sent).toEqual([]);
  });

  it('says READY=1 with a status on start, pings at half the watchdog period, STOPPING=1 on stop', async () => {
    const sender = recorder();
    const ext = createSystemdExtension(context(), { env: ENV, sender, pid: 1 });
    await ext.start();
    expect(sender.sent).toEqual([['READY=1', 'STATUS=office singok2, device main']]);
    await vi.advanceTimersByTimeAsync(14_999);
    expect(sender.sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sender.sent.at(-1)).toEqual(['WATCHDOG=1']);
    await vi.advanceTimersByTimeAsync(45_000);
    expect(sender.sent.filter((l) => l[0] === 'WATCHDOG=1')).toHaveLength(4);
    await ext.stop();
    expect(sender.sent.at(-1)).toEqual(['STOPPING=1', 'STATUS=stopping']);
    const count = sender.sent.length;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sender.sent).toHaveLength(count);
  });

  it('reports the central link and the last component error in STATUS, once per change', async () => {
    const ctx = context();
    const sender = recorder();
    const ext = createSystemdExtension(ctx, { env: ENV, sender });
    await ext.start();
    ctx.bus.emit('linkChanged', { online: false });
    ctx.bus.emit('linkChanged', { online: false });
    ctx.bus.emit('healthChanged', {
      component: 'printer',
      health: { connected: false, lastError: 'printer-offline', lastErrorAt: '2026-11-26T10:00:00+09:00' },
    });
    ctx.bus.emit('linkChanged', { online: true });
    // the printer back: its failure is kept in its health, and is still not newer than the link's
    ctx.bus.emit('healthChanged', {
      component: 'mqtt-uplink',
      health: { connected: false, lastError: 'uplink-down', lastErrorAt: '2026-11-26T10:01:00+09:00' },
    });
    ctx.bus.emit('healthChanged', {
      component: 'printer',
      health: { connected: true, lastError: 'printer-offline', lastErrorAt: '2026-11-26T10:00:00+09:00' },
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(sender.sent.slice(1)).toEqual([
      ['STATUS=office singok2, device main, central offline'],
      ['STATUS=office singok2, device main, central offline, last error printer: printer-offline'],
      ['STATUS=office singok2, device main, central online, last error printer: printer-offline'],
      ['STATUS=office singok2, device main, central online, last error mqtt-uplink: uplink-down'],
    ]);
    await ext.stop();
    ctx.bus.emit('linkChanged', { online: false });
    expect(sender.sent.at(-1)).toEqual(['STOPPING=1', 'STATUS=stopping']);
  });

  it('withholds the ping while the daemon reports itself wedged', async () => {
    let alive = true;
    const sender = recorder();
    const ext = createSystemdExtension(context(), { env: ENV, sender, alive: () => alive });
    await ext.start();
    await vi.advanceTimersByTimeAsync(15_000);
    alive = false;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sender.sent.filter((l) => l[0] === 'WATCHDOG=1')).toHaveLength(1);
    expect(logs.some((l) => l.code === 'watchdog-skipped')).toBe(true);
    await ext.stop();
  });

  it('does not pile up pings behind a slow one', async () => {
    const pending: Array<() => void> = [];
    const sent: string[][] = [];
    const sender: NotifySender = {
      send(lines) {
        sent.push(lines);
        return lines[0] === 'WATCHDOG=1' ? new Promise((r) => pending.push(r)) : Promise.resolve();
      },
    };
    const ext = createSystemdExtension(context(), { env: ENV, sender });
    await ext.start();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sent.filter((l) => l[0] === 'WATCHDOG=1')).toHaveLength(1);
    pending.shift()?.();
    await vi.advanceTimersByTimeAsync(15_000);
    expect(sent.filter((l) => l[0] === 'WATCHDOG=1')).toHaveLength(2);
    for (const r of pending) r();
    await ext.stop();
  });

  it('keeps running when notifications fail, and logs with a code, not on every ping', async () => {
    const sender: NotifySender = { send: () => Promise.reject(new Error('spawn systemd-notify ENOENT')) };
    const ext = createSystemdExtension(context(), { env: ENV, sender });
    await ext.start();
    await vi.advanceTimersByTimeAsync(15_000 * 10);
    await ext.stop();
    const errors = logs.filter((l) => l.code === 'systemd-notify-failed');
    expect(errors).toHaveLength(1);
    expect(String(errors[0]?.msg)).toMatch(/systemd-notify/);
  });
});

describe('systemd-notify on a real socket', () => {
  it('delivers READY=1 and STATUS in one datagram, and WATCHDOG=1', async () => {
    const sock = await fakeNotifySocket();
    try {
      const sender = systemdNotifySender(sock.path);
      await sender.send(['READY=1', 'STATUS=office singok2, device main']);
      await sender.send(['WATCHDOG=1']);
      await sock.waitFor((t) => t === 'WATCHDOG=1');
      expect(sock.messages.map((m) => m.text)).toEqual(['READY=1\nSTATUS=office singok2, device main', 'WATCHDOG=1']);
    } finally {
      await sock.close();
    }
  });

  it('rejects when nobody listens', async () => {
    await expect(systemdNotifySender('/nonexistent/notify.sock').send(['READY=1'])).rejects.toThrow();
  });
});
