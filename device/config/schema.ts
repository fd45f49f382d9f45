// The one source of truth for configuration: validation, defaults and the TypeScript types all come
// from these zod schemas. Hardware, display and MQTT sections live in their own files so each part
// of the daemon owns its settings.
import { z } from 'zod';
import { fixedOffsetMinutes } from '../util/zone.ts';
import { hardwareProblems } from './hardware-problems.ts';
import { hardwareSchema } from './hardware-schema.ts';
import { outputsSchema } from './outputs-schema.ts';
import { mqttSchema, SATELLITE_NAME, SATELLITE_NAME_MAX, SATELLITE_NAME_WHY } from './mqtt-schema.ts';
import { counterRefSchema, type SatelliteSection, satelliteSchema } from './satellite-schema.ts';

export const slug = z.string().regex(/^[a-z0-9-]{1,40}$/, 'expected a slug of a-z, 0-9 and -, 1 to 40 long');
const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected HH:MM (00:00 to 23:59)');

const timeZone = z.string().refine(
  (tz) => {
    // known without asking ICU (device/util/zone.ts), whose first use costs ~6 MiB of memory
    if (fixedOffsetMinutes(tz) !== null) return true;
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  },
  { message: 'expected an IANA time zone such as Asia/Seoul' },
);

export const numberRangeSchema = z
  .strictObject({
    /** a letter prefix such as "A": the number shows as A001 */
    prefix: z
      .string()
      .regex(/^[A-Z]{0,2}$/, 'expected 0 to 2 capital letters')
      .default(''),
    // 0 is "nothing issued yet" in the queue's state (lastIssued), so a range may not start there:
    // a ticket 0 would be issued again as the next one.
    from: z.number().int().min(1, 'ticket numbers start at 1 or more').max(99999),
    to: z.number().int().min(1).max(99999),
    /** digits shown, zero-padded; defaults to the digits of `to` */
    width: z.number().int().min(1).max(5).optional(),
  })
  .refine((r) => r.to >= r.from, {
    path: ['to'],
    // the line shows `to`'s value; `from`'s is the other half of the mistake
    error: (issue) => `must be >= from (${(issue.input as { from: number }).from})`,
  });

export const serviceSchema = z.strictObject({
  id: slug,
  name: z.string().min(1).max(20),
  numbers: numberRangeSchema,
  /** whether priority tickets of this service are called before its ordinary tickets */
  priority: z.boolean().default(true),
  /** daily cut-off time (발권 마감), office local time */
  cutoff: hhmm.optional(),
  /** daily cap of tickets */
  cap: z.number().int().min(1).optional(),
  /** starting estimate of one service, minutes, before the day has taught us better */
  avgMinutes: z.number().min(0.5).max(120).default(5),
});

export const counterSchema = z.strictObject({
  // `id: 5` as well as `id: "5"`: YAML reads an unquoted 5 as a number, and the references to a
  // counter (satellite.counters, the audio area, accounts) take one already
  id: counterRefSchema,
  name: z.string().min(1).max(20),
  /** services this counter serves, in order of preference */
  services: z.array(slug).min(1),
  /** status when a day opens */
  open: z.boolean().default(true),
});

export const policySchema = z.strictObject({
  /** "first": priority tickets before ordinary ones of the same service; "off": issue order only */
  priority: z.enum(['first', 'off']).default('first'),
  /** "oldest": the oldest waiting ticket across the counter's services; "service-order": the
   * counter's first service with someone waiting, then the next */
  counterOrder: z.enum(['oldest', 'service-order']).default('oldest'),
  /** a skipped (no-show) ticket can be called back by number for this long */
  noShowHoldMinutes: z.number().int().min(0).max(240).default(30),
  /** ticket.near fires once per ticket at each of these positions */
  near: z.array(z.number().int().min(0).max(100)).default([10, 3, 1]),
  /** open a new day by itself when the office's date changes (and the clock can be trusted) */
  autoOpen: z.boolean().default(true),
  /** a service started just after a boot on a clock NTP has not yet synchronised waits this long
   * for it before opening the queue (device/boot-clock-wait.ts); 0: never wait. At most 90: the
   * unit gives the start 120 s. */
  bootClockWaitSeconds: z.number().int().min(0).max(90).default(60),
  /** EWMA weight of the newest service time */
  ewmaAlpha: z.number().gt(0).max(1).default(0.2),
});

