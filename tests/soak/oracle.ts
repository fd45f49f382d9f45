// The soak's oracle. It judges only what central sees on its broker (events, cmd/result, the
// retained state) plus what the kiosk printed, never the device's files: a power-cut bug matters
// when someone outside the device can see it.
import { localTime } from '../../device/util/time.ts';

export interface ObservedTicket {
  number: string;
  service: string;
  channel: string;
  ref?: string;
}

/** One message on beonho/v1/{office}/events, as it arrived (repeats included). */
export interface ObservedEvent {
  seq: number;
  id: string;
  type: string;
  at: string;
  /** day.opened / day.closed */
  day?: string;
  ticket?: ObservedTicket;
}

/** One message on beonho/v1/{office}/cmd/result. */
export interface ObservedResult {
  id: string | null;
  ok: boolean;
  /** error code when !ok */
  code?: string;
  /** result.ticket.number when there is one */
  number?: string;
}

/** A command central sent (once, or again with the same id after its retry timeout). */
export interface SentCommand {
  id: string;
  type: string;
  /** ticket.issue: central's opaque reference, unique per command */
  ref?: string;
  attempts: number;
}

/** A ticket the kiosk printed (the terminal's `ticket N (service)` line). */
export interface PrintedTicket {
  number: string;
  service: string;
}

export interface Observations {
  events: ObservedEvent[];
  results: ObservedResult[];
  commands: SentCommand[];
  printed: PrintedTicket[];
  /** seq of the last retained state central holds at the end (null: none arrived) */
  finalStateSeq: number | null;
  timeZone: string;
}

export const VIOLATION_KINDS = {
  'seq-gap': 'an event arrived after a gap in seq (events must come in seq order, repeats allowed)',
  'seq-conflict': 'two different events carried the same seq',
  'number-reused': 'a number was issued twice in one day',
  'issued-on-past-day': 'a ticket was numbered on a day whose date had passed (the day was not rolled at midnight)',
  'acknowledged-ticket-missing': 'an ok cmd/result named a ticket that no ticket.issued event carries',
  'second-ticket-for-command': 'one command (one ref) got more than one ticket',
  'retry-answered-differently': 'results for one command id differ (ok/error code/ticket number)',
  unanswered: 'a command central sent never got a result, even after retries',
  'events-incomplete': "at the end, central's events stop short of the retained state's seq",
  'printed-ticket-missing': 'a ticket the kiosk printed is missing from the events',
  'daemon-failed': 'the daemon exited without being cut, or did not start',
} as const;
export type ViolationKind = keyof typeof VIOLATION_KINDS;

export interface Violation {
  kind: ViolationKind;
  detail: string;
}

export interface OracleStats {
  /** distinct seqs received */
  events: number;
  /** events received again (same seq, same event) */
  repeats: number;
  lastSeq: number;
  days: string[];
  ticketsIssued: { online: number; kiosk: number };
  /** ok ticket.issue results (distinct command ids) */
  acknowledgedTickets: number;
  commands: number;
  answered: number;
  /** command ids that had to be sent more than once before they were answered */
  retried: number;
}

function push<T>(m: Map<string, T[]>, key: string, v: T): void {
  const list = m.get(key);
  if (list) list.push(v);
  else m.set(key, [v]);
}

const outcome = (r: ObservedResult): string => (r.ok ? `ok ${r.number ?? '-'}` : `error ${r.code ?? '?'}`);

/** `internal-error` is the one outcome the contract lets a retry change: it was not remembered. */
const settles = (r: ObservedResult): boolean => r.ok || r.code !== 'internal-error';

