// Small parts of the bridge: topics, ACL rules, config defaults and refusals, the persisted
// session counter and the upgrade of the old command-id memory file.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mayPublish, mayRead, maySubscribe } from '../bridge/broker/acl.ts';
import { CommandMemory } from '../bridge/commands/memory.ts';
import { officeTopics, parseTopic, responseTopic } from '../bridge/contract/topics.ts';
import type { CommandResult, DeviceStatus } from '../bridge/contract/types.ts';
import { brokerSink } from '../bridge/sink.ts';
import type { Snapshot } from '../device/queue/snapshot-types.ts';
import { readSessionSlots, SESSION_BLOCK, SessionCounter } from '../bridge/uplink/session.ts';
import { mqttSchema } from '../device/config/mqtt-schema.ts';
import { CommandLog } from '../device/store/command-log.ts';
import { nodeFs, type StoreFs } from '../device/store/fs.ts';
import { logger, tempDir } from './bridge-helpers.ts';
import { captureLogger } from './hw-fakes.ts';

describe('topics', () => {
  it('builds and parses every contract topic, and nothing else', () => {
    const t = officeTopics('singok2');
    expect(parseTopic(t.state)).toEqual({ office: 'singok2', kind: 'state' });
    expect(parseTopic(t.events)).toEqual({ office: 'singok2', kind: 'events' });
    expect(parseTopic(t.cmd)).toEqual({ office: 'singok2', kind: 'cmd' });
    expect(parseTopic(t.cmdResult)).toEqual({ office: 'singok2', kind: 'cmd/result' });
    expect(parseTopic(t.status('main'))).toEqual({ office: 'singok2', kind: 'status', device: 'main' });
    for (const bad of [
      'beonho/v1/singok2',
      'beonho/v2/singok2/state',
      'beonho/v1/Singok2/state',
      'beonho/v1/singok2/cmd/x',
      'beonho/v1/singok2/devices/main/state',
      '$SYS/broker',
      'beonho/v1/+/state',
    ]) {
      expect(parseTopic(bad), bad).toBeNull();
    }
  });

  it("takes a response topic a command names only outside beonho's tree", () => {
    expect(responseTopic('central/replies/7')).toBe('central/replies/7');
    expect(responseTopic('beonhox/replies')).toBe('beonhox/replies');
    for (const bad of [
      officeTopics('other').cmdResult,
      officeTopics('other').state,
      officeTopics('other').cmd,
      'beonho/v2/singok2/cmd',
      'beonho',
      '',
      'central/+/x',
      'central/#',
      '$SYS/x',
      officeTopics('singok2').state,
      'beonho/v1/singok2/cmd/result',
      'beonho/v1/singok2/foo',
      'beonho/v1/singok2/devices/x/anything',
      'beonho/v1/singok2',
    ]) {
      expect(responseTopic(bad), bad).toBeNull();
    }
  });

  it("keeps the contract a leaf: it imports the queue's data types and nothing else outside itself", () => {
    const dir = join(import.meta.dirname, '..', 'bridge', 'contract');
    for (const name of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const src = readFileSync(join(dir, name), 'utf8');
      for (const [, from] of src.matchAll(/from '(\.[^']+)'/g)) {
        const ok = from!.startsWith('./') || from!.startsWith('../../device/');
        expect(ok, `bridge/contract/${name} imports ${from}`).toBe(true);
      }
    }
  });

  it('sends on a topic only the payload its kind carries (checked by tsc over tests/), encoded once', async () => {
    const t = officeTopics('singok2');
    const wire: Array<[string, string]> = [];
    const sink = brokerSink({
      publish: async (topic, payload) => {
        wire.push([topic, payload]);
      },
    });
    sink.open();
    const status: DeviceStatus = { v: 1, office: 'singok2', device: 'main', online: true, session: 1 };
    const snapshot = { v: 1, office: 'singok2', seq: 3 } as Snapshot;
    const opts = { qos: 1, retain: true } as const;
    await sink.publish(t.status('main'), status, opts);
    await sink.publish(t.state, snapshot, opts);
    // @ts-expect-error a snapshot is not what the events topic carries
    await sink.publish(t.events, snapshot, opts);
    // @ts-expect-error a device status is not a state snapshot
    await sink.publish(t.state, status, opts);
    // @ts-expect-error a hand-spelled string is not a contract topic
    await sink.publish('beonho/v1/singok2/state', snapshot, opts);
    expect(wire.slice(0, 2)).toEqual([
      [t.status('main'), JSON.stringify(status)],
      [t.state, JSON.stringify(snapshot)],
    ]);
  });
});

