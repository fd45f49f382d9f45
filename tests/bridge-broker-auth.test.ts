// Logins must never starve the journal (issue 12, defect 2): scrypt shares libuv's thread pool with
// the journal's fdatasync, so verifications run one at a time, a source whose logins keep failing
// is refused without scrypt, and an unknown user name costs no scrypt but waits as long as one.
import { describe, expect, it } from 'vitest';
import { Authenticator, type StoredAccount } from '../bridge/broker/authenticator.ts';
import { sourceKey } from '../bridge/broker/login-limits.ts';
import { hashPassword } from '../bridge/broker/passwords.ts';
import { connectPacket, RawClient, startTestBroker } from './bridge-broker-raw.ts';

const account = (passwordHash: string): StoredAccount => ({
  username: 'central',
  role: 'central',
  offices: ['*'],
  passwordHash,
});

/** A verify that counts how many run at once, each finishing when the test says so. */
function slowVerify() {
  const s = { running: 0, most: 0, calls: 0, finish: [] as Array<() => void> };
  const verify = (password: string) => {
    s.calls++;
    s.running++;
    s.most = Math.max(s.most, s.running);
    return new Promise<boolean>((resolve) =>
      s.finish.push(() => {
        s.running--;
        resolve(password === 'right');
      }),
    );
  };
  return { s, verify };
}

const request = (username: string | undefined, password: string, source: string) => ({
  username,
  password: Buffer.from(password),
  source,
  cancelled: () => false,
});

async function drain(s: { finish: Array<() => void> }, results: Array<Promise<unknown>>): Promise<void> {
  let settled = false;
  void Promise.all(results).then(() => (settled = true));
  while (!settled) {
    await new Promise((r) => setTimeout(r, 1));
    s.finish.shift()?.();
  }
}

