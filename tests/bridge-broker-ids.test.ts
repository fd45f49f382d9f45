// Client ids on the embedded broker (issue 12, defects 6, 9 and 15): capped at 128 bytes under
// MQTT 3.1.1 too, an empty id only for a clean session, ids tied to accounts so that a display
// cannot knock central off by taking its id; refused logins logged short and rate-limited.
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../bridge/broker/passwords.ts';
import { clipName } from '../bridge/log-names.ts';
import { connectPacket, type LogCapture, mqttConnect, RawClient, startTestBroker } from './bridge-broker-raw.ts';
import type { EmbeddedBroker } from '../bridge/broker/broker.ts';

let broker: EmbeddedBroker;
let log: LogCapture;
let port: number;
let url: string;

beforeAll(async () => {
  const boardHash = await hashPassword('board-pw', { N: 1024, r: 8, p: 1 });
  const b = await startTestBroker({
    accounts: [{ username: 'board', passwordHash: boardHash, role: 'display' }],
    // a burst of 100 logins from one address below: room for all of them to reach the password check
    limits: { maxPacketBytes: 131_072, pendingConnections: 128, pendingPerSource: 128 },
  });
  ({ broker, log, port } = b);
  url = `mqtt://127.0.0.1:${port}`;
});
let closed = false;
afterAll(async () => {
  if (!closed) await broker?.close();
});

async function connack(packet: Buffer): Promise<number | null> {
  const r = new RawClient(port);
  try {
    await r.opened;
    r.write(packet);
    return await r.connack();
  } finally {
    r.destroy();
  }
}

const central = { username: 'central', password: 'central' };
const board = { username: 'board', password: 'board-pw' };

/** Resolves true if the client is closed by the broker before a round trip through it completes. */
async function knockedOff(c: MqttClient): Promise<boolean> {
  if (!c.connected) return true;
  const closed = new Promise<boolean>((resolve) => c.once('close', () => resolve(true)));
  const alive = c.subscribeAsync('beonho/v1/singok2/state').then(
    () => false,
    () => true,
  );
  return Promise.race([closed, alive]);
}

describe('client id length', () => {
  it('refuses an id over 128 bytes under MQTT 3.1.1 with CONNACK 2, and takes one of 128', async () => {
    expect(await connack(connectPacket({ clientId: `central-${'x'.repeat(65_527)}`, ...central }))).toBe(2);
    expect(await connack(connectPacket({ clientId: `central-${'x'.repeat(121)}`, ...central }))).toBe(2);
    expect(await connack(connectPacket({ clientId: `central-${'x'.repeat(120)}`, ...central }))).toBe(0);
    expect(log.withCode('mqtt-client-id-too-long').length).toBeGreaterThan(0);
  });
});

describe('an empty client id', () => {
  it('is refused with clean=false (CONNACK 2) and given one by the broker with clean=true', async () => {
    expect(await connack(connectPacket({ clientId: '', clean: false, ...central }))).toBe(2);
    expect(await connack(connectPacket({ clientId: '', clean: true, ...central }))).toBe(0);
    expect(log.withCode('mqtt-client-id-empty-persistent')).toHaveLength(1);
  });
});

describe('client ids tied to accounts', () => {
  it("does not let a display take central's id: the display is refused, central stays", async () => {
    const c = await mqttConnect(url, { ...central, clientId: 'central-desk' });
    await expect(mqttConnect(url, { ...board, clientId: 'central-desk' })).rejects.toThrow(/identifier rejected/i);
    await expect(mqttConnect(url, { ...board, clientId: 'central' })).rejects.toThrow(/identifier rejected/i);
    expect(await knockedOff(c)).toBe(false);
    // Its own ids are fine.
    const d = await mqttConnect(url, { ...board, clientId: 'board-hall' });
    await d.endAsync();
    await c.endAsync();
  });

  it('reserves `<username>-…` even while its account is away', async () => {
    await expect(mqttConnect(url, { ...board, clientId: 'central-away' })).rejects.toThrow(/identifier rejected/i);
  });

  it('gives any other id to the account whose session holds it, until a clean session ends', async () => {
    const c = await mqttConnect(url, { ...central, clientId: 'desk-7' });
    await expect(mqttConnect(url, { ...board, clientId: 'desk-7' })).rejects.toThrow(/identifier rejected/i);
    expect(await knockedOff(c)).toBe(false);
    // The same account may take its own id over (the older connection ends, as MQTT says).
    const c2 = await mqttConnect(url, { ...central, clientId: 'desk-7' });
    expect(await knockedOff(c)).toBe(true);
    await expect(mqttConnect(url, { ...board, clientId: 'desk-7' })).rejects.toThrow(/identifier rejected/i);
    await c2.endAsync();
    // The clean session is over: the id is free.
    const d = await mqttConnect(url, { ...board, clientId: 'desk-7' });
    await d.endAsync();
  });

  it('keeps a persistent session’s id for its account after it disconnects', async () => {
    const c = await mqttConnect(url, { ...central, clientId: 'desk-9', clean: false });
    await c.endAsync();
    await expect(mqttConnect(url, { ...board, clientId: 'desk-9' })).rejects.toThrow(/identifier rejected/i);
  });

  it('answers a wrong password with CONNACK 4 whatever the id, so ids reveal no account names', async () => {
    expect(await connack(connectPacket({ clientId: 'central-x', username: 'board', password: 'wrong' }))).toBe(4);
  });
});

