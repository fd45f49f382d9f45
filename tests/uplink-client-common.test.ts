// What central's uplink and a satellite's link share (bridge/uplink/client-common.ts): the password
// from the environment or the file, each link's own code when the variable is missing, the URL as
// logged.
import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { FlapCounter, passwordOption, REASON_MAX, redactUrl, statusReason } from '../bridge/uplink/client-common.ts';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

describe('passwordOption', () => {
  it('takes the named variable over the file, and logs nothing', () => {
    const { logger, lines } = capture();
    const o = { env: { PW: 'from-env' }, logger, missingCode: 'uplink-password-env-missing' };
    expect(passwordOption({ password: 'from-file', passwordEnv: 'PW' }, o)).toEqual({ password: 'from-env' });
    expect(passwordOption({ passwordEnv: 'PW' }, { ...o, env: { PW: '' } })).toEqual({ password: '' });
    expect(lines).toEqual([]);
  });

  it("falls back to the file's password when the variable is not set, logging the link's own code", () => {
    const { logger, lines } = capture();
    const o = { env: {}, logger, missingCode: 'main-password-env-missing' };
    expect(passwordOption({ password: 'from-file', passwordEnv: 'PW' }, o)).toEqual({ password: 'from-file' });
    expect(passwordOption({ passwordEnv: 'PW' }, o)).toEqual({});
    expect(lines.map((l) => [l.code, l.env, l.level])).toEqual([
      ['main-password-env-missing', 'PW', 40],
      ['main-password-env-missing', 'PW', 40],
    ]);
    expect(JSON.stringify(lines)).not.toContain('from-file');
  });

  it("uses the file's password, or none, when no variable is named", () => {
    const { logger } = capture();
    const o = { env: { PW: 'x' }, logger, missingCode: 'c' };
    expect(passwordOption({ password: 'from-file' }, o)).toEqual({ password: 'from-file' });
    expect(passwordOption({}, o)).toEqual({});
  });
});

describe('redactUrl', () => {
  it('hides the credentials of a URL and leaves one without them alone', () => {
    expect(redactUrl('mqtts://office:s3cret@central.example:8883')).toBe('mqtts://***@central.example:8883');
    expect(redactUrl('mqtt://192.168.0.10:1883')).toBe('mqtt://192.168.0.10:1883');
    // a password holding an @ (the URL's last @ ends its credentials, as mqtt.js reads it)
    expect(redactUrl('mqtt://office:p@ss@central.example:1883')).toBe('mqtt://***@central.example:1883');
  });
});

describe("a link's failure as the status gives it", () => {
  it('carries no credentials of a URL, and at most REASON_MAX characters', () => {
    expect(statusReason('Unexpected server response from wss://office:s3cret@central.example:443/mqtt')).toBe(
      'Unexpected server response from wss://***@central.example:443/mqtt',
    );
    const long = statusReason(`Hostname/IP does not match certificate's altnames: ${'DNS:x.example, '.repeat(30)}`);
    expect(long).toHaveLength(REASON_MAX);
    expect(long.endsWith('…')).toBe(true);
    expect(statusReason('connect ECONNREFUSED 10.20.0.5:8883')).toBe('connect ECONNREFUSED 10.20.0.5:8883');
  });
});

describe('the flap counter', () => {
  it('says the cause at the third drop in a row within 10 s of coming up, and starts over after a long link', () => {
    let t = 0;
    let said = 0;
    const flaps = new FlapCounter(
      () => said++,
      () => t,
    );
    const drop = (upFor: number): number => {
      flaps.up();
      t += upFor;
      return flaps.dropped();
    };
    expect([drop(100), drop(100), drop(100), drop(100)]).toEqual([1, 2, 3, 4]);
    expect(said).toBe(1);
    expect(flaps.flapping()).toBe(true);
    expect(drop(FlapCounter.FLAP_MS)).toBe(0);
    expect([flaps.count, flaps.flapping(), said]).toEqual([0, false, 1]);
    // a new spell is said again
    expect([drop(1), drop(1), drop(1)]).toEqual([1, 2, 3]);
    expect(said).toBe(2);
  });
});
