// `ref`, central's reference of an online ticket: republished in events and the state to every
// subscriber (boards, pages, other offices' dashboards), so it must never carry personal data. A
// list of bad patterns (phone numbers, resident registration numbers) is always one separator
// style short (tel:010-1234-5678, en dashes, full-width digits, 0082-10-…, 900101.1234567, …).
// So the contract is a grammar for an opaque token instead:
//
//   1-64 characters as sent, each an ASCII letter, a digit or one of - _ . :, and at most 6
//   digits in all, counted after Unicode NFKC normalisation (full-width and other compatibility
//   digits count as the digits they stand for, in any script).
//
// A ref that is not ASCII as sent is refused even when NFKC would make it ASCII (ｗｅｂ-1).
//
// Every Korean phone number has 9 or more digits and a resident registration number 13, so none
// can be written in a ref, whatever separators, prefixes or widths are used: the rule counts
// digits, it does not look for shapes. Six digits leave room for a date (yymmdd) or a short
// counter; letters carry the entropy (20 random letters: 94 bits). The grammar is also the
// pattern in bridge/contract/schemas/cmd.json (ticket.issue's `ref`).
import { REF_MAX_LENGTH, textLength } from '../../device/queue/limits.ts';
import type { CommandError } from '../contract/types.ts';

export const REF_MAX_DIGITS = 6;
const REF_CHARS = /^[A-Za-z0-9._:-]+$/;
const DIGIT = /\p{Nd}/gu;

/** Why a ref is refused, or null when it is a good one. */
export function refusedRef(ref: string): CommandError | null {
  const normal = ref.normalize('NFKC');
  const digits = normal.match(DIGIT)?.length ?? 0;
  if (digits > REF_MAX_DIGITS) {
    return {
      code: 'personal-data',
      field: 'ref',
      message: `"ref" holds ${digits} digits (at most ${REF_MAX_DIGITS}): it could be a phone or resident registration number; send an opaque token`,
    };
  }
  if (normal !== ref || !REF_CHARS.test(ref) || textLength(ref) > REF_MAX_LENGTH) {
    return {
      code: 'invalid-field',
      field: 'ref',
      message: `"ref" must be 1 to ${REF_MAX_LENGTH} ASCII letters, digits and - _ . : (at most ${REF_MAX_DIGITS} digits)`,
    };
  }
  return null;
}
