// A payload as it goes on the wire. Every sink and the will encode through here, so the bytes of a
// payload do not depend on which link carried it.
import type { TopicKind } from './topics.ts';
import type { PayloadOf } from './types.ts';

export function encodePayload<K extends TopicKind>(payload: PayloadOf<K>): string {
  return JSON.stringify(payload);
}
