// Client ids on the embedded broker. An MQTT broker ends a session when another connection brings
// the same id, so without rules any account could knock another off (a display taking central's
// id). Ids are tied to accounts:
//   - `<username>` and `<username>-…` belong to that account alone, connected or not (the longest
//     matching user name wins, so `central-2-x` belongs to `central-2`, not `central`);
//   - any other id belongs to the account that uses it, for as long as its session lives (the
//     connection, or the broker's memory for a persistent session);
//   - an empty id gets a fresh one from the broker, which MQTT 3.1.1 allows for a clean session only.

/** Longer ids are refused at every protocol level (CONNACK 2); MQTT 3.1 itself allowed 23. */
export const MAX_CLIENT_ID_BYTES = 128;

export type ClientIdProblem = 'mqtt-client-id-too-long' | 'mqtt-client-id-empty-persistent';

/** What is wrong with an id on its own, before any password is looked at (null: nothing). */
export function clientIdProblem(id: string, clean: boolean): ClientIdProblem | null {
  if (Buffer.byteLength(id, 'utf8') > MAX_CLIENT_ID_BYTES) return 'mqtt-client-id-too-long';
  if (id === '' && !clean) return 'mqtt-client-id-empty-persistent';
  return null;
}

export class ClientIdOwners {
  private readonly names: string[];
  /** ids outside every account's reserve, with the account whose session holds them */
  private readonly held = new Map<string, string>();

  constructor(usernames: Iterable<string>) {
    this.names = [...usernames].sort((a, b) => b.length - a.length);
  }

  /** The account an id is reserved for by its name, if any. */
  reservedFor(id: string): string | undefined {
    return this.names.find((n) => id === n || id.startsWith(`${n}-`));
  }

  mayUse(id: string, username: string): boolean {
    const owner = this.reservedFor(id) ?? this.held.get(id);
    return owner === undefined || owner === username;
  }

  /** `username` logged in with `id`. */
  hold(id: string, username: string): void {
    if (this.reservedFor(id) === undefined) this.held.set(id, username);
  }

  /** The session of `id` ended (a clean session's connection closed). */
  release(id: string): void {
    this.held.delete(id);
  }
}