describe('personal data in the names a client chooses', () => {
  it('keeps a phone or resident number typed as a client id, a user name or a topic out of the log', async () => {
    // its own broker: the shared one's rate-limited log has already said these codes in full
    const own = await startTestBroker({
      accounts: [
        { username: 'board', passwordHash: await hashPassword('board-pw', { N: 1024, r: 8, p: 1 }), role: 'display' },
      ],
    });
    try {
      const at = (p: Buffer) => {
        const r = new RawClient(own.port);
        return r.opened
          .then(() => r.write(p))
          .then(() => r.connack())
          .finally(() => r.destroy());
      };
      expect(await at(connectPacket({ clientId: '010-1234-5678', username: '900101-1234567', password: 'x' }))).toBe(4);
      expect(await at(connectPacket({ clientId: '김민수', username: '홍길동', password: 'x' }))).toBe(4);
      const c = await mqttConnect(`mqtt://127.0.0.1:${own.port}`, { ...board, clientId: 'board-01012345678' });
      await c.subscribeAsync('beonho/v1/01012345678/cmd').catch(() => undefined);
      c.end(true);
    } finally {
      await own.broker.close();
    }
    const text = JSON.stringify(own.log.lines);
    for (const personal of ['1234', '5678', '1234567', '01012345678', '김민수', '홍길동']) {
      expect(text).not.toContain(personal);
    }
    const refused = own.log.lines.find((l) => String(l.code).startsWith('mqtt-auth-'))!;
    expect(refused).toMatchObject({ clientId: '###-####-####', username: '######-#######' });
    expect(own.log.withCode('mqtt-subscribe-denied')[0]).toMatchObject({
      clientId: 'board-###########',
      topic: 'beonho/v#/###########/cmd', // counted over the whole topic: 010/1234/5678 is caught too
    });
  });

  it('leaves slugs and short digit runs as they are, and cuts long names first', () => {
    expect(clipName('beonho-singok2-main')).toBe('beonho-singok2-main');
    expect(clipName('beonho/v1/singok2/devices/sat-1/status', 200)).toBe('beonho/v1/singok2/devices/sat-1/status');
    expect(clipName('mqttjs_3f9a8b2c')).toBe('mqttjs_3f9a8b2c');
    expect(clipName('tel:０１０-１２３４-５６７８')).toBe('tel:???-????-????'); // full-width digits count
    expect(clipName(`${'a'.repeat(64)}01012345678`)).toBe(`${'a'.repeat(64)}…(+11)`);
    expect(clipName(null)).toBeUndefined();
  });
});

describe('refused logins in the log', () => {
  it('cuts ids and user names short and sums up a burst in one line', async () => {
    const before = log.bytes;
    const longName = 'n'.repeat(10_000);
    const lines = log.lines.length;
    const codes = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        connack(connectPacket({ clientId: `x${i}`, username: longName, password: 'pw' })),
      ),
    );
    expect(codes.every((c) => c === 3 || c === 4)).toBe(true);
    closed = true;
    await broker.close(); // writes the pending summaries
    const refusals = log.lines.slice(lines).filter((l) => String(l.code).startsWith('mqtt-auth-'));
    expect(refusals.length).toBeLessThanOrEqual(4); // per code: the first in full, then one summary
    const counted = refusals.reduce((n, l) => n + ((l.suppressed as number | undefined) ?? 1), 0);
    expect(counted).toBe(100);
    const first = refusals.find((l) => l.username !== undefined)!;
    expect(String(first.username).length).toBeLessThan(100);
    expect(log.bytes - before).toBeLessThan(4096);
  });
});