describe('ACL', () => {
  const central = { username: 'c', role: 'central' as const, offices: ['singok2'] };
  const any = { username: 'a', role: 'central' as const, offices: ['*'] };
  const board = { username: 'b', role: 'display' as const, offices: ['*'] };
  it('lets central publish only cmd of its offices', () => {
    expect(mayPublish(central, 'beonho/v1/singok2/cmd')).toBe(true);
    expect(mayPublish(central, 'beonho/v1/other/cmd')).toBe(false);
    expect(mayPublish(any, 'beonho/v1/other/cmd')).toBe(true);
    for (const t of [
      'beonho/v1/singok2/state',
      'beonho/v1/singok2/events',
      'beonho/v1/singok2/cmd/result',
      'beonho/v1/singok2/devices/main/status',
      'elsewhere',
    ]) {
      expect(mayPublish(any, t), t).toBe(false);
    }
    expect(mayPublish(board, 'beonho/v1/singok2/cmd')).toBe(false);
  });
  it('lets satellites read state, events and status but not commands', () => {
    expect(mayRead(board, 'beonho/v1/singok2/state')).toBe(true);
    expect(mayRead(board, 'beonho/v1/singok2/events')).toBe(true);
    expect(mayRead(board, 'beonho/v1/singok2/devices/main/status')).toBe(true);
    expect(mayRead(board, 'beonho/v1/singok2/cmd')).toBe(false);
    expect(mayRead(board, 'beonho/v1/singok2/cmd/result')).toBe(false);
    expect(mayRead(central, 'beonho/v1/singok2/cmd/result')).toBe(true);
    expect(mayRead(central, 'beonho/v1/other/state')).toBe(false);
    expect(maySubscribe(board, '$SYS/#')).toBe(false);
    expect(maySubscribe(board, 'beonho/v1/#')).toBe(true);
  });
  it('grants a filter only when it can match a topic the account may read', () => {
    const sat = { username: 'counter-12', role: 'satellite' as const, offices: ['singok2'], counters: ['1'] };
    const display = { username: 'b', role: 'display' as const, offices: ['singok2'] };
    for (const f of [
      '#',
      'beonho/#',
      '+/+/+/state',
      'beonho/v1/+/state',
      'beonho/v1/singok2/state',
      'beonho/v1/singok2/state/#',
      'beonho/v1/singok2/events',
      'beonho/v1/singok2/devices/+/status',
      'beonho/v1/singok2/devices/main/status',
      'beonho/v1/singok2/+',
    ]) {
      expect(maySubscribe(display, f), f).toBe(true);
    }
    for (const f of [
      '',
      '$SYS/#',
      'foo/#',
      'beonho/v2/#',
      'beonho/v1/other/#',
      'beonho/v1/singok2/cmd',
      'beonho/v1/singok2/cmd/result',
      'beonho/v1/singok2/x0/1',
      'beonho/v1/singok2/state/x',
      'beonho/v1/singok2/devices/Main/status',
      'beonho/v1/singok2/devices/main/status/x',
      'beonho/v1/singok2/devices/main',
    ]) {
      expect(maySubscribe(display, f), f).toBe(false);
    }
    expect(maySubscribe(sat, 'beonho/v1/singok2/cmd/result')).toBe(true);
    expect(maySubscribe(sat, 'beonho/v1/singok2/cmd')).toBe(false);
    expect(maySubscribe(central, 'beonho/v1/singok2/cmd')).toBe(true);
    expect(maySubscribe(central, 'beonho/v1/other/state')).toBe(false);
    expect(maySubscribe(any, 'beonho/v1/other/state')).toBe(true);
  });
});

