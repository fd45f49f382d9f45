// Settings of the MQTT side: the embedded broker (office LAN, browser pages) and the uplink to a
// city's central broker. Owned by bridge/; documented in docs/mqtt.md.
import { z } from 'zod';

const port = z.number().int().min(0).max(65535);
/** A satellite's name (its device id and its account): its command ids are the name, ':' and a
 * 26-character ULID, and the broker takes ids of at most 64 characters (bridge/broker/acl.ts). A
 * 40-character name, which a slug allows, could send no key at all. */
export const SATELLITE_NAME_MAX = 64 - 1 - 26;
export const SATELLITE_NAME = new RegExp(`^[a-z0-9-]{1,${SATELLITE_NAME_MAX}}$`);
export const SATELLITE_NAME_WHY = 'its command ids are the name, a colon and 26 characters, at most 64';

const slugOrAll = z.union([z.literal('*'), z.string().regex(/^[a-z0-9-]{1,40}$/, 'expected an office slug or "*"')]);

export const accountSchema = z
  .strictObject({
    username: z.string().min(1).max(64),
    /** scrypt$N$r$p$salt$hash, made by `npm run hash-password` */
    passwordHash: z
      .string()
      .regex(
        /^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/,
        'expected a hash from `npm run hash-password`',
      ),
    /** central: publishes cmd of its offices and reads everything; display/keypad: read only;
     * satellite: a satellite unit (docs/mqtt.md, "Accounts and what they may do") */
    role: z.enum(['central', 'display', 'keypad', 'satellite']),
    /** offices this account may touch; "*" is every office */
    offices: z.array(slugOrAll).min(1).default(['*']),
    /** satellite: the counters whose commands it may send (checked in each command's payload) */
    counters: z.array(z.union([z.number().int().min(0).transform(String), z.string().min(1).max(16)])).optional(),
  })
  .superRefine((a, ctx) => {
    if (a.role !== 'satellite') {
      if (a.counters !== undefined)
        ctx.addIssue({ code: 'custom', path: ['counters'], message: 'counters are for role satellite only' });
      return;
    }
    // Its command ids begin with "<username>:" and it publishes devices/<username>/status.
    if (!SATELLITE_NAME.test(a.username))
      ctx.addIssue({
        code: 'custom',
        path: ['username'],
        message: `a satellite account is named after its device id (a slug of a-z, 0-9 and -, 1 to ${SATELLITE_NAME_MAX} long: ${SATELLITE_NAME_WHY})`,
      });
    if (a.offices.length !== 1 || a.offices[0] === '*')
      ctx.addIssue({ code: 'custom', path: ['offices'], message: 'a satellite belongs to exactly one office' });
  });

export const brokerSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** bind address of every listener; anything but loopback requires accounts */
  host: z.string().min(1).default('127.0.0.1'),
  /** MQTT over TCP; 0 picks a free port (tests); null turns it off (TLS only: docs/mqtt.md) */
  port: port.nullable().default(1883),
  /** MQTT over WebSocket (browser pages); null turns it off */
  wsPort: port.nullable().default(9001),
  /** MQTT over TLS, when a certificate and key are configured */
  tls: z
    .strictObject({
      port: port.default(8883),
      /** MQTT over secure WebSocket (wss) for pages served over https; null turns it off */
      wsPort: port.nullable().default(null),
      cert: z.string().min(1),
      key: z.string().min(1),
      ca: z.string().min(1).optional(),
    })
    .optional(),
  accounts: z.array(accountSchema).default([]),
  /** the simulator's demo account central/central: accepted on loopback listeners only */
  demo: z.boolean().default(false),
  /** browser pages allowed on the WebSocket listeners, as origins; `scheme://host:*` allows any
   * port. A request without an Origin header (not a browser) is accepted. */
  wsOrigins: z
    .array(z.string().regex(/^https?:\/\/[^/\s]+$/, 'expected an origin such as http://127.0.0.1:8080'))
    .default(['http://127.0.0.1:*', 'http://localhost:*', 'http://[::1]:*']),
  /** hostile-client limits of every listener (docs/mqtt.md, "Limits") */
  limits: z
    .strictObject({
      /** largest packet a client may send (remaining length), checked from its fixed header */
      maxPacketBytes: z.number().int().min(1024).max(16_777_216).default(65_536),
      /** a connection must be logged in (CONNACK sent) this soon after it opens */
      connectTimeoutMs: z.number().int().min(100).max(60_000).default(5000),
      /** connections not yet logged in, per listener; more are closed at once */
      pendingConnections: z.number().int().min(1).max(10_000).default(32),
      /** of those, from one source address (an IPv6 /64); when the listener is full, a newcomer
       * takes a slot from the source holding the most */
      pendingPerSource: z.number().int().min(1).max(10_000).default(8),
      /** bytes waiting to be sent to one client; a client that lets more pile up is dropped */
      clientBufferBytes: z.number().int().min(65_536).max(268_435_456).default(1_048_576),
      /** QoS 2 publishes one connection may leave waiting for their PUBREL; one more closes it */
      inflightInbound: z.number().int().min(1).max(1000).default(16),
      /** live connections of one account; one more gets CONNACK 3 */
      connectionsPerAccount: z.number().int().min(1).max(10_000).default(16),
      /** persistent sessions (clean: false) one account keeps, connected or away */
      sessionsPerAccount: z.number().int().min(1).max(10_000).default(8),
      /** messages queued for a persistent session while it is away; later ones are dropped for it */
      sessionQueue: z.number().int().min(1).max(100_000).default(1000),
      /** a persistent session away this long ends (its subscriptions, queue and client id go) */
      sessionExpiryMinutes: z.number().int().min(1).max(10_080).default(120),
      /** topic filters one connection may hold (a satellite needs 4); more get SUBACK 0x80 */
      subscriptionsPerClient: z.number().int().min(1).max(100_000).default(64),
      /** a satellite account's commands in a row, then `satelliteCommandsPerMinute`, each per
       * counter of the account; past them a command closes its connection (a clerk presses a few
       * keys a minute) */
      satelliteCommandBurst: z.number().int().min(1).max(10_000).default(20),
      satelliteCommandsPerMinute: z.number().int().min(1).max(60_000).default(6),
      /** a central account's commands on this broker in a row, then `centralCommandsPerMinute`;
       * past them a command is answered `rate-limited` (the first three on a connection) or closes
       * its connection. Central's uplink is not limited here */
      centralCommandBurst: z.number().int().min(1).max(100_000).default(200),
      centralCommandsPerMinute: z.number().int().min(1).max(600_000).default(120),
      /** packets a second one logged-in connection may send (after a burst of as many); past them
       * its socket is not read for a while */
      packetsPerSecond: z.number().int().min(10).max(1_000_000).default(500),
      /** new connections a second from one address beyond loopback, after 20 in a row; more are
       * closed at once */
      acceptsPerSecond: z.number().min(0.1).max(10_000).default(5),
    })
    .prefault({}),
});

