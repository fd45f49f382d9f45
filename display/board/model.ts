// What one board frame shows: the queue's snapshot plus the transient things only the board knows
// (which call is still highlighted, the link mark, a printer or dispenser message). A pure value,
// so a frame is a function of its model and the golden tests can pin it.
import type { CallSnapshot, CounterSnapshot, Snapshot } from '../../device/queue/snapshot-types.ts';
import { cachedFormatter } from '../../device/util/time.ts';
import { fixedOffsetFields, fixedOffsetMinutes } from '../../device/util/zone.ts';

export interface BoardModel {
  snapshot: Snapshot;
  /** epoch ms of the frame: drives the clock */
  now: number;
  timeZone: string;
  /** the newest call while it is highlighted, else null */
  highlight: CallSnapshot | null;
  /** link to central: true up, false down, null unknown (no MQTT configured) */
  online: boolean | null;
  /** a message for citizens that outranks the notice line (printer out of paper, refused press) */
  alert: string | null;
  /** counter id -> a short line at the foot of that counter's display (a satellite's key result,
   * its lost link to the main unit); absent: none */
  counterNotes?: Readonly<Record<string, string>>;
  /** counter id -> that counter's own call while it is highlighted. `highlight` is only the
   * newest call of all: a call at another counter a second later would put out this counter's
   * display, the one its citizen looks for. Absent: `highlight` alone. */
  counterCalls?: Readonly<Record<string, CallSnapshot>>;
}

/** The call a counter's display highlights, if any. */
export function counterCall(m: BoardModel, counterId: string): CallSnapshot | null {
  return m.counterCalls?.[counterId] ?? (m.highlight?.counter === counterId ? m.highlight : null);
}

function clockFormat(timeZone: string): Intl.DateTimeFormat {
  return cachedFormatter('ko-KR', {
    timeZone,
    month: 'numeric',
    day: 'numeric',
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
}

/** Korean weekday names, Sunday first, as ko-KR's short weekday gives them. */
const WEEKDAYS_KO = ['일', '월', '화', '수', '목', '금', '토'];

/** The local clock texts of a frame, in the office's zone. */
export function clockTexts(now: number, timeZone: string): { date: string; time: string; minuteKey: string } {
  const fixed = fixedOffsetMinutes(timeZone);
  if (fixed === null) return clockTextsByIntl(now, timeZone);
  // without ICU (device/util/zone.ts): the same texts as clockTextsByIntl's
  const f = fixedOffsetFields(now, fixed);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return clockParts({
    month: String(f.month),
    day: String(f.day),
    weekday: WEEKDAYS_KO[f.weekday]!,
    hour: pad(f.hour),
    minute: pad(f.minute),
  });
}

/** clockTexts through Intl, for any zone (tests/zone.test.ts holds the fixed-offset path to it). */
export function clockTextsByIntl(now: number, timeZone: string): { date: string; time: string; minuteKey: string } {
  const parts: Record<string, string> = {};
  for (const p of clockFormat(timeZone).formatToParts(new Date(now))) parts[p.type] = p.value;
  return clockParts(parts);
}

function clockParts(parts: Record<string, string>): { date: string; time: string; minuteKey: string } {
  const date = `${parts.month}월 ${parts.day}일 (${parts.weekday})`;
  const time = `${parts.hour}:${parts.minute}`;
  return { date, time, minuteKey: `${date} ${time}` };
}

export function counterName(snapshot: Pick<Snapshot, 'counters'>, id: string): string {
  return snapshot.counters.find((c) => c.id === id)?.name ?? `${id}번 창구`;
}

export function serviceName(snapshot: Snapshot, id: string): string {
  return snapshot.services.find((s) => s.id === id)?.name ?? id;
}

/** The Korean status line of a counter, for citizens. */
export function counterStatusText(c: CounterSnapshot): string {
  switch (c.status) {
    case 'serving':
      return '업무 중';
    case 'idle':
      return '대기 중';
    case 'paused':
      return '잠시 자리 비움';
    case 'closed':
      return '업무 종료';
  }
}

/** Why a service takes no tickets, in Korean; null when it does. */
export function closedReasonText(reason: string | undefined): string {
  switch (reason) {
    case 'cutoff':
    case 'day-closed':
      return '발권 마감';
    case 'cap':
    case 'exhausted':
      return '오늘 번호표 소진';
    default:
      return '발권 중지';
  }
}

/** A stable key of everything a landscape/portrait frame draws, except the clock: equal keys mean
 * an equal frame, so the board can skip the render. */
export function boardKey(m: BoardModel): string {
  const s = m.snapshot;
  return JSON.stringify([
    s.name,
    s.open,
    s.notice,
    s.services,
    s.counters,
    s.recentCalls,
    m.highlight?.ticket ?? null,
    m.highlight?.at ?? null,
    m.online,
    m.alert,
    clockTexts(m.now, m.timeZone).minuteKey,
  ]);
}

/** The key of one counter display's frame. */
export function counterKey(m: BoardModel, counterId: string): string {
  const c = m.snapshot.counters.find((x) => x.id === counterId) ?? null;
  const lit = counterCall(m, counterId)?.at ?? null;
  return JSON.stringify([c, lit, m.snapshot.open, m.counterNotes?.[counterId] ?? null]);
}
