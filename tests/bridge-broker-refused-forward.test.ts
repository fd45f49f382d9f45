// A satellite's command the embedded broker refuses (a counter not its own, past its allowance) is
// answered on cmd/result and, under MQTT 3.1.1, acknowledged: aedes then delivered it to every other
// reader of cmd on the broker, so a stolen satellite password put a command the office refused in
// front of a central account there. Refused, it reaches no reader; a command it takes still does.
import { describe, expect, it } from 'vitest';
import { connectInbox, startOffice, testConfig } from './bridge-helpers.ts';
import { satelliteAccount } from './helpers/satellite-accounts.ts';

const CMD = 'beonho/v1/singok2/cmd';

describe("a satellite's refused command", () => {
  it('reaches no reader of cmd, live or in a persistent session away; one it takes does', async () => {
    const office = await startOffice(
      testConfig({
        broker: {
          port: 0,
          wsPort: null,
          demo: true,
          accounts: [await satelliteAccount('counter-12', 'sat-pw', ['1'])],
          // a queue of two for a persistent session away: refused commands put in it would leave
          // no room for the command taken and the marker behind it
          limits: { satelliteCommandBurst: 3, satelliteCommandsPerMinute: 1, sessionQueue: 2 },
        },
      }),
    );
    const url = `mqtt://127.0.0.1:${office.bridge.parts.broker!.ports.tcp!}`;
    const central = await connectInbox(url, { username: 'central', password: 'central' });
    // a central reader with a persistent session, away while the commands come
    const away = await connectInbox(url, { username: 'central', password: 'central', clientId: 'away', clean: false });
    const sat = await connectInbox(url, { username: 'counter-12', password: 'sat-pw', clientId: 'counter-12' });
    try {
      await central.client.subscribeAsync(CMD, { qos: 1 });
      await away.client.subscribeAsync(CMD, { qos: 1 });
      await away.client.endAsync();
      await sat.client.subscribeAsync(`${CMD}/result`, { qos: 1 });
      await office.queue.execute({ type: 'day.open' });
      const key = (id: string, counter: string) => JSON.stringify({ v: 1, id, type: 'counter.pause', counter });
      // two for another counter (refused), its own (taken), its own past the allowance (answered
      // rate-limited)
      await sat.client.publishAsync(CMD, key('counter-12:far', '2'), { qos: 1 });
      await sat.client.publishAsync(CMD, key('counter-12:far2', '3'), { qos: 1 });
      await sat.client.publishAsync(CMD, key('counter-12:own', '1'), { qos: 1 });
      await sat.client.publishAsync(CMD, key('counter-12:fast', '1'), { qos: 1 });
      const results = () => sat.inbox.on('cmd/result');
      await sat.inbox.until(() => results().length === 4, 10_000, 'four answers');
      expect(Object.fromEntries(results().map((r) => [r.id, r.ok]))).toEqual({
        'counter-12:far': false,
        'counter-12:far2': false,
        'counter-12:own': true,
        'counter-12:fast': false,
      });
      await central.inbox.until(() => central.inbox.on('/cmd').length > 0, 10_000, 'the taken command');
      const back = await connectInbox(url, {
        username: 'central',
        password: 'central',
        clientId: 'away',
        clean: false,
      });
      try {
        await back.inbox.until(() => back.inbox.on('/cmd').length > 0, 10_000, 'the queued command');
        // a marker behind them on the same topic, so nothing still in flight is missed
        await central.client.publishAsync(CMD, JSON.stringify({ v: 1, id: 'central-marker', type: 'state.publish' }), {
          qos: 1,
        });
        for (const inbox of [central.inbox, back.inbox])
          await inbox.until(() => inbox.on('/cmd').some((c) => c.id === 'central-marker'), 10_000, 'the marker');
        expect(central.inbox.on('/cmd').map((c) => c.id)).toEqual(['counter-12:own', 'central-marker']);
        expect(back.inbox.on('/cmd').map((c) => c.id)).toEqual(['counter-12:own', 'central-marker']);
      } finally {
        await back.client.endAsync();
      }
    } finally {
      await sat.client.endAsync();
      await central.client.endAsync();
      await office.stop();
    }
  });
});
