// A command is acknowledged (PUBACK) only once its result is durable, on the embedded broker and on
// the uplink alike: with the disk's fsync held, the publisher's (or the device's) PUBACK does not go
// out; once the fsync completes, it does. Retained commands on the uplink: never carried out. A packet
// larger than the uplink takes: dropped at its header.
import { Aedes } from 'aedes';
import { type AddressInfo, createServer } from 'node:net';
import pino from 'pino';
import { ulid } from 'ulid';
import { describe, expect, it } from 'vitest';
import type { CommandResult } from '../bridge/contract/types.ts';
import { type FileHandleLike, nodeFs, type StoreFs } from '../device/store/fs.ts';
import { connect, Inbox, MORNING, testConfig, waitFor } from './bridge-helpers.ts';
import { bootDaemon } from './helpers/boot.ts';
import { Clock } from './helpers/office.ts';

const T = 'beonho/v1/singok2';
const CMD = `${T}/cmd`;
const issue = (id: string) =>
  JSON.stringify({ id, type: 'ticket.issue', service: 'passport', channel: 'online', ref: `r-${id}` });

/** The real file system, whose fsyncs can be held back: while held, nothing new becomes durable. */
class HeldFs implements StoreFs {
  private held: Array<() => void> | null = null;
  readFile = nodeFs.readFile;
  rename = nodeFs.rename;
  syncDir = nodeFs.syncDir;
  list = nodeFs.list;
  size = nodeFs.size;
  unlink = nodeFs.unlink;
  truncate = nodeFs.truncate;
  mkdirp = nodeFs.mkdirp;
  hold(): void {
    this.held = [];
  }
  /** how many fsyncs wait */
  get waiting(): number {
    return this.held?.length ?? 0;
  }
  release(): void {
    const waiting = this.held ?? [];
    this.held = null;
    for (const go of waiting) go();
  }
  async openAppend(file: string): Promise<FileHandleLike> {
    return this.wrap(await nodeFs.openAppend(file));
  }
  async createExclusive(file: string, mode?: number): Promise<FileHandleLike> {
    return this.wrap(await nodeFs.createExclusive(file, mode));
  }
  private wrap(fh: FileHandleLike): FileHandleLike {
    return {
      write: (d) => fh.write(d),
      close: () => fh.close(),
      datasync: async () => {
        if (this.held) await new Promise<void>((go) => this.held!.push(go));
        await fh.datasync();
      },
    };
  }
}

