// The real daemon (device/main.ts) with the bridge: the embedded broker shows retained state,
// status, events and command results to `mosquitto_sub`; SIGKILLed while central (a mosquitto) is
// down, the restarted daemon drains its outbox to central in seq order.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { simulatorDefault } from '../device/config/default.ts';
import { assertContract, connect, freePort, Inbox } from './bridge-helpers.ts';
import { Mosquitto, mosquittoAvailable } from './bridge-mosquitto-server.ts';
import { Daemon, killAll, writeTestConfig } from './helpers/daemon.ts';

const T = 'beonho/v1/singok2';
const run = mosquittoAvailable();
// Cut-off times would make the result depend on the hour the suite runs.
const services = simulatorDefault.services.map(({ cutoff: _c, ...s }) => s);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'beonho-bridge-daemon-'));
});
afterEach(killAll);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.runIf(run)('the daemon with its MQTT bridge', () => {
  it('shows state, status, events and command results on the embedded broker (mosquitto_sub)', async () => {
    const port = await freePort();
    const config = await writeTestConfig(path.join(dir, 'embedded.yaml'), {
      services,
      mqtt: { broker: { port, wsPort: null, demo: true } },
    });
    const d = new Daemon(['--config', config, '--data-dir', path.join(dir, 'embedded')]);
    try {
      await d.waitFor(/simulator ready/);
      const sub = execFile('mosquitto_sub', [
        '-h',
        '127.0.0.1',
        '-p',
        String(port),
        '-u',
        'central',
        '-P',
        'central',
        '-t',
        'beonho/v1/#',
        '-v',
        '-W',
        '15',
      ]);
      let out = '';
      sub.stdout!.on('data', (b: Buffer) => (out += b.toString()));
      const until = async (re: RegExp) => {
        for (let i = 0; i < 300 && !re.test(out); i++) await new Promise((r) => setTimeout(r, 50));
        expect(
          out,
          out
            ? 'mosquitto_sub output'
            : 'no MQTT output at all from the daemon: is createBridge wired in device/features.ts?',
        ).toMatch(re);
      };
      await until(new RegExp(`^${T}/devices/main/status .*"online":true`, 'm'));
      await until(new RegExp(`^${T}/state `, 'm'));
      d.send('press resident');
      await until(new RegExp(`^${T}/events .*"type":"ticket.issued"`, 'm'));
      await promisify(execFile)('mosquitto_pub', [
        ...['-h', '127.0.0.1', '-p', String(port), '-u', 'central', '-P', 'central', '-t', `${T}/cmd`],
        ...[
          '-m',
          JSON.stringify({
            id: 'c-1',
            type: 'ticket.issue',
            service: 'passport',
            channel: 'online',
            ref: 'opaque-123',
          }),
        ],
      ]);
      await until(new RegExp(`^${T}/cmd/result .*"id":"c-1","type":"ticket.issue","ok":true`, 'm'));
      sub.kill();
      // every line the device published, as mosquitto_sub printed it, follows the contract
      const lines = out.split('\n').filter((l) => l.startsWith('beonho/'));
      for (const line of lines) {
        const space = line.indexOf(' ');
        const topic = line.slice(0, space);
        if (!topic.endsWith('/cmd')) assertContract(topic, JSON.parse(line.slice(space + 1)));
      }
      const status = lines.find((l) => l.includes('/status '))!;
      expect(JSON.parse(status.slice(status.indexOf(' ') + 1))).toHaveProperty('system.uptimeSec');
    } finally {
      d.kill('SIGTERM');
      await d.exited;
    }
  });

  it('drains the outbox after a SIGKILL while central was down', async () => {
    const broker = new Mosquitto([
      { username: 'dev', password: 'dev-pw', acl: ['topic readwrite beonho/v1/singok2/#'] },
      { username: 'central', password: 'central-pw', acl: ['topic readwrite beonho/v1/#'] },
    ]);
    await broker.start();
    const central = await connect(broker.url(), {
      username: 'central',
      password: 'central-pw',
      clientId: 'central-daemon',
      clean: false,
      reconnectPeriod: 100,
    });
    const inbox = new Inbox(central);
    await central.subscribeAsync(`${T}/events`, { qos: 1 });
    await broker.stop();
    const config = await writeTestConfig(path.join(dir, 'uplink.yaml'), {
      services,
      mqtt: {
        broker: { enabled: false },
        uplink: { url: broker.url(), username: 'dev', password: 'dev-pw', reconnectMinMs: 50, reconnectMaxMs: 300 },
      },
    });
    const data = path.join(dir, 'uplink');
    const first = new Daemon(['--config', config, '--data-dir', data]);
    try {
      await first.waitFor(/simulator ready/);
      for (let i = 1; i <= 30; i++) {
        first.send('press resident');
        await first.waitFor(new RegExp(`^ticket ${1000 + i} `));
      }
    } finally {
      await first.kill('SIGKILL');
    }
    await broker.start();
    const second = new Daemon(['--config', config, '--data-dir', data]);
    try {
      await second.waitFor(/simulator ready/);
      await inbox.until(
        () =>
          inbox
            .on('events')
            .some((e) => (e.ticket as { number?: string })?.number === '1030' && e.type === 'ticket.issued'),
        20_000,
        'the drained outbox (is createBridge wired in device/features.ts?)',
      );
      const seqs: number[] = [];
      for (const e of inbox.on('events')) if (!seqs.includes(e.seq as number)) seqs.push(e.seq as number);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
      expect(inbox.on('events').filter((e) => e.type === 'ticket.issued').length).toBeGreaterThanOrEqual(30);
    } finally {
      second.kill('SIGTERM');
      await second.exited;
      central.end(true);
      await broker.destroy();
    }
  });
});
