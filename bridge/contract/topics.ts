// Topic names of the contract (shared/mqtt-contract.md), built in one place so no other module
// spells a topic by hand.

export const ROOT = 'beonho/v1';

export type TopicKind = 'state' | 'events' | 'status' | 'cmd' | 'cmd/result';

export interface OfficeTopics {
  state: string;
  events: string;
  cmd: string;
  cmdResult: string;
  status(device: string): string;
  /** filter matching every topic of the office */
  all: string;
}

export function officeTopics(office: string): OfficeTopics {
  const base = `${ROOT}/${office}`;
  return {
    state: `${base}/state`,
    events: `${base}/events`,
    cmd: `${base}/cmd`,
    cmdResult: `${base}/cmd/result`,
    status: (device: string) => `${base}/devices/${device}/status`,
    all: `${base}/#`,
  };
}

export interface ParsedTopic {
  office: string;
  kind: TopicKind;
  device?: string;
}

const SLUG = /^[a-z0-9-]{1,40}$/;

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