/** Central's broker: an aedes on a loopback port. */
async function centralBroker(): Promise<{ central: Aedes; url: string; close: () => Promise<void> }> {
  const central = await Aedes.createBroker();
  const server = createServer(central.handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = async (): Promise<void> => {
    await new Promise<void>((r) => central.close(() => r()));
    await new Promise<void>((r) => server.close(() => r()));
  };
  return { central, url, close };
}

/** Long enough for a PUBACK written before the fsync to have crossed loopback: what this test
 * would see if the acknowledgement came first. It never makes a correct build fail. */
const grace = () => new Promise((r) => setTimeout(r, 150));

async function boot(config: ReturnType<typeof testConfig>, fs: StoreFs) {
  return bootDaemon({
    config,
    storeFs: fs,
    clock: new Clock(MORNING),
    newId: () => ulid(),
    features: ['mqtt'],
    onFatal: (err) => {
      throw err;
    },
  });
}

describe('a command is acknowledged once its result is durable', () => {
  it('on the embedded broker: the publisher gets its PUBACK only after the fsync', async () => {
    const fs = new HeldFs();
    const { daemon, stop } = await boot(testConfig(), fs);
    const c = await connect(`mqtt://127.0.0.1:${daemon.parts.bridge!.parts.broker!.ports.tcp}`, {
      username: 'central',
      password: 'central',
    });
    try {
      await daemon.queue.execute({ type: 'day.open' });
      const results = new Inbox(c);
      await c.subscribeAsync(`${T}/cmd/result`, { qos: 1 });
      fs.hold();
      let acked = false;
      const pub = c.publishAsync(CMD, issue('k-1'), { qos: 1 }).then(() => {
        acked = true;
      });
      await waitFor(() => fs.waiting > 0, 5000, 'the journal fsync');
      await grace();
      expect(acked).toBe(false);
      fs.release();
      await pub;
      await results.until(() => results.messages.length > 0, 5000, 'the result');
      expect(results.messages[0]!.json).toMatchObject({ id: 'k-1', ok: true, result: { ticket: { number: '2001' } } });
    } finally {
      fs.release();
      await c.endAsync();
      await stop();
    }
  });

  it("on the uplink: central's broker gets the device's PUBACK only after the fsync", async () => {
    const { central, url, close } = await centralBroker();
    const fs = new HeldFs();
    const config = testConfig({
      broker: { enabled: false },
      uplink: { url, protocolVersion: 4, reconnectMinMs: 20, reconnectMaxMs: 100 },
    });
    const { daemon, stop } = await boot(config, fs);
    const acks: string[] = [];
    central.on('ack', (packet) => {
      if (packet && 'topic' in packet && packet.topic === CMD) acks.push(String(packet.payload));
    });
    const c = await connect(url);
    try {
      await waitFor(() => daemon.parts.bridge!.parts.uplink!.connected(), 10_000, 'uplink');
      await daemon.queue.execute({ type: 'day.open' });
      const results = new Inbox(c);
      await c.subscribeAsync(`${T}/cmd/result`, { qos: 1 });
      fs.hold();
      await c.publishAsync(CMD, issue('u-1'), { qos: 1 });
      await waitFor(() => fs.waiting > 0, 5000, 'the journal fsync');
      await grace();
      expect(acks).toEqual([]);
      fs.release();
      await waitFor(() => acks.length === 1, 5000, "the device's PUBACK");
      await results.until(() => results.messages.length > 0, 5000, 'the result');
      expect(results.messages[0]!.json).toMatchObject({ id: 'u-1', ok: true });
    } finally {
      fs.release();
      await c.endAsync();
      await stop();
      await close();
    }
  });
});

describe('retained commands on the uplink', () => {
  it('are never carried out: an unanswered id gets retained-command, an answered one its first result', async () => {
    const { url, close } = await centralBroker();
    const c = await connect(url);
    const results = new Inbox(c);
    await c.subscribeAsync(`${T}/cmd/result`, { qos: 1 });
    // left retained at central before the device ever connected
    await c.publishAsync(CMD, issue('never'), { qos: 1, retain: true });
    const config = testConfig({
      broker: { enabled: false },
      uplink: { url, protocolVersion: 4, reconnectMinMs: 20, reconnectMaxMs: 100 },
    });
    const { daemon, stop } = await boot(config, nodeFs);
    const uplink = daemon.parts.bridge!.parts.uplink!;
    const answers = (id: string) => results.messages.map((m) => m.json as CommandResult).filter((r) => r.id === id);
    const refs = () => Object.values(daemon.queue.state().tickets).map((t) => t.ref);
    try {
      await daemon.queue.execute({ type: 'day.open' });
      await results.until(() => answers('never').length === 1, 10_000, 'the answer to the retained command');
      expect(answers('never')[0]).toMatchObject({ ok: false, error: { code: 'retained-command' } });
      // a live command, then central leaves its copy retained: it replaces the other one
      await c.publishAsync(CMD, issue('once'), { qos: 1 });
      await results.until(() => answers('once').length === 1, 5000, 'the live result');
      const first = answers('once')[0]!;
      expect(first).toMatchObject({ ok: true, result: { ticket: { number: '2001' } } });
      await c.publishAsync(CMD, issue('once'), { qos: 1, retain: true });
      await results.until(() => answers('once').length === 2, 5000, 'the repeat');
      // the device reconnects: the broker hands it the retained copy, retain flag set
      await uplink.stop();
      uplink.start();
      await results.until(() => answers('once').length === 3, 10_000, 'the answer to the retained copy');
      expect(answers('once')).toEqual([first, first, first]);
      expect(answers('never')).toHaveLength(1);
      expect(refs().filter((r) => r === 'r-once')).toHaveLength(1);
      expect(refs().filter((r) => r === 'r-never')).toHaveLength(0);
    } finally {
      await c.endAsync();
      await stop();
      await close();
    }
  });
});

describe('a packet larger than the uplink takes', () => {
  it('drops the connection at its header, logs it, and the next command after the reconnect runs', async () => {
    const { central, url, close } = await centralBroker();
    const lines: string[] = [];
    const config = testConfig({
      broker: { enabled: false },
      uplink: { url, protocolVersion: 4, reconnectMinMs: 20, reconnectMaxMs: 100 },
    });
    const { daemon, stop } = await bootDaemon({
      config,
      clock: new Clock(MORNING),
      newId: () => ulid(),
      features: ['mqtt'],
      logger: pino({ level: 'info' }, { write: (l: string) => lines.push(l) }),
    });
    const uplink = daemon.parts.bridge!.parts.uplink!;
    const c = await connect(url);
    const results = new Inbox(c);
    const closes: number[] = [];
    central.on('clientDisconnect', () => closes.push(Date.now()));
    try {
      await c.subscribeAsync(`${T}/cmd/result`, { qos: 1 });
      await waitFor(() => uplink.connected(), 10_000, 'uplink');
      await daemon.queue.execute({ type: 'day.open' });
      // at QoS 0, so central's broker does not send it again at the next connection
      await c.publishAsync(CMD, Buffer.alloc(200 * 1024, 0x20), { qos: 0 });
      await waitFor(() => lines.some((l) => l.includes('"uplink-packet-too-large"')), 10_000, 'the log line');
      const line = JSON.parse(lines.find((l) => l.includes('"uplink-packet-too-large"'))!);
      expect(line).toMatchObject({ level: 50, reason: 'mqtt-packet-too-large', max: 64 * 1024 });
      expect(line.announced).toBeGreaterThan(200 * 1024);
      // central's broker sees the close on its own next read, not by the time the device logs it
      await waitFor(() => closes.length > 0, 10_000, "central's broker seeing the connection closed");
      // a command the size of a command, after the device has connected again
      await waitFor(() => uplink.connected(), 10_000, 'the uplink back');
      // the status's reason is the device's own, not "central closed the connection"
      expect(uplink.failureReason()).toBe('central sent a packet over 64 KiB');
      await c.publishAsync(CMD, issue('after-big'), { qos: 1 });
      await results.until(() => results.messages.length > 0, 10_000, 'the result');
      expect(results.messages[0]!.json).toMatchObject({ id: 'after-big', ok: true });
    } finally {
      await c.endAsync();
      await stop();
      await close();
    }
  });
});
