// Who may do what on the embedded broker. Pure functions of an account, a topic and (for a
// satellite's commands and results) a payload, so the rules can be read (and tested) in one place.
// Publishing state/events/cmd/result and the main unit's status is for the daemon alone: it
// publishes in-process, which bypasses these checks. docs/mqtt.md, "Accounts and what they may do".
import type { AccountConfig } from '../../device/config/mqtt-schema.ts';
import type { CommandErrorCode } from '../../device/error-codes.ts';
import { validatorFor } from '../contract/schemas.ts';
import { ROOT, SLUG, parseTopic } from '../contract/topics.ts';
import { COMMAND_TYPES } from '../contract/types.ts';

export type Account = Pick<AccountConfig, 'username' | 'role' | 'offices' | 'counters'>;

/** The commands a satellite may send: its counters' keys. */
export const SATELLITE_COMMANDS: ReadonlySet<string> = new Set([
  'counter.next',
  'counter.recall',
  'counter.skip',
  'counter.call',
  'counter.transfer',
  'counter.pause',
  'counter.resume',
  'counter.close',
]);

const KNOWN_TYPES: ReadonlySet<string> = new Set(COMMAND_TYPES);
/** the contract's command id (cmd.json) */
const COMMAND_ID = /^[\x21-\x7e]{1,64}$/;

/** A satellite's command ids begin with its user name and a colon, so they never meet central's
 * (ULIDs, UUIDs) in the command log, and a satellite receives only its own results. */
export function satelliteIdPrefix(username: string): string {
  return `${username}:`;
}

function officeAllowed(account: Account, office: string): boolean {
  return account.offices.includes('*') || account.offices.includes(office);
}

/** `central` publishes on the `cmd` topic of its offices; a satellite on its office's `cmd` (each
 * command then checked by satelliteCommandRefusal) and its own status (`devices/<username>/status`,
 * its presence and its will). Nobody else publishes. */
export function mayPublish(account: Account, topic: string): boolean {
  if (account.role !== 'central' && account.role !== 'satellite') return false;
  const t = parseTopic(topic);
  if (t === null || !officeAllowed(account, t.office)) return false;
  if (t.kind === 'cmd') return true;
  return account.role === 'satellite' && t.kind === 'status' && t.device === account.username;
}

/** Why a satellite's command is refused before it reaches the queue, or null when it may run: only
 * a counter command, only for a counter its account is bound to, only with an id of its own. The
 * id and type are echoed in the refusal's cmd/result when they could be read. */
export function satelliteCommandRefusal(account: Account, payload: Buffer | Uint8Array): SatelliteRefusal | null {
  const read = readSatelliteCommand(account, payload);
  if ('code' in read) return read;
  const { doc: o, echo } = read;
  const { id, type } = echo;
  if (id === null) {
    return {
      ...echo,
      code: 'foreign-command-id',
      message: `a satellite's command ids are printable ASCII beginning with "${satelliteIdPrefix(account.username)}"`,
    };
  }
  if (type === undefined || !SATELLITE_COMMANDS.has(type)) {
    return { ...echo, code: 'command-not-allowed', message: 'a satellite sends counter commands only' };
  }
  const counter = typeof o.counter === 'number' ? String(o.counter) : o.counter;
  if (typeof counter !== 'string' || !(account.counters ?? []).includes(counter)) {
    return {
      ...echo,
      code: 'counter-not-bound',
      // the value not echoed: free text here ("010-…") would reach cmd/result
      message: `account "${account.username}" may command counters ${(account.counters ?? []).join(', ') || 'none'} only`,
    };
  }
  return null;
}

/** A satellite's command refused by the broker, with its id and type when they could be read. */
export interface SatelliteRefusal {
  id: string | null;
  type?: string;
  code: CommandErrorCode;
  message: string;
}

/** What a refusal of this command echoes: its id and type, when they are its own (a satellite's
 * ids begin with its user name; a central account's may be any id of the grammar). */
export function satelliteCommandEcho(
  account: Account,
  payload: Buffer | Uint8Array,
): { id: string | null; type?: string } {
  const read = readSatelliteCommand(account, payload);
  return 'code' in read ? { id: null } : read.echo;
}

function readSatelliteCommand(
  account: Account,
  payload: Buffer | Uint8Array,
): SatelliteRefusal | { doc: Record<string, unknown>; echo: { id: string | null; type?: string } } {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch {
    return { id: null, code: 'malformed', message: 'command is not valid UTF-8 JSON' };
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    return { id: null, code: 'not-an-object', message: 'command must be a JSON object' };
  }
  const o = doc as Record<string, unknown>;
  const prefix = account.role === 'satellite' ? satelliteIdPrefix(account.username) : '';
  // Echoed only when it is this satellite's own id in the contract's grammar: a result for another
  // client's id would be the first result central (or another satellite) takes for its command,
  // and free text (a name, a phone number) would reach cmd/result and the log.
  const id = typeof o.id === 'string' && COMMAND_ID.test(o.id) && o.id.startsWith(prefix) ? o.id : null;
  const type = typeof o.type === 'string' && KNOWN_TYPES.has(o.type) ? o.type : undefined;
  return { doc: o, echo: { id, ...(type !== undefined ? { type } : {}) } };
}

/** The most a status message may weigh: the daemon's own, with every hardware part, is ~1 KB. */
export const MAX_STATUS_BYTES = 8192;

