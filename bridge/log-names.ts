// Names a client chose, cut and masked for a log line (the broker's, the command handler's, the
// simulated central's). Apart from device/util/rate-limited-log.ts, which the daemon's other parts
// use too: the masking rule is the contract's `ref` rule (bridge/commands/ref.ts).
import { REF_MAX_DIGITS } from './commands/ref.ts';

/** A client-chosen string cut for a log line (ids and user names may be 65,535 bytes long). aedes
 * types a client's id as a string, but it is null until the CONNECT has been read: a log line must
 * never throw for it. */
export function clip(s: string | null | undefined, max = 64): string | undefined {
  if (s === undefined || s === null) return undefined;
  if (s.length <= max) return s;
  return `${s.slice(0, max)}…(+${s.length - max})`;
}

const DIGIT = /\p{Nd}/gu;

/** A name a client chose (its client id, the user name it tried, a topic), cut as clip() cuts it,
 * for a log line: the journal must not keep a phone or resident registration number typed as a
 * user name or a client id. The rule is `ref`'s (bridge/commands/ref.ts), counted, not matched to
 * shapes: with more than REF_MAX_DIGITS digits (after NFKC, any script) every digit shows as `#`;
 * a character that is not printable ASCII shows as `?` (a name in Hangul). The contract's slugs
 * and topics stay readable; an id with many digits is still told apart by its letters and length,
 * and the line's source address. */
export function clipName(s: string | null | undefined, max = 64): string | undefined {
  if (s === undefined || s === null) return undefined;
  const kept = s.length <= max ? s : s.slice(0, max);
  const digits = kept.normalize('NFKC').match(DIGIT)?.length ?? 0;
  let shown = kept.replace(/[^\x20-\x7e]/gu, '?');
  if (digits > REF_MAX_DIGITS) shown = shown.replace(/[0-9]/g, '#');
  return kept === s ? shown : `${shown}…(+${s.length - max})`;
}