describe('mqtt config', () => {
  it('defaults to an embedded broker on loopback and no uplink', () => {
    const c = mqttSchema.parse({});
    expect(c.broker).toMatchObject({
      enabled: true,
      host: '127.0.0.1',
      port: 1883,
      wsPort: 9001,
      accounts: [],
      demo: false,
    });
    expect(c.uplink).toBeUndefined();
    expect(c.commands).toEqual({ maxBytes: 4096, remember: 2000, idsPerDay: 10000 });
  });
  it('refuses plain passwords, unknown roles and non-MQTT URLs', () => {
    const account = { username: 'x', passwordHash: 'secret', role: 'central' };
    expect(mqttSchema.safeParse({ broker: { accounts: [account] } }).success).toBe(false);
    expect(
      mqttSchema.safeParse({
        broker: { accounts: [{ ...account, passwordHash: 'scrypt$1024$8$1$abc=$def=', role: 'admin' }] },
      }).success,
    ).toBe(false);
    expect(mqttSchema.safeParse({ uplink: { url: 'http://central' } }).success).toBe(false);
    expect(
      mqttSchema.safeParse({ uplink: { url: 'mqtts://central.example:8883', passwordEnv: 'BEONHO_PW' } }).success,
    ).toBe(true);
  });
});

describe('session counter', () => {
  it('grows with every call and goes on above every number it handed out after a restart', async () => {
    const dir = tempDir();
    const a = new SessionCounter({ dir, fs: nodeFs, logger });
    await a.load();
    expect(await a.next()).toBe(1);
    expect(await a.next()).toBe(2);
    const b = new SessionCounter({ dir, fs: nodeFs, logger });
    await b.load();
    expect(b.current()).toBeGreaterThanOrEqual(2);
    expect(await b.next()).toBe(SESSION_BLOCK + 1);
  });

  it('writes the card once per block of numbers, not once per connection attempt', async () => {
    const dir = tempDir();
    const file = join(dir, 'mqtt-session');
    const onDisk = () => readSessionSlots(readFileSync(file))?.session;
    let writes = 0;
    const counting: StoreFs = {
      ...nodeFs,
      // the new file's writes: its first, whole, then each in place (the old file's copy for an
      // older release is written beside each, and not counted here)
      rename: (a: string, b: string) => {
        if (b === file) writes++;
        return nodeFs.rename(a, b);
      },
      async openPreallocated(f, bytes) {
        const opened = await nodeFs.openPreallocated!(f, bytes);
        const inner = opened.file;
        const datasync = () => {
          writes++;
          return inner.datasync();
        };
        return { ...opened, file: { ...inner, datasync } };
      },
    };
    const c = new SessionCounter({ dir, fs: counting, logger });
    await c.load();
    const handed: number[] = [];
    for (let i = 0; i < 2 * SESSION_BLOCK + 1; i++) {
      handed.push(await c.next());
      expect(onDisk()).toBeGreaterThanOrEqual(handed.at(-1)!);
    }
    expect(handed).toEqual(Array.from({ length: 2 * SESSION_BLOCK + 1 }, (_, i) => i + 1));
    expect(writes).toBe(3);
  });

  it('a failed write hands out no number of its block, and the next call writes again', async () => {
    const dir = tempDir();
    let fail = true;
    const flaky = {
      ...nodeFs,
      rename: (a: string, b: string) => (fail ? Promise.reject(new Error('EIO')) : nodeFs.rename(a, b)),
    };
    const c = new SessionCounter({ dir, fs: flaky, logger });
    await c.load();
    await expect(c.next()).rejects.toThrow('EIO');
    await expect(c.next()).rejects.toThrow('EIO');
    fail = false;
    const n = await c.next();
    // the numbers of the failed writes were never handed out: given again
    expect(n).toBe(1);
    const after = new SessionCounter({ dir, fs: nodeFs, logger });
    await after.load();
    expect(await after.next()).toBeGreaterThan(n);
  });

  it('goes on from the clock, not from 1, when its file is damaged, and says so', async () => {
    for (const damaged of ['{"session":4', 'null', '{"session":-1}', '{"session":"7"}', '']) {
      const dir = tempDir();
      writeFileSync(join(dir, 'mqtt-session.json'), damaged);
      const log = captureLogger();
      const c = new SessionCounter({ dir, fs: nodeFs, logger: log.logger, now: () => 1_795_000_000_123 });
      await c.load();
      expect(await c.next(), damaged).toBe(1_795_000_001);
      expect(
        log.lines.filter((l) => l.code === 'session-file-damaged'),
        damaged,
      ).toHaveLength(1);
    }
  });
});