export const officeSchema = z.strictObject({
  id: slug,
  name: z.string().min(1).max(40),
  timeZone: timeZone.default('Asia/Seoul'),
});

export const dispenserButtonSchema = z.strictObject({
  id: slug,
  service: slug,
  priority: z.boolean().default(false),
  /** shown on the button in the simulator */
  label: z.string().max(20).optional(),
});

export const configSchema = z
  .strictObject({
    /** main: the office's unit (the queue, the dispenser, the broker); satellite: a unit that shows,
     * announces and sends keys for the main unit over the LAN (the `satellite` section) */
    role: z.enum(['main', 'satellite']).default('main'),
    office: officeSchema,
    device: z.strictObject({ id: slug.default('main') }).prefault({}),
    satellite: satelliteSchema.optional(),
    services: z.array(serviceSchema).min(1),
    counters: z.array(counterSchema).min(1),
    policy: policySchema.prefault({}),
    /** dispenser buttons: one per service plus the priority button */
    dispenser: z.strictObject({ buttons: z.array(dispenserButtonSchema) }).optional(),
    hardware: hardwareSchema.prefault({}),
    outputs: outputsSchema.prefault({}),
    mqtt: mqttSchema.prefault({}),
    store: z
      .strictObject({
        /** journal records between two snapshots */
        snapshotEvery: z.number().int().min(10).max(100000).default(1000),
        /** undelivered events kept for central; beyond this the oldest are dropped (see docs) */
        outboxMaxEvents: z.number().int().min(1000).default(200000),
      })
      .prefault({}),
  })
  .superRefine((cfg, ctx) => crossCheck(cfg, ctx));

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type ServiceConfig = Config['services'][number];
export type CounterConfig = Config['counters'][number];
export type PolicyConfig = Config['policy'];
/** A config whose role is satellite (device/satellite): it always has its section. */
export type SatelliteConfig = Config & { role: 'satellite'; satellite: SatelliteSection };

type Ctx = z.RefinementCtx;

function crossCheck(cfg: z.infer<z.ZodObject<Record<string, z.ZodType>>> & Record<string, unknown>, ctx: Ctx): void {
  const c = cfg as unknown as Config;
  const ids = new Map<string, number>();
  c.services.forEach((s, i) => {
    if (ids.has(s.id))
      ctx.addIssue({ code: 'custom', path: ['services', i, 'id'], message: `duplicate service id "${s.id}"` });
    ids.set(s.id, i);
  });
  // Numbers are unique within an office's day only if ranges with the same prefix never overlap.
  c.services.forEach((a, i) => {
    c.services.slice(0, i).forEach((b, j) => {
      if (a.numbers.prefix === b.numbers.prefix && a.numbers.from <= b.numbers.to && b.numbers.from <= a.numbers.to) {
        ctx.addIssue({
          code: 'custom',
          path: ['services', i, 'numbers'],
          message: `range ${fmtRange(a)} overlaps services[${j}] (${b.id}) ${fmtRange(b)}`,
        });
      }
    });
    const width = a.numbers.width ?? String(a.numbers.to).length;
    if (String(a.numbers.to).length > width) {
      ctx.addIssue({
        code: 'custom',
        path: ['services', i, 'numbers', 'width'],
        message: `width ${width} is too small for ${a.numbers.to}`,
      });
    }
  });
  const counterIds = new Set<string>();
  c.counters.forEach((k, i) => {
    if (counterIds.has(k.id))
      ctx.addIssue({ code: 'custom', path: ['counters', i, 'id'], message: `duplicate counter id "${k.id}"` });
    counterIds.add(k.id);
    k.services.forEach((s, j) => {
      if (!ids.has(s))
        ctx.addIssue({ code: 'custom', path: ['counters', i, 'services', j], message: `unknown service "${s}"` });
    });
  });
  const buttonIds = new Map<string, number>();
  c.dispenser?.buttons.forEach((b, i) => {
    // A press names its button by id and the first with that id answers: a copied line whose id
    // was left as it was would issue the other button's service.
    const first = buttonIds.get(b.id);
    if (first !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['dispenser', 'buttons', i, 'id'],
        message: `duplicate button id "${b.id}" (also dispenser.buttons[${first}]): give each button its own id`,
      });
    else buttonIds.set(b.id, i);
    if (!ids.has(b.service))
      ctx.addIssue({
        code: 'custom',
        path: ['dispenser', 'buttons', i, 'service'],
        message: `unknown service "${b.service}"`,
      });
  });
  for (const p of hardwareProblems(c)) ctx.addIssue({ code: 'custom', path: p.path, message: p.message });
  for (const p of roleProblems(c)) ctx.addIssue({ code: 'custom', path: p.path, message: p.message });
}

