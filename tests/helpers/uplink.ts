// An uplink to a test broker as the bridge builds one for office singok2's main unit, reconnecting
// within 100 ms, with its session number counted in memory.
import type { Logger } from 'pino';
import { officeTopics } from '../../bridge/contract/topics.ts';
import { willPayload } from '../../bridge/publish/status.ts';
import { Uplink } from '../../bridge/uplink/uplink.ts';
import { mqttSchema } from '../../device/config/mqtt-schema.ts';

export function testUplink(
  url: string | string[],
  o: {
    logger: Logger;
    protocolVersion?: 4 | 5;
    onCommand?: (topic: string, payload: Buffer) => Promise<void>;
    resubscribeMs?: number;
    subackTimeoutMs?: number;
    /** the longest wait between attempts (100 ms unless given) */
    reconnectMaxMs?: number;
  },
): Uplink {
  const cfg = mqttSchema.parse({
    uplink: {
      url,
      reconnectMinMs: 10,
      reconnectMaxMs: o.reconnectMaxMs ?? 100,
      ...(o.protocolVersion ? { protocolVersion: o.protocolVersion } : {}),
    },
  }).uplink!;
  const topics = officeTopics('singok2');
  let session = 0;
  return new Uplink({
    cfg,
    clientId: 'beonho-singok2-main',
    cmdTopic: topics.cmd,
    statusTopic: topics.status('main'),
    logger: o.logger,
    nextSession: async () => ++session,
    willPayload: (s) => willPayload('singok2', 'main', s),
    onCommand: o.onCommand ?? (async () => undefined),
    ...(o.resubscribeMs ? { resubscribeMs: o.resubscribeMs } : {}),
    ...(o.subackTimeoutMs ? { subackTimeoutMs: o.subackTimeoutMs } : {}),
  });
}
