// TLS on both sides: the embedded broker's TLS listener, and the uplink to a mosquitto TLS
// listener verified against a private CA (the test certificate in fixtures/bridge-tls).
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { connect, freePort, Inbox, startOffice, testConfig, waitFor } from './bridge-helpers.ts';
import { Mosquitto, mosquittoAvailable } from './bridge-mosquitto-server.ts';

const cert = fileURLToPath(new URL('./fixtures/bridge-tls/server.crt', import.meta.url));
const key = fileURLToPath(new URL('./fixtures/bridge-tls/server.key', import.meta.url));
const T = 'beonho/v1/singok2';

/** A private key stored with a passphrase, as `openssl genpkey -aes256` writes one. */
function encryptedKey(): string {
  const { privateKey } = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' },
  });
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'beonho-tls-key-')), 'server.key');
  writeFileSync(file, privateKey);
  return file;
}

describe('embedded broker TLS listeners', () => {
  it('accepts an authenticated client over TLS and wss, and refuses a client that does not trust it', async () => {
    const office = await startOffice(
      testConfig({ broker: { port: 0, wsPort: null, demo: true, tls: { port: 0, wsPort: 0, cert, key } } }),
    );
    try {
      const port = office.bridge.parts.broker!.ports.tls!;
      expect(port).toBeGreaterThan(0);
      const url = `mqtts://127.0.0.1:${port}`;
      await expect(connect(url, { username: 'central', password: 'central' })).rejects.toThrow(
        /self.signed|certificate/i,
      );
      const c = await connect(url, { username: 'central', password: 'central', ca: readFileSync(cert) });
      const inbox = new Inbox(c);
      await c.subscribeAsync(`${T}/state`, { qos: 1 });
      await inbox.until(() => inbox.on('state').length > 0, 5000, 'state over TLS');
      await c.endAsync();
      await expect(connect(url, { ca: readFileSync(cert) })).rejects.toThrow();
      // secure WebSocket, for pages served over https
      const w = await connect(`wss://127.0.0.1:${office.bridge.parts.broker!.ports.wss}`, {
        username: 'central',
        password: 'central',
        ca: readFileSync(cert),
      });
      const winbox = new Inbox(w);
      await w.subscribeAsync(`${T}/state`, { qos: 1 });
      await winbox.until(() => winbox.on('state').length > 0, 5000, 'state over wss');
      await w.endAsync();
    } finally {
      await office.stop();
    }
  });
});

describe('TLS beyond loopback', () => {
  it('warns while MQTT or WebSocket also listen in clear, and takes port: null for TLS alone', async () => {
    const { hashPassword } = await import('../bridge/broker/passwords.ts');
    const { startTestBroker } = await import('./bridge-broker-raw.ts');
    const accounts = [
      { username: 'central', role: 'central', passwordHash: await hashPassword('pw', { N: 1024, r: 8, p: 1 }) },
    ];
    const lan = { host: '0.0.0.0', demo: false, accounts, tls: { port: 0, cert, key } };
    const both = await startTestBroker({ ...lan, port: 0, wsPort: null });
    try {
      expect(both.log.withCode('broker-plaintext-lan')).toHaveLength(1);
      expect(both.log.withCode('broker-no-tls')).toHaveLength(0);
    } finally {
      await both.broker.close();
    }
    const only = await startTestBroker({ ...lan, port: null, wsPort: null });
    try {
      expect(only.broker.ports).toMatchObject({ tcp: null, ws: null });
      expect(only.log.withCode('broker-plaintext-lan')).toHaveLength(0);
      const c = await connect(`mqtts://127.0.0.1:${only.broker.ports.tls}`, {
        username: 'central',
        password: 'pw',
        ca: readFileSync(cert),
      });
      await c.endAsync();
    } finally {
      await only.broker.close();
    }
  });
});

