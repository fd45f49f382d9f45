// The device status's mqtt-uplink component of an office started while central is away (a power
// cut during an outage, an LTE backup not up yet): the component was set only by the link going up
// or going down after it had been up, so until the first connection worked, maybe hours later, the
// status and npm run status had no mqtt-uplink at all, as if there were no link to speak of.
import { Aedes } from 'aedes';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { assertContract, connectInbox, freePort, type Office, startOffice, testConfig } from './bridge-helpers.ts';
import { debugLog } from './helpers/satellite-link.ts';

const T = 'beonho/v1/singok2';

describe('an office started while central cannot be reached', () => {
  let office: Office | null = null;
  const clients: Array<{ endAsync: () => Promise<void> }> = [];
  let central: { server: Server; aedes: Aedes } | null = null;
  /** The office's device statuses as central's consumer reads them on its embedded broker
   * (retained: whenever they were published), and their mqtt-uplink parts. */
  async function statuses(o: Office) {
    const url = `mqtt://127.0.0.1:${o.bridge.parts.broker!.ports.tcp}`;
    const { client, inbox } = await connectInbox(url, { username: 'central', password: 'central' });
    clients.push(client);
    await client.subscribeAsync(`${T}/devices/main/status`, { qos: 1 });
    const uplink = () =>
      inbox
        .on('status')
        .map((st) => (st.hardware as Record<string, Record<string, unknown>> | undefined)?.['mqtt-uplink'])
        .filter((h) => h !== undefined);
    return { inbox, uplink };
  }

  /** Central's broker, up, refusing every login as a wrong password (CONNACK 4); its port. */
  async function refusingCentral(): Promise<number> {
    const aedes = await Aedes.createBroker({
      authenticate: (_client, _username, _password, done) =>
        done(Object.assign(new Error('bad user name or password'), { returnCode: 4 }) as never, false),
    });
    const server = createServer((sock) => aedes.handle(sock));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    central = { server, aedes };
    return (server.address() as AddressInfo).port;
  }
  /** This office started against a central that refuses every login, its password as given; its log. */
  async function officeRefused(password: { passwordEnv: string } | { password: string }) {
    const port = await refusingCentral();
    const { lines, logger } = debugLog();
    const uplink = {
      url: `mqtt://127.0.0.1:${port}`,
      protocolVersion: 4 as const,
      username: 'singok2',
      ...password,
      reconnectMinMs: 20,
      reconnectMaxMs: 100,
    };
    const started = await startOffice(testConfig({ uplink }), undefined, logger);
    office = started;
    return { office: started, lines };
  }

  afterEach(async () => {
    for (const c of clients.splice(0)) await c.endAsync();
    await office?.stop();
    office = null;
    delete process.env.BEONHO_TEST_UPLINK_PW;
    if (central) {
      const { server, aedes } = central;
      await new Promise<void>((r) => aedes.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
      central = null;
    }
  });

  it('says in its status that the link is down, with the failure and its time', async () => {
    // nothing listens there: every attempt is refused
    const centralPort = await freePort();
    office = await startOffice(
      testConfig({
        uplink: { url: `mqtt://127.0.0.1:${centralPort}`, protocolVersion: 4, reconnectMinMs: 50, reconnectMaxMs: 200 },
      }),
    );
    const { inbox, uplink } = await statuses(office);
    await inbox.until(() => uplink().some((h) => h.lastError === 'uplink-down'), 10_000, 'the link said down');
    // with the reason in the client's words: the code alone sent the admin to the log
    expect(uplink().at(-1)).toEqual({
      connected: false,
      lastError: 'uplink-down',
      lastErrorAt: expect.any(String),
      lastErrorReason: expect.stringMatching(new RegExp(`ECONNREFUSED 127\\.0\\.0\\.1:${centralPort}`)),
    });
    expect(uplink().every((h) => h.connected === false)).toBe(true);
    // the field is the contract's, at most 200 characters
    for (const st of inbox.on('status')) assertContract(`${T}/devices/main/status`, st);
    expect(() =>
      assertContract(`${T}/devices/main/status`, {
        ...inbox.on('status').at(-1),
        hardware: { 'mqtt-uplink': { ...uplink().at(-1), lastErrorReason: 'x'.repeat(201) } },
      }),
    ).toThrow(/maxLength/);
    expect(office.bridge.parts.uplink!.connected()).toBe(false);
    // said once for the outage while the reason stays the same, not at every attempt
    const said: unknown[] = [];
    office.bus.on('healthChanged', said, ({ component, health }) => {
      if (component === 'mqtt-uplink') said.push(health);
    });
    let failed = 0;
    office.bridge.parts.uplink!.onAttemptFailed(() => failed++);
    await inbox.until(() => failed >= 3, 10_000, 'three more attempts');
    expect(said).toEqual([]);
    office.bus.removeListeners(said);
  });

  it('says a refused login as such, once, with the account to check', async () => {
    // central's broker up, the office's password wrong: it retries for ever and never fixes itself
    process.env.BEONHO_TEST_UPLINK_PW = 'wrong';
    const { office, lines } = await officeRefused({ passwordEnv: 'BEONHO_TEST_UPLINK_PW' });
    // the device's status as central's consumer reads it (retained: whenever it was published)
    const { inbox, uplink: health } = await statuses(office);
    await inbox.until(() => health().some((h) => h.lastError === 'uplink-login-refused'), 10_000, 'the status');
    let failed = 0;
    office.bridge.parts.uplink!.onAttemptFailed(() => failed++);
    await inbox.until(() => failed >= 3, 10_000, 'three more attempts');
    const refused = lines.filter((l) => l.code === 'uplink-login-refused');
    expect(refused.filter((l) => (l.level as number) >= 50)).toHaveLength(1);
    expect(refused[0]).toMatchObject({ username: 'singok2', level: 50 });
    expect(refused[0]!.msg).toContain('mqtt.uplink.passwordEnv');
    // the variable itself and the file it is in, as docs/deploy.md step 5 puts it there
    expect(refused[0]!.msg).toContain('BEONHO_TEST_UPLINK_PW');
    expect(refused[0]!.msg).toContain('/etc/beonho/environment');
    expect(health().at(-1)).toMatchObject({
      connected: false,
      lastError: 'uplink-login-refused',
      lastErrorReason: expect.stringMatching(/Bad username or password/i),
    });
    expect(office.bridge.parts.uplink!.loginRefused()).toBe(true);
  });

  it('a refused login of a password written in the config sends the admin to the config, not to a variable', async () => {
    const { lines } = await officeRefused({ password: 'wrong' });
    const deadline = Date.now() + 10_000;
    while (!lines.some((l) => l.code === 'uplink-login-refused') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    const refused = lines.filter((l) => l.code === 'uplink-login-refused');
    expect(refused[0]).toMatchObject({ username: 'singok2', level: 50 });
    expect(refused[0]!.msg).toContain('mqtt.uplink.password');
    expect(refused[0]!.msg).not.toContain('passwordEnv');
    expect(JSON.stringify(lines)).not.toContain('wrong');
  });
});