/** The satellite section belongs to role satellite, and names only counters, services and keypads
 * of this office; the broker's satellite accounts name counters of this office. */
function roleProblems(c: Config): Array<{ path: Array<string | number>; message: string }> {
  const problems: Array<{ path: Array<string | number>; message: string }> = [];
  const counters = new Set(c.counters.map((k) => k.id));
  const services = new Set(c.services.map((s) => s.id));
  if (c.role === 'satellite' && !c.satellite) {
    problems.push({ path: ['satellite'], message: 'role satellite needs the satellite section (main.url at least)' });
  }
  if (c.role === 'main' && c.satellite) {
    problems.push({ path: ['satellite'], message: 'a satellite section needs role: satellite' });
  }
  if (c.role === 'satellite' && !SATELLITE_NAME.test(c.device.id)) {
    problems.push({
      path: ['device', 'id'],
      message: `a satellite's device id is at most ${SATELLITE_NAME_MAX} long: ${SATELLITE_NAME_WHY}`,
    });
  }
  const sat = c.satellite;
  if (sat) {
    sat.counters.forEach((id, i) => {
      if (!counters.has(id)) problems.push({ path: ['satellite', 'counters', i], message: `unknown counter "${id}"` });
    });
    const user = sat.main.username;
    if (user !== undefined && user !== c.device.id) {
      problems.push({
        path: ['satellite', 'main', 'username'],
        message: `a satellite logs in with its device id (device.id "${c.device.id}"), got "${user}"`,
      });
    }
    const k = c.hardware.keypads;
    if (c.role === 'satellite' && k.driver !== 'sim') {
      k.devices.forEach((d, i) => {
        if (!sat.counters.includes(d.counter))
          problems.push({
            path: ['hardware', 'keypads', 'devices', i, 'counter'],
            message: `counter "${d.counter}" is not in satellite.counters: this satellite sends no key for it`,
          });
      });
    }
  }
  const area = c.outputs.audio.area;
  area?.counters?.forEach((id, i) => {
    if (!counters.has(id))
      problems.push({ path: ['outputs', 'audio', 'area', 'counters', i], message: `unknown counter "${id}"` });
  });
  area?.services?.forEach((id, i) => {
    if (!services.has(id))
      problems.push({ path: ['outputs', 'audio', 'area', 'services', i], message: `unknown service "${id}"` });
  });
  const usernames = new Map<string, number>();
  c.mqtt.broker.accounts.forEach((a, i) => {
    // The broker keeps one account per name, the last: a copied account whose username was left as
    // it was would lock the first one's client out with the second's password.
    const first = usernames.get(a.username);
    if (first !== undefined)
      problems.push({
        path: ['mqtt', 'broker', 'accounts', i, 'username'],
        message: `duplicate account "${a.username}" (also mqtt.broker.accounts[${first}]): give each client its own account`,
      });
    else usernames.set(a.username, i);
    // a satellite publishes devices/<username>/status (retained, and its will): named as this unit,
    // it would overwrite the main unit's own status
    if (a.role === 'satellite' && a.username === c.device.id) {
      problems.push({
        path: ['mqtt', 'broker', 'accounts', i, 'username'],
        message: `a satellite account cannot be named "${a.username}", this unit's own device.id (its status topic)`,
      });
    }
    a.counters?.forEach((id, j) => {
      if (!counters.has(id))
        problems.push({ path: ['mqtt', 'broker', 'accounts', i, 'counters', j], message: `unknown counter "${id}"` });
    });
  });
  return problems;
}

function fmtRange(s: ServiceConfig): string {
  return `${s.numbers.prefix}${s.numbers.from}-${s.numbers.prefix}${s.numbers.to}`;
}