/** A client's password and its trust in the broker's certificate: central's uplink (below) and a
 * satellite's link to its main unit (satellite-schema.ts). */
export const brokerClientFields = {
  password: z.string().optional(),
  /** name of an environment variable holding the password (keeps secrets out of the file) */
  passwordEnv: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
    .optional(),
  /** PEM file of the CA that signed the broker's certificate (mqtts://, wss://) */
  ca: z.string().optional(),
  rejectUnauthorized: z.boolean().default(true),
};

const uplinkUrl = z
  .string()
  .regex(/^(mqtts?|wss?|tcp|tls|ssl):\/\/[^\s/]+/, 'expected an mqtt://, mqtts://, ws:// or wss:// URL');

export const uplinkSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** mqtt://, mqtts://, ws:// or wss:// URL of central's broker, or a list of them (the nodes of a
   * cluster): the first is used until it fails, then the next (docs/mqtt.md, "Clustered brokers") */
  url: z.union([
    uplinkUrl,
    z
      .array(uplinkUrl)
      .min(1, 'expected at least one URL')
      .max(16, 'at most 16 URLs')
      .refine((urls) => new Set(urls).size === urls.length, 'the same URL is listed twice'),
  ]),
  username: z.string().min(1).optional(),
  ...brokerClientFields,
  /** PEM files of this device's client certificate and its key (mutual TLS) */
  cert: z.string().optional(),
  key: z.string().optional(),
  /** default beonho-{office}-{device} */
  clientId: z.string().min(1).max(64).optional(),
  /** 5 falls back to 4 (3.1.1) when the broker refuses MQTT 5 */
  protocolVersion: z.union([z.literal(5), z.literal(4)]).default(5),
  keepaliveSec: z.number().int().min(5).max(3600).default(30),
  /** the broker keeps our cmd subscription this long while we are away */
  sessionExpirySec: z.number().int().min(0).default(3600),
  reconnectMinMs: z.number().int().min(10).default(1000),
  reconnectMaxMs: z.number().int().min(100).default(60000),
});

export const mqttSchema = z.strictObject({
  /** the whole bridge on or off */
  enabled: z.boolean().default(true),
  broker: brokerSchema.prefault({}),
  uplink: uplinkSchema.optional(),
  commands: z
    .strictObject({
      /** bigger command payloads are refused with `too-large` */
      maxBytes: z.number().int().min(256).max(65536).default(4096),
      /** no longer used: every command id of the day and the day before is remembered (the store's
       * command log, docs/mqtt.md "Idempotency"); kept so existing configuration files still load */
      remember: z.number().int().min(10).max(100000).default(2000),
      /** command ids remembered a day per sender (the uplink; each account on the office's broker);
       * past them a new id is refused with `command-memory-full`, nothing remembered is dropped */
      idsPerDay: z.number().int().min(100).max(1_000_000).default(10_000),
    })
    .prefault({}),
  state: z
    .strictObject({
      /** minimum gap between two state publishes: bursts are coalesced, the latest always goes out */
      minIntervalMs: z.number().int().min(0).max(10000).default(250),
    })
    .prefault({}),
  events: z
    .strictObject({
      /** QoS 1 publishes in flight at once while draining the outbox */
      window: z.number().int().min(1).max(5000).default(500),
      /** events read from the outbox per batch */
      batch: z.number().int().min(1).max(5000).default(500),
    })
    .prefault({}),
  /** device status is republished at most this often when only the outbox figures changed */
  statusIntervalSec: z.number().int().min(1).default(30),
  /** state and status are published again this often even when unchanged, for readers a
   * clustered broker gives no retained copy (docs/mqtt.md, "Clustered brokers"); 0 = never */
  republishSec: z.number().int().min(0).max(86_400).default(300),
});
export type MqttConfig = z.infer<typeof mqttSchema>;
export type BrokerConfig = MqttConfig['broker'];
export type UplinkConfig = NonNullable<MqttConfig['uplink']>;
export type AccountConfig = BrokerConfig['accounts'][number];