describe('a start that cannot work', () => {
  it('fails with uplink-tls-file and leaves no broker listening', async () => {
    const port = await freePort();
    await expect(
      startOffice(
        testConfig({
          broker: { port, wsPort: null, demo: true },
          uplink: { url: 'mqtts://127.0.0.1:9', ca: '/nonexistent/ca.pem' },
        }),
      ),
    ).rejects.toMatchObject({ code: 'uplink-tls-file' });
    const again = createServer();
    await new Promise<void>((resolve, reject) => {
      again.once('error', reject);
      again.listen(port, '127.0.0.1', () => resolve());
    });
    again.close();
  });

  it.each([
    [
      'a key that is not there',
      { cert, key: '/nonexistent/server.key' },
      /^mqtt\.broker\.tls\.key: cannot read \/nonexistent\/server\.key \(ENOENT\)/,
    ],
    ['a CA that is a directory', { cert, key, ca: '/' }, /^mqtt\.broker\.tls\.ca: cannot read \/ \(EISDIR\)/],
    [
      'a certificate and a key that do not match',
      { cert: key, key: cert },
      /^mqtt\.broker\.tls: the certificate and key .* cannot be used/,
    ],
    [
      'a key with a passphrase',
      { cert, key: encryptedKey() },
      /^mqtt\.broker\.tls\.key: the key in \S+ is encrypted .*openssl pkey/,
    ],
  ])('fails with broker-tls-file for %s, naming the field, and leaves no listener', async (_, files, message) => {
    const port = await freePort();
    const err = await startOffice(
      testConfig({ broker: { port, wsPort: null, demo: true, tls: { port: 0, wsPort: null, ...files } } }),
    ).then(
      () => null,
      (e: Error & { code?: string }) => e,
    );
    expect(err?.code).toBe('broker-tls-file');
    expect(err?.message).toMatch(message);
    const again = createServer();
    await new Promise<void>((resolve, reject) => {
      again.once('error', reject);
      again.listen(port, '127.0.0.1', () => resolve());
    });
    again.close();
  });
});

describe.runIf(mosquittoAvailable())('uplink over TLS', () => {
  it('verifies central against the configured CA and publishes over TLS', async () => {
    const broker = new Mosquitto([{ username: 'dev', password: 'dev-pw', acl: ['topic readwrite beonho/#'] }], {
      tls: { cert, key },
    });
    await broker.start();
    const office = await startOffice(
      testConfig({
        broker: { enabled: false },
        uplink: {
          url: broker.tlsUrl(),
          username: 'dev',
          password: 'dev-pw',
          ca: cert,
          reconnectMinMs: 50,
          reconnectMaxMs: 200,
        },
      }),
    );
    try {
      await waitFor(() => office.bridge.parts.uplink!.connected(), 10_000, 'uplink over TLS');
      const c = await connect(broker.tlsUrl(), { username: 'dev', password: 'dev-pw', ca: readFileSync(cert) });
      const inbox = new Inbox(c);
      await c.subscribeAsync(`${T}/#`, { qos: 1 });
      await inbox.until(() => inbox.on('state').length > 0 && inbox.on('status').length > 0, 5000, 'retained over TLS');
      await c.endAsync();
    } finally {
      await office.stop();
      await broker.destroy();
    }
  });

  it('does not connect to a central whose certificate it cannot verify', async () => {
    const broker = new Mosquitto([{ username: 'dev', password: 'dev-pw', acl: ['topic readwrite beonho/#'] }], {
      tls: { cert, key },
    });
    await broker.start();
    const office = await startOffice(
      testConfig({
        broker: { enabled: false },
        uplink: { url: broker.tlsUrl(), username: 'dev', password: 'dev-pw', reconnectMinMs: 50, reconnectMaxMs: 200 },
      }),
    );
    try {
      await new Promise((r) => setTimeout(r, 1000));
      expect(office.bridge.parts.uplink!.connected()).toBe(false);
    } finally {
      await office.stop();
      await broker.destroy();
    }
  });
});
