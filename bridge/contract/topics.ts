// Topic names of the contract (docs/mqtt.md), built in one place so no other module spells a
// topic by hand. A built topic carries its kind in its type (`Topic<'state'>`), so publishing a
// payload of another kind on it does not compile (bridge/sink.ts).

export const ROOT = 'beonho/v1';

export type TopicKind = 'state' | 'events' | 'status' | 'cmd' | 'cmd/result';

declare const kindOf: unique symbol;
/** A concrete topic name that carries payloads of kind K. Only the builders below make one; at run
 * time it is a plain string (so it subscribes, parses and logs like one). */
export type Topic<K extends TopicKind> = string & { readonly [kindOf]: K };

export interface OfficeTopics {
  state: Topic<'state'>;
  events: Topic<'events'>;
  cmd: Topic<'cmd'>;
  cmdResult: Topic<'cmd/result'>;
  status(device: string): Topic<'status'>;
  /** filter matching every topic of the office (a filter, not a topic: nothing is published on it) */
  all: string;
}

export function officeTopics(office: string): OfficeTopics {
  const base = `${ROOT}/${office}`;
  return {
    state: `${base}/state` as Topic<'state'>,
    events: `${base}/events` as Topic<'events'>,
    cmd: `${base}/cmd` as Topic<'cmd'>,
    cmdResult: `${base}/cmd/result` as Topic<'cmd/result'>,
    status: (device: string) => `${base}/devices/${device}/status` as Topic<'status'>,
    all: `${base}/#`,
  };
}

/** The MQTT 5 response topic a command named: it carries that command's cmd/result. Null when it is
 * one a command must not make us publish on: a wildcard, a `$` system topic, or a topic of beonho's
 * tree (a command could otherwise forge state, events, status or another office's commands). */
export function responseTopic(name: string): Topic<'cmd/result'> | null {
  if (name === '' || /[#+]/.test(name) || name.startsWith('$')) return null;
  // Anywhere in beonho's tree, not only our own office's contract topics: a command must never make
  // the device write where subscribers read (its boards and keypads; central, which reads every
  // office's state; another office's devices, which take their commands there). A reply topic is
  // central's own.
  const root = ROOT.split('/')[0]!;
  if (name === root || name.startsWith(`${root}/`)) return null;
  return name as Topic<'cmd/result'>;
}

export interface ParsedTopic {
  office: string;
  kind: TopicKind;
  device?: string;
}

/** an office id or a device id as it appears in a topic */
export const SLUG = /^[a-z0-9-]{1,40}$/;

/** The contract topic a concrete topic name is, or null when it is not one of ours. */
export function parseTopic(topic: string): ParsedTopic | null {
  const parts = topic.split('/');
  if (parts[0] !== 'beonho' || parts[1] !== 'v1') return null;
  const office = parts[2];
  if (office === undefined || !SLUG.test(office)) return null;
  const rest = parts.slice(3).join('/');
  switch (rest) {
    case 'state':
    case 'events':
    case 'cmd':
    case 'cmd/result':
      return { office, kind: rest };
  }
  if (parts.length === 6 && parts[3] === 'devices' && parts[5] === 'status') {
    const device = parts[4];
    if (device !== undefined && SLUG.test(device)) return { office, kind: 'status', device };
  }
  return null;
}