/** Why a satellite's publish on its status topic is refused, or null: it is retained and read by
 * every display and central, so it must be what the contract says a status is (status.json), for
 * this office and this device, and small. An empty payload (clearing its own retained status) is
 * allowed. A 60 KB free-text status once went through and was delivered to every reader. */
export function satelliteStatusProblem(account: Account, topic: string, payload: Buffer | Uint8Array): string | null {
  const t = parseTopic(topic);
  if (account.role !== 'satellite' || t?.kind !== 'status' || payload.byteLength === 0) return null;
  if (payload.byteLength > MAX_STATUS_BYTES)
    return `status of ${payload.byteLength} bytes (at most ${MAX_STATUS_BYTES})`;
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch {
    return 'status is not UTF-8 JSON';
  }
  const validate = validatorFor('status');
  if (!validate(doc)) return 'status does not match the contract (status.json)';
  const s = doc as { office: string; device: string };
  if (s.office !== t.office || s.device !== account.username) return 'status names another office or device';
  return null;
}

/** A retained command would be delivered again to every subscriber that (re)connects, and run
 * again once its id has been forgotten: nobody may retain one (the MQTT will included). */
export function isRetainedCommand(topic: string, retain: boolean): boolean {
  return retain && parseTopic(topic)?.kind === 'cmd';
}

const OFFICE = Symbol('office');
const DEVICE = Symbol('device');
type Level = string | typeof OFFICE | typeof DEVICE;
const TOPIC_LEVELS: Record<'state' | 'events' | 'cmd' | 'cmd/result' | 'status', Level[]> = {
  state: [...ROOT.split('/'), OFFICE, 'state'],
  events: [...ROOT.split('/'), OFFICE, 'events'],
  cmd: [...ROOT.split('/'), OFFICE, 'cmd'],
  'cmd/result': [...ROOT.split('/'), OFFICE, 'cmd', 'result'],
  status: [...ROOT.split('/'), OFFICE, 'devices', DEVICE, 'status'],
};

/** The kinds of topic `account` may ever receive (mayRead). */
function readableKinds(account: Account): Array<keyof typeof TOPIC_LEVELS> {
  if (account.role === 'central') return ['state', 'events', 'cmd', 'cmd/result', 'status'];
  if (account.role === 'satellite') return ['state', 'events', 'status', 'cmd/result'];
  return ['state', 'events', 'status'];
}

/** Whether `filter` matches some topic of the shape `levels` that `account` may read. */
function filterReaches(account: Account, filter: string[], levels: Level[]): boolean {
  for (let i = 0; i < filter.length; i++) {
    const f = filter[i]!;
    if (f === '#') return true; // the rest, and the level above it
    const level = levels[i];
    if (level === undefined) return false;
    if (f === '+') continue;
    if (level === OFFICE) {
      if (!SLUG.test(f) || !officeAllowed(account, f)) return false;
    } else if (level === DEVICE) {
      if (!SLUG.test(f)) return false;
    } else if (f !== level) return false;
  }
  return filter.length === levels.length;
}

/** A filter is granted only when it can match a topic the account may read: not a `$` topic, not
 * another office's, not a topic outside the contract. Each one granted costs the broker memory
 * (and is counted against limits.subscriptionsPerClient), so none is granted for nothing. What a
 * client actually receives is still decided per message by mayRead (a wildcard reaches further). */
export function maySubscribe(account: Account, filter: string): boolean {
  if (filter.length === 0 || filter.startsWith('$')) return false;
  const levels = filter.split('/');
  return readableKinds(account).some((kind) => filterReaches(account, levels, TOPIC_LEVELS[kind]));
}

/** central reads everything of its offices; display, keypad and satellite accounts read state,
 * events and status; a satellite also reads the results of its own commands (by id, so `payload`
 * is needed for cmd/result). */
export function mayRead(account: Account, topic: string, payload?: Buffer | Uint8Array | string): boolean {
  const t = parseTopic(topic);
  if (!t || !officeAllowed(account, t.office)) return false;
  if (account.role === 'central') return true;
  if (t.kind === 'cmd/result')
    return account.role === 'satellite' && payload !== undefined && ownResult(account, payload);
  return t.kind === 'state' || t.kind === 'events' || t.kind === 'status';
}

/** What `account` receives of a message it may read: a device status without its `system` part
 * (memory, disk, uptime) unless it is central's. Boards and satellites show none of it, and to a
 * stranger holding their password it was live feedback on how an attack went. */
export function payloadFor(account: Account, topic: string, payload: Buffer): Buffer {
  if (account.role === 'central' || parseTopic(topic)?.kind !== 'status') return payload;
  let doc: unknown;
  try {
    doc = JSON.parse(payload.toString('utf8'));
  } catch {
    return payload;
  }
  if (doc === null || typeof doc !== 'object' || !('system' in doc)) return payload;
  const { system: _system, ...rest } = doc as Record<string, unknown>;
  return Buffer.from(JSON.stringify(rest));
}

function ownResult(account: Account, payload: Buffer | Uint8Array | string): boolean {
  try {
    const text = typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8');
    const id = (JSON.parse(text) as { id?: unknown }).id;
    return typeof id === 'string' && id.startsWith(satelliteIdPrefix(account.username));
  } catch {
    return false;
  }
}
