// mqtt.js's loader made slow on demand, for the tests of a stop that comes while it loads (a client
// made after the stop connected anyway). Use it as the factory of a vi.mock of
// bridge/uplink/client-common.ts, through a dynamic import (vi.mock is hoisted above imports), and
// set the delay with setMqttLoadDelay.
type ClientCommon = typeof import('../../bridge/uplink/client-common.ts');

const delay = { ms: 0 };

export function setMqttLoadDelay(ms: number): void {
  delay.ms = ms;
}

export async function slowMqttLoad(orig: () => Promise<unknown>): Promise<ClientCommon> {
  const actual = (await orig()) as ClientCommon;
  return {
    ...actual,
    loadMqtt: async () => {
      const m = await actual.loadMqtt();
      await new Promise((r) => setTimeout(r, delay.ms));
      return m;
    },
  };
}