export function check(obs: Observations): { violations: Violation[]; stats: OracleStats } {
  const violations: Violation[] = [];
  const add = (kind: ViolationKind, detail: string): void => {
    violations.push({ kind, detail });
  };

  // 1. order: every seq once, in order, no gap; a repeat must be the same event
  const bySeq = new Map<number, ObservedEvent>();
  let last = 0;
  let repeats = 0;
  for (const e of obs.events) {
    const seen = bySeq.get(e.seq);
    if (seen) {
      repeats++;
      if (seen.id !== e.id) add('seq-conflict', `seq ${e.seq}: ${seen.type} (${seen.id}) then ${e.type} (${e.id})`);
      continue;
    }
    if (e.seq !== last + 1)
      add('seq-gap', e.seq > last + 1 ? `after seq ${last} came ${e.seq}` : `seq ${e.seq} arrived after ${last}`);
    bySeq.set(e.seq, e);
    last = Math.max(last, e.seq);
  }
  let contiguous = 0;
  while (bySeq.has(contiguous + 1)) contiguous++;
  if (obs.finalStateSeq !== null && contiguous < obs.finalStateSeq)
    add(
      'events-incomplete',
      `events reach seq ${contiguous} without a gap; the retained state is at ${obs.finalStateSeq}`,
    );

  // 2. numbers per day, in seq order; the day is the one the last day.opened named
  const ordered = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  let day: string | null = null;
  const days: string[] = [];
  const issued = new Map<string, ObservedEvent>();
  const byRef = new Map<string, ObservedEvent[]>();
  const byNumber = new Map<string, ObservedEvent[]>();
  const tickets = { online: 0, kiosk: 0 };
  for (const e of ordered) {
    if (e.type === 'day.opened' && e.day) {
      day = e.day;
      if (!days.includes(day)) days.push(day);
      continue;
    }
    if (e.type !== 'ticket.issued' || !e.ticket) continue;
    const t = e.ticket;
    if (t.channel === 'online') tickets.online++;
    else tickets.kiosk++;
    const key = `${day ?? '?'} ${t.number}`;
    const first = issued.get(key);
    if (first) add('number-reused', `${t.number} on ${day}: seq ${first.seq} and seq ${e.seq}`);
    else issued.set(key, e);
    const date = localTime(Date.parse(e.at), obs.timeZone).date;
    if (day !== null && date > day)
      add('issued-on-past-day', `${t.number} numbered on ${day} at ${e.at} (seq ${e.seq})`);
    if (t.ref !== undefined) push(byRef, t.ref, e);
    push(byNumber, t.number, e);
  }

  // 3. commands: every one answered, retries alike, one ticket per command, every ok ticket issued
  const results = new Map<string, ObservedResult[]>();
  for (const r of obs.results) if (r.id !== null) push(results, r.id, r);
  let answered = 0;
  let retried = 0;
  let acknowledged = 0;
  for (const c of obs.commands) {
    const rs = (results.get(c.id) ?? []).filter(settles);
    if (rs.length === 0) {
      add('unanswered', `${c.id} (${c.type}), sent ${c.attempts} time(s)`);
    } else {
      answered++;
      if (c.attempts > 1) retried++;
      const outcomes = [...new Set(rs.map(outcome))];
      if (outcomes.length > 1) add('retry-answered-differently', `${c.id} (${c.type}): ${outcomes.join(' / ')}`);
    }
    if (c.ref === undefined) continue;
    const evs = byRef.get(c.ref) ?? [];
    if (evs.length > 1)
      add(
        'second-ticket-for-command',
        `${c.id}: ${evs.map((e) => `${e.ticket!.number} (seq ${e.seq}, ${e.at})`).join(', ')}`,
      );
    const oks = rs.filter((r) => r.ok && r.number !== undefined);
    if (oks.length > 0) acknowledged++;
    for (const n of new Set(oks.map((r) => r.number!)))
      if (!evs.some((e) => e.ticket!.number === n))
        add(
          'acknowledged-ticket-missing',
          `${c.id}: result says ${n}, events have ${evs.map((e) => e.ticket!.number).join(', ') || 'none'}`,
        );
  }

  // 4. what the kiosk printed was issued
  for (const p of obs.printed)
    if (!(byNumber.get(p.number) ?? []).some((e) => e.ticket!.service === p.service && e.ticket!.channel === 'kiosk'))
      add('printed-ticket-missing', `${p.number} (${p.service})`);

  return {
    violations,
    stats: {
      events: bySeq.size,
      repeats,
      lastSeq: last,
      days,
      ticketsIssued: tickets,
      acknowledgedTickets: acknowledged,
      commands: obs.commands.length,
      answered,
      retried,
    },
  };
}
