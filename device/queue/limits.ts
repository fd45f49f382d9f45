// How long free text may be in an action, and what "long" means: Unicode code points (characters
// as a person counts them, an emoji being one). JSON Schema's maxLength counts the same (ajv counts
// code points), so a command the schema lets through is never refused by the queue for its length
// (a JavaScript string's .length counts UTF-16 units: an emoji is two). The queue, the command
// validation (bridge/commands) and the cmd schema all take their limits from here;
// tests/command-ref.test.ts checks the schema says the same numbers.

/** a notice on the board (`notice.set`) */
export const NOTICE_MAX_LENGTH = 200;
/** central's reference of an online ticket (`ticket.issue`'s `ref`) */
export const REF_MAX_LENGTH = 64;

/** The length of a text in Unicode code points. */
export function textLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}
