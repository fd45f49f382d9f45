// Settings of a satellite (`role: satellite`): a unit that shows and announces what the office's
// main unit decides and sends its counters' keys there, over the office LAN. It keeps no queue.
// Owned by device/satellite/; documented in docs/architecture.md ("Satellites") and docs/mqtt.md.
import { z } from 'zod';
import { brokerClientFields } from './mqtt-schema.ts';

export const counterIdSchema = z.string().regex(/^[A-Za-z0-9-]{1,16}$/, 'expected 1 to 16 letters, digits or -');

/** A counter id as people write it in YAML: `1` or `"1"`. A preprocess, not a union: a value that
 * is neither is refused in the words of the text it should be ("expected a text, got true"), where
 * a union says only "Invalid input". */
export const counterRefSchema = z.preprocess(integerAsText, counterIdSchema);

/** An unquoted whole number as the text YAML read it from (`3`, not `"3"`); anything else as it is. */
export function integerAsText(v: unknown): unknown {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? String(v) : v;
}

export const satelliteSchema = z.strictObject({
  /** the main unit's embedded broker and this satellite's account there */
  main: z.strictObject({
    /** mqtt:// or mqtts:// (ws:// and wss:// work too) of the main unit's embedded broker */
    url: z.string().regex(/^(mqtts?|wss?|tcp|tls|ssl):\/\//, 'expected an mqtt://, mqtts://, ws:// or wss:// URL'),
    /** the main unit's device id (its status tells whether central is reachable) */
    device: z
      .string()
      .regex(/^[a-z0-9-]{1,40}$/)
      .default('main'),
    /** this satellite's account at the main unit (role satellite); default: the device id. The
     * account may publish this device's status only, so the two must be the same. */
    username: z.string().optional(),
    /** password or passwordEnv; ca: the CA that signed the main unit's certificate (mqtts://) */
    ...brokerClientFields,
    /** a main unit that lost its power sends nothing: the link counts as down after 1.5 of these */
    keepaliveSec: z.number().int().min(2).max(60).default(5),
    reconnectMinMs: z.number().int().min(50).default(500),
    reconnectMaxMs: z.number().int().min(100).default(5000),
  }),
  /** the counters whose keypads this satellite carries; its account must be bound to the same */
  counters: z.array(counterRefSchema).default([]),
  /** a key whose result has not come back after this long shows a failure on its counter */
  keyTimeoutMs: z.number().int().min(500).max(30_000).default(4000),
  /** how long a key's result stays on the counter's display */
  messageSeconds: z.number().int().min(1).max(60).default(5),
});
export type SatelliteSection = z.infer<typeof satelliteSchema>;
