// What a valid config likely gets wrong for a Korean office, said at the start (config-advice) and
// by the installer (tests/deploy-installer.test.ts), never refused.
import { describe, expect, it } from 'vitest';
import { configAdvice } from '../device/config/advice.ts';
import { simulatorDefault } from '../device/config/default.ts';
import { validateConfig } from '../device/config/load.ts';
import { mainBroker, satelliteAccount } from './helpers/satellite-accounts.ts';

const office = (patch: Record<string, unknown> = {}) => validateConfig({ ...simulatorDefault, ...patch });
const JAN = Date.UTC(2026, 0, 15);
const JUL = Date.UTC(2026, 6, 15);

describe('config advice', () => {
  it('says nothing of the simulator office, in Korea', () => {
    expect(configAdvice(office(), JAN)).toEqual([]);
  });

  it("names a time zone off Korea's +09:00, by its offset at the time (summer time included)", () => {
    const at = (timeZone: string, now = JAN) =>
      configAdvice(office({ office: { ...simulatorDefault.office, timeZone } }), now);
    expect(at('Asia/Tokyo')).toEqual([]);
    expect(at('UTC')).toEqual([expect.stringMatching(/^office.timeZone "UTC" is UTC\+00:00, not Korea's \+09:00/)]);
    expect(at('Europe/London', JUL)).toEqual([expect.stringMatching(/is UTC\+01:00/)]);
  });

  it("names each service in no counter's services, and only those", () => {
    const base = office();
    const services = [...base.services, { id: 'tax', name: '지방세', numbers: { from: 8001, to: 8999 } }];
    const advice = configAdvice(office({ services }), JAN);
    expect(advice).toEqual([
      expect.stringMatching(/^service "tax" is in no counter's services: its tickets are issued and never called/),
    ]);
  });

  it('names a counter that takes keys from two places (satellites, a keypad of this unit), and only it', async () => {
    const advice = configAdvice(
      office({
        hardware: {
          keypads: {
            driver: 'hid',
            devices: [
              { counter: '1', port: '1-1.2' },
              { counter: '3', port: '1-1.3' },
            ],
          },
        },
        mqtt: {
          broker: mainBroker(1883, [
            await satelliteAccount('counter-12', 'pw-12', [1, 2]),
            await satelliteAccount('counter-13', 'pw-13', ['2']),
            await satelliteAccount('counter-14', 'pw-14', [4]),
          ]),
        },
      }),
      JAN,
    );
    expect(advice).toEqual([
      expect.stringMatching(/^counter "1" takes keys from a keypad of this unit and satellite counter-12: /),
      expect.stringMatching(/^counter "2" takes keys from satellite counter-12 and satellite counter-13: /),
    ]);
  });
});
