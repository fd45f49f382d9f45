// Settings of the MQTT side: embedded broker, uplink to central. Owned by bridge/.
import { z } from 'zod';

export const mqttSchema = z.strictObject({
  enabled: z.boolean().default(false),
});
export type MqttConfig = z.infer<typeof mqttSchema>;