describe('the authenticator', () => {
  it('verifies one password at a time however many logins arrive', async () => {
    const { s, verify } = slowVerify();
    const auth = await Authenticator.create({ accounts: new Map([['central', account('h')]]), verify });
    const results = Array.from({ length: 20 }, (_, i) => auth.login(request('central', 'wrong', `10.0.0.${i}`)));
    await drain(s, results);
    expect(s.calls).toBe(20);
    expect(s.most).toBe(1);
    for (const r of await Promise.all(results)) expect(r).toMatchObject({ ok: false, returnCode: 4 });
  });

  it('refuses an unknown name without scrypt, after waiting as long as a verification', async () => {
    const { s, verify } = slowVerify();
    const waits: number[] = [];
    let probes = 0;
    let t = 0;
    const auth = await Authenticator.create({
      accounts: new Map([['central', account('h')]]),
      verify,
      now: () => t,
      probe: async () => {
        probes++;
        t += 40; // one derivation at the default cost
      },
      sleep: async (ms) => void waits.push(ms),
    });
    // nothing derived at start (16 MB while it runs, on a 512 MB board)
    expect(probes).toBe(0);
    // the first unknown name is timed by one derivation, which takes as long as a verification
    expect(await auth.login(request('nobody', 'central', '10.0.0.1'))).toMatchObject({
      ok: false,
      returnCode: 4,
      code: 'mqtt-auth-refused',
    });
    expect(probes).toBe(1);
    expect(waits).toEqual([]);
    // later ones wait that long without any derivation
    const r = await auth.login(request('nobody2', 'central', '10.0.0.2'));
    expect(r).toMatchObject({ ok: false, returnCode: 4, code: 'mqtt-auth-refused' });
    expect(s.calls).toBe(0);
    expect(probes).toBe(1);
    expect(waits).toEqual([40]);
  });

  it('refuses a source whose logins keep failing, without scrypt, until its allowance refills', async () => {
    const { s, verify } = slowVerify();
    let t = 0;
    const auth = await Authenticator.create({
      accounts: new Map([['central', account('h')]]),
      verify,
      now: () => t,
      burst: 3,
      refillMs: 1000,
    });
    const burst = Array.from({ length: 10 }, () => auth.login(request('central', 'wrong', '10.0.0.1')));
    await drain(s, burst);
    const codes = (await Promise.all(burst)).map((r) => (r.ok ? 0 : r.returnCode));
    expect(codes).toEqual([4, 4, 4, 3, 3, 3, 3, 3, 3, 3]);
    expect(s.calls).toBe(3);
    // Even the right password waits: the source is refused before any verification.
    expect(await auth.login(request('central', 'right', '10.0.0.1'))).toMatchObject({ returnCode: 3 });
    // Another source is not held up; a success gives its token back.
    const other = auth.login(request('central', 'right', '10.0.0.2'));
    await drain(s, [other]);
    expect(await other).toMatchObject({ ok: true });
    t += 1000;
    const later = auth.login(request('central', 'right', '10.0.0.1'));
    await drain(s, [later]);
    expect(await later).toMatchObject({ ok: true });
  });

  it('counts good logins from beyond loopback too: a known password cannot keep the queue busy', async () => {
    const { s, verify } = slowVerify();
    const auth = await Authenticator.create({
      accounts: new Map([['board', account('h')]]),
      verify,
      now: () => 0,
      burst: 3,
      refillMs: 1000,
    });
    // one after another, as a client that logs in, drops and logs in again
    const codes = async (source: string): Promise<number[]> => {
      const out: number[] = [];
      for (let i = 0; i < 6; i++) {
        const login = auth.login(request('board', 'right', source));
        await drain(s, [login]);
        const r = await login;
        out.push(r.ok ? 0 : r.returnCode);
      }
      return out;
    };
    // log in, drop, log in again: from the LAN, each one is a scrypt and takes a token
    expect(await codes('192.168.0.66')).toEqual([0, 0, 0, 3, 3, 3]);
    // on the device itself (the simulator, tools) a good login gives its token back
    expect(await codes('127.0.0.1')).toEqual([0, 0, 0, 0, 0, 0]);
    expect(await codes('::1')).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('skips the verification of a login whose socket closed while it waited', async () => {
    const { s, verify } = slowVerify();
    const auth = await Authenticator.create({ accounts: new Map([['central', account('h')]]), verify });
    const first = auth.login(request('central', 'wrong', '10.0.0.1'));
    const gone = auth.login({ ...request('central', 'right', '10.0.0.2'), cancelled: () => true });
    await drain(s, [first, gone]);
    expect(s.calls).toBe(1);
    // not a wrong password (not logged as one), and not one of its source's guesses
    expect(await gone).toEqual({ ok: false, returnCode: 3, cancelled: true });
    for (let i = 0; i < 10; i++) {
      const again = auth.login({ ...request('central', 'right', '10.0.0.2'), cancelled: () => true });
      await drain(s, [again]);
      expect(await again).toEqual({ ok: false, returnCode: 3, cancelled: true });
    }
    const last = auth.login(request('central', 'right', '10.0.0.2'));
    await drain(s, [last]);
    expect(await last).toMatchObject({ ok: true });
  });

  it('throttles IPv6 sources by their /64 prefix, and IPv4-mapped addresses as IPv4', () => {
    expect(sourceKey('fe80::1')).toBe(sourceKey('fe80::2'));
    expect(sourceKey('2001:db8:1:2:a:b:c:d')).toBe('2001:db8:1:2::/64');
    expect(sourceKey('2001:db8:1:3::1')).not.toBe(sourceKey('2001:db8:1:2::1'));
    expect(sourceKey('::ffff:192.168.0.7')).toBe('192.168.0.7');
  });
});

describe('a burst of refused logins on the broker', () => {
  it('is refused at once past the allowance of its source, while another source still logs in', async () => {
    const hash = await hashPassword('s3cret', { N: 1024, r: 8, p: 1 });
    const b = await startTestBroker({
      demo: false,
      accounts: [{ username: 'central', passwordHash: hash, role: 'central' }],
      // all 50 reach the password check: this is about the allowance, not the pending bound
      limits: { pendingConnections: 100, pendingPerSource: 100 },
    });
    const raws: RawClient[] = [];
    try {
      for (let i = 0; i < 50; i++) raws.push(new RawClient(b.port));
      await Promise.all(raws.map((r) => r.opened));
      for (const [i, r] of raws.entries()) {
        r.write(connectPacket({ clientId: `central-${i}`, username: 'central', password: 'wrong' }));
      }
      const codes = await Promise.all(raws.map((r) => r.connack()));
      const count = (rc: number) => codes.filter((c) => c === rc).length;
      // The default allowance of one source is 10 (one more every 3 s, should this run be slow);
      // the rest get "server unavailable", refused before scrypt.
      expect(count(4)).toBeGreaterThanOrEqual(10);
      expect(count(4)).toBeLessThanOrEqual(15);
      expect(count(3)).toBe(50 - count(4));
      expect(b.log.withCode('mqtt-auth-throttled').length).toBeGreaterThan(0);
      // The office's own central on another address is not locked out by its neighbour.
      const neighbour = new RawClient(b.port, { localAddress: '127.0.0.2' });
      raws.push(neighbour);
      await neighbour.opened;
      neighbour.write(connectPacket({ clientId: 'central-ok', username: 'central', password: 's3cret' }));
      expect(await neighbour.connack()).toBe(0);
    } finally {
      for (const r of raws) r.destroy();
      await b.broker.close();
    }
  });
});
