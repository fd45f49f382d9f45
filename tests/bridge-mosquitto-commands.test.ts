// Commands in flight when the power goes: a daemon-like child (the real queue, store and bridge,
// bench/lib/office-child.ts) takes a burst of online tickets from central through a real mosquitto
// and is SIGKILLed mid-burst, with commands delivered to it and not yet acknowledged. After its
// restart, without any retry from central, every command is answered, each id with one answer, and
// each command has exactly one ticket; central's retries then get the same answers and no ticket.
import { type ChildProcess, spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { CommandResult } from '../bridge/contract/types.ts';
import { connect, Inbox, tempDir } from './bridge-helpers.ts';
import { MOSQUITTO_USERS, Mosquitto, mosquittoAvailable } from './bridge-mosquitto-server.ts';

const T = 'beonho/v1/singok2';
const N = 300;
const run = mosquittoAvailable();

describe.runIf(run)('a daemon SIGKILLed with commands in flight', () => {
  it('answers every command once and issues one ticket per command, without a retry', async () => {
    const broker = new Mosquitto(MOSQUITTO_USERS);
    await broker.start();
    const url = broker.url();
    const dataDir = tempDir();
    const children: ChildProcess[] = [];
    const child = () => {
      const p = spawn(process.execPath, ['--import', 'tsx', 'bench/lib/office-child.ts'], {
        env: {
          ...process.env,
          DATA_DIR: dataDir,
          MQTT_URL: url,
          MQTT_USER: 'dev-singok2',
          MQTT_PASS: 'dev-pw',
          ISSUE: '0',
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      children.push(p);
      return p;
    };
    const central = await connect(url, {
      username: 'central',
      password: 'central-pw',
      clientId: 'central-inflight',
      clean: false,
      reconnectPeriod: 100,
    });
    const inbox = new Inbox(central);
    try {
      await central.subscribeAsync([`${T}/cmd/result`, `${T}/events`, `${T}/devices/+/status`], { qos: 1 });
      const results = () => inbox.on('cmd/result') as unknown as CommandResult[];
      const online = (session: number) =>
        inbox.on('status').some((s) => s.online === true && (s.session as number) > session);
      const first = child();
      await inbox.until(() => online(0), 20_000, 'the device online');
      await central.publishAsync(`${T}/cmd`, JSON.stringify({ id: 'open', type: 'day.open' }), { qos: 1 });
      await inbox.until(() => results().some((r) => r.id === 'open'), 10_000, 'the day opened');

      const cmd = (i: number) =>
        JSON.stringify({ id: `k-${i}`, type: 'ticket.issue', service: 'resident', channel: 'online', ref: `web-${i}` });
      await Promise.all(Array.from({ length: N }, (_, i) => central.publishAsync(`${T}/cmd`, cmd(i), { qos: 1 })));
      await inbox.until(() => results().length >= 40, 20_000, 'the first answers');
      first.kill('SIGKILL');
      await new Promise((r) => first.once('exit', r));
      const answeredBeforeCut = new Set(results().map((r) => r.id)).size;
      const session = Math.max(...inbox.on('status').map((s) => s.session as number));

      child();
      await inbox.until(() => online(session), 20_000, 'the device back');
      const ids = Array.from({ length: N }, (_, i) => `k-${i}`);
      const byId = () => {
        const m = new Map<string, CommandResult[]>();
        for (const r of results()) if (r.id) m.set(r.id, [...(m.get(r.id) ?? []), r]);
        return m;
      };
      await inbox.until(() => ids.every((id) => byId().has(id)), 30_000, 'every command answered, without a retry');
      expect(answeredBeforeCut).toBeLessThan(N); // the cut came with commands still to do
      const answers = byId();
      for (const id of ids) {
        const distinct = new Set(answers.get(id)!.map((r) => JSON.stringify(r)));
        expect(distinct.size, `${id}: one answer`).toBe(1);
        expect(answers.get(id)![0]!.ok, id).toBe(true);
      }
      // one ticket per command: the events, repeats dropped by seq, carry each ref once
      const issued = () => {
        const bySeq = new Map<number, Record<string, unknown>>();
        for (const e of inbox.on('events')) if (e.type === 'ticket.issued') bySeq.set(e.seq as number, e);
        return [...bySeq.values()].map((e) => (e.ticket as { ref: string; number: string }).ref);
      };
      await inbox.until(() => issued().length >= N, 20_000, 'the events of every ticket');
      expect(issued().sort()).toEqual(ids.map((_, i) => `web-${i}`).sort());

      // central's retries (same id, same payload): the same answers, no ticket
      const before = results().length;
      await Promise.all(ids.map((_, i) => central.publishAsync(`${T}/cmd`, cmd(i), { qos: 1 })));
      await inbox.until(() => results().length >= before + N, 20_000, 'the retries answered');
      for (const r of results().slice(before)) expect(JSON.stringify(r)).toBe(JSON.stringify(answers.get(r.id!)![0]));
      expect(issued()).toHaveLength(N);
    } finally {
      for (const p of children) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
      await Promise.all(
        children.map((p) =>
          p.exitCode === null && p.signalCode === null ? new Promise((r) => p.once('exit', r)) : null,
        ),
      );
      central.end(true);
      await broker.destroy();
    }
  }, 120_000);
});
