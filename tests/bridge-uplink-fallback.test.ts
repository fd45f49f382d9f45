// The MQTT 5 to 3.1.1 fallback when central's broker just closes the socket on an MQTT 5 CONNECT
// (RabbitMQ's MQTT plugin does: it cannot parse one, and sends no CONNACK). A raw TCP server plays
// that broker: it reads each CONNECT's protocol level, closes on the levels it is told to, and hands
// the others to an in-process aedes.
import { Aedes } from 'aedes';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Uplink } from '../bridge/uplink/uplink.ts';
import { freePort, waitFor } from './bridge-helpers.ts';
import { testUplink } from './helpers/uplink.ts';

interface LogLine {
  level: number;
  code?: string;
  msg: string;
  protocolVersion?: number;
}

function capture() {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l) as LogLine);
      done();
    },
  });
  return { lines, logger: pino({ level: 'debug' }, stream) };
}

/** The protocol level of a CONNECT at the start of buf, or null until enough bytes came. */
function connectLevel(buf: Buffer): number | null {
  if (buf.length < 2 || buf[0] !== 0x10) return buf.length >= 2 ? -1 : null;
  let i = 1;
  while (i < buf.length && (buf[i]! & 0x80) !== 0) i++;
  const at = i + 1 + 2 + 4; // remaining length, then the protocol name ("MQTT", length-prefixed)
  return buf.length > at ? buf[at]! : null;
}

/** A broker that closes the connection on a CONNECT of the given levels, without a CONNACK. */
async function closingBroker(closeOn: Set<number>) {
  const aedes = await Aedes.createBroker();
  const levels: number[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let got = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      const level = connectLevel(got);
      if (level === null) return;
      socket.off('data', onData);
      levels.push(level);
      if (closeOn.has(level)) {
        socket.end();
        return;
      }
      socket.pause();
      socket.unshift(got);
      aedes.handle(socket);
    };
    socket.on('data', onData);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`,
    levels,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => aedes.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function uplink(url: string, logger: ReturnType<typeof capture>['logger']): Uplink {
  return testUplink(url, { logger });
}

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

describe('MQTT 5 to 3.1.1 fallback on a close before CONNACK', () => {
  it('connects with 3.1.1 to a broker that closes MQTT 5 connections, and warns once', async () => {
    const broker = await closingBroker(new Set([5]));
    cleanup.push(() => broker.close());
    const log = capture();
    const up = uplink(broker.url, log.logger);
    cleanup.push(() => up.stop());
    let failed = 0;
    up.onAttemptFailed(() => failed++);
    up.start();
    await waitFor(() => up.connected(), 10_000, 'connected over 3.1.1');
    expect(broker.levels).toEqual([5, 4]);
    // reaching a 3.1.1-only broker is no failed attempt: the status would say uplink-down all day
    expect(failed).toBe(0);
    const noConnack = log.lines.filter((l) => l.code === 'uplink-no-connack');
    expect(noConnack.map((l) => l.level)).toEqual([40]);
    // a newcomer's reading: where it went, what to check, and that nothing is lost meanwhile
    expect(noConnack[0]).toMatchObject({ url: broker.url, protocolVersion: 5 });
    expect(noConnack[0]?.msg).toMatch(
      /^the connection to central was closed before central's MQTT reply \(no CONNACK\)/,
    );
    expect(noConnack[0]?.msg).toMatch(/check that mqtt\.uplink\.url is the host and port of central's MQTT broker/);
    expect(noConnack[0]?.msg).toMatch(/npm run central/);
    expect(noConnack[0]?.msg).toMatch(/MQTT 3\.1\.1 is tried next; the office keeps its events and retries$/);
    expect(log.lines.find((l) => l.msg === 'uplink connected')?.protocolVersion).toBe(4);
  });

  it('goes back to MQTT 5 when 3.1.1 is closed the same way, and warns only once while it lasts', async () => {
    const broker = await closingBroker(new Set([4, 5]));
    cleanup.push(() => broker.close());
    const log = capture();
    const up = uplink(broker.url, log.logger);
    cleanup.push(() => up.stop());
    up.start();
    let failed = 0;
    up.onAttemptFailed(() => failed++);
    await waitFor(() => broker.levels.length >= 5, 10_000, 'five attempts');
    expect(broker.levels.slice(0, 5)).toEqual([5, 4, 5, 4, 5]);
    // both versions closed: a failed attempt at each 3.1.1 one
    expect(failed).toBeGreaterThanOrEqual(2);
    const noConnack = log.lines.filter((l) => l.code === 'uplink-no-connack');
    expect(noConnack.filter((l) => l.level >= 40)).toHaveLength(1);
    expect(up.connected()).toBe(false);
  });

  it('stays on MQTT 5 when nothing listens (a refused connection says nothing about the version)', async () => {
    const port = await freePort();
    const log = capture();
    const up = uplink(`mqtt://127.0.0.1:${port}`, log.logger);
    cleanup.push(() => up.stop());
    up.start();
    await waitFor(() => log.lines.filter((l) => l.code === 'uplink-error').length >= 4, 10_000, 'four refusals');
    expect(log.lines.some((l) => l.code === 'uplink-mqtt5-refused' || l.code === 'uplink-no-connack')).toBe(false);
  });
});