describe('command memory: the old file', () => {
  const result = (id: string): CommandResult => ({ v: 1, id, ok: true, result: { seq: 1 } });
  async function memoryIn(dir: string) {
    const log = new CommandLog(nodeFs, join(dir, 'state', 'commands'));
    await log.open([]);
    return { log, memory: new CommandMemory({ log, today: () => '2026-11-26' }) };
  }

  it('moves the results of the old mqtt-commands.json into the command log, then removes it', async () => {
    const dir = tempDir();
    const file = join(dir, 'mqtt-commands.json');
    writeFileSync(file, JSON.stringify({ v: 1, entries: [['a', { result: result('a'), digest: 'da' }]] }));
    const { log, memory } = await memoryIn(dir);
    expect(await memory.importLegacy(nodeFs, file, logger)).toBe(1);
    expect(readdirSync(dir)).not.toContain('mqtt-commands.json');
    expect(memory.get('a')).toEqual({ digest: 'da', result: result('a') });
    await log.close();
    // and durably: a log opened again has it
    const again = await memoryIn(dir);
    expect(again.memory.get('a')?.result).toEqual(result('a'));
    await again.log.close();
  });

  it('drops a damaged old file with a warning and starts from the log', async () => {
    const dir = tempDir();
    const file = join(dir, 'mqtt-commands.json');
    writeFileSync(file, '\0\0\0');
    const { log, memory } = await memoryIn(dir);
    expect(await memory.importLegacy(nodeFs, file, logger)).toBe(0);
    expect(readdirSync(dir)).not.toContain('mqtt-commands.json');
    await memory.remember('x', result('x'), 'd');
    expect(memory.get('x')).toBeDefined();
    await log.close();
  });

  it('drops an old file of another shape the same way, and takes only whole entries of a mixed one', async () => {
    for (const text of ['null', '5', '{"entries":5}', '{"entries":{"a":1}}', '[1,2]']) {
      const dir = tempDir();
      const file = join(dir, 'mqtt-commands.json');
      writeFileSync(file, text);
      const { log, memory } = await memoryIn(dir);
      expect(await memory.importLegacy(nodeFs, file, logger), text).toBe(0);
      expect(readdirSync(dir), text).not.toContain('mqtt-commands.json');
      await log.close();
    }
    const dir = tempDir();
    const file = join(dir, 'mqtt-commands.json');
    const entries = [
      1,
      null,
      ['b'],
      ['c', null],
      ['d', { result: 'x' }],
      [7, { result: result('7') }],
      ['e', { result: result('e') }],
    ];
    writeFileSync(file, JSON.stringify({ v: 1, entries }));
    const { log, memory } = await memoryIn(dir);
    expect(await memory.importLegacy(nodeFs, file, logger)).toBe(1);
    expect(memory.get('e')?.result).toEqual(result('e'));
    expect(['b', 'c', 'd', '7'].map((id) => memory.get(id))).toEqual([undefined, undefined, undefined, undefined]);
    await log.close();
  });
});
