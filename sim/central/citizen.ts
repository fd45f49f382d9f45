// The citizen's side of the printed ticket's QR code: /q/{office}/{day}/{number}?t={token} opens a
// phone-sized page with the ticket's live place and estimated wait, and the 알림톡 opt-in.
// The link is checked first: the token is the HMAC the office signed the ticket with
// (display/ticket/ticket-url.ts), verified with the office's secret (./keys.ts), so nobody can
// walk other people's tickets; a ticket of a day that is over is refused. The phone number of an
// opt-in stays in central (./alerts.ts): it is never sent to the device, into a topic or a log.
//
//   GET    /q/{office}/{day}/{number}?t=…          the page (or a Korean refusal page)
//   GET    /q/{office}/{day}/{number}/live?t=…     Server-Sent Events: the ticket's view
//   POST   /q/{office}/{day}/{number}/alert?t=…    {"phone": "010-1234-5678"} → {"to": "010-****-5678"}
//   DELETE /q/{office}/{day}/{number}/alert?t=…    no more notes
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Snapshot } from '../../device/queue/snapshot-types.ts';
import { counterName } from '../../display/board/model.ts';
import { particleRoAfterName } from '../../display/korean-particle.ts';
import { verifyTicketToken } from '../../display/ticket/ticket-url.ts';
import { openSse, readJson, sendFile, sendJson } from '../http-util.ts';
import { AlertError, type AlertBook } from './alerts.ts';
import type { TicketKeys } from './keys.ts';
import { type CentralReader, isOnline, type OfficeView } from './reader.ts';
import { estimateFor } from './tickets.ts';

const PATH = /^\/q\/([a-z0-9-]{1,40})\/(\d{4}-\d{2}-\d{2})\/([A-Za-z0-9-]{1,16})(\/live|\/alert)?$/;

/** What the phone page shows. */
export interface TicketView {
  office: { id: string; name: string };
  day: string;
  number: string;
  /** the office's device is connected to central (the figures are live) */
  online: boolean | null;
  status: 'waiting' | 'called' | 'skipped' | 'done' | 'cancelled' | 'unknown' | 'day-over';
  service: { id: string; name: string } | null;
  ahead: number | null;
  estimatedWaitMin: number | null;
  counter: CounterView | null;
  /** the masked phone its 알림톡 go to */
  alert: string | null;
}

/** A counter as the page names it: its configured name and the particle (으)로 after it, which the
 * page cannot work out itself ("민원 3으로 오세요"; it wrote 로 after every name: 민원 3로, 상담석로). */
export interface CounterView {
  id: string;
  name: string;
  ro: '로' | '으로';
}

export function counterView(state: Pick<Snapshot, 'counters'> | null, id: string): CounterView {
  const name = state ? counterName(state, id) : `${id}번 창구`;
  return { id, name, ro: particleRoAfterName(name) };
}

type Refusal = { status: number; code: string; title: string; text: string };

const REFUSALS = {
  invalid: {
    status: 403,
    code: 'ticket-link-invalid',
    title: '확인할 수 없는 번호표',
    text: '이 링크는 번호표에 인쇄된 링크와 다릅니다. 번호표의 QR 코드를 다시 찍어 주세요.',
  },
  dayOver: {
    status: 410,
    code: 'ticket-day-over',
    title: '지난 번호표',
    text: '이 번호표의 업무일이 끝났습니다. 오늘 방문하셨다면 새 번호표를 받아 주세요.',
  },
  unknownOffice: {
    status: 503,
    code: 'ticket-office-unknown',
    title: '잠시 후 다시 열어 주세요',
    text: '중앙 시스템이 아직 이 기관의 현황을 받지 못했습니다.',
  },
} satisfies Record<string, Refusal>;

export interface CitizenPagesOptions {
  reader: CentralReader;
  alerts: AlertBook;
  keys: TicketKeys;
  pageDir: string;
  logger: Logger;
}

interface Watch {
  office: string;
  day: string;
  number: string;
  last: string;
  send: (event: string, data: unknown) => void;
}

export class CitizenPages {
  private readonly watches = new Set<Watch>();
  private readonly changed = new Set<string>();

  constructor(private readonly o: CitizenPagesOptions) {
    o.reader.onOffice((v) => {
      if (this.watches.size > 0) this.changed.add(v.id);
    });
  }

  /** Called a few times a second: every open page of an office that changed gets its new view. */
  flush(): void {
    if (this.changed.size === 0) return;
    const offices = new Set(this.changed);
    this.changed.clear();
    for (const w of this.watches) if (offices.has(w.office)) this.push(w);
  }

  close(): void {
    this.watches.clear();
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const m = PATH.exec(url.pathname);
    if (!m) return this.refuse(res, REFUSALS.invalid, false);
    const [, office, day, number, tail] = m as unknown as [string, string, string, string, string | undefined];
    const json = tail !== undefined;
    const key = this.o.keys(office);
    const token = url.searchParams.get('t') ?? '';
    if (!key || !verifyTicketToken(key, office, day, number, token)) {
      // No token, office or number in the log: a link is as good as a key to the ticket's page.
      this.o.logger.info({ code: 'ticket-link-invalid' }, 'ticket link refused');
      return this.refuse(res, REFUSALS.invalid, json);
    }
    const view = this.view(office, day, number);
    if (view === null) return this.refuse(res, REFUSALS.unknownOffice, json);
    if (view.status === 'day-over') return this.refuse(res, REFUSALS.dayOver, json);
    if (!tail) return void (await sendFile(res, this.o.pageDir, 'ticket.html'));
    if (tail === '/live' && req.method === 'GET') {
      const watch: Watch = { office, day, number, last: '', send: () => {} };
      watch.send = openSse(req, res, () => this.watches.delete(watch));
      this.watches.add(watch);
      this.push(watch);
      return;
    }
    if (tail === '/alert' && (req.method === 'POST' || req.method === 'DELETE')) {
      if (req.method === 'DELETE') {
        this.o.alerts.cancel(office, day, number);
        this.refresh(office);
        return sendJson(res, 200, { to: null });
      }
      if (!(req.headers['content-type'] ?? '').startsWith('application/json'))
        return sendJson(res, 415, { error: { code: 'sim-json-only', message: 'send {"phone": …} as JSON' } });
      try {
        const body = await readJson(req, 1024);
        const to = this.o.alerts.subscribe(office, day, number, body.phone);
        this.refresh(office);
        return sendJson(res, 200, { to });
      } catch (err) {
        // The number itself is never logged, only that one was refused.
        const code = err instanceof AlertError ? err.code : 'bad-json';
        this.o.logger.info({ code }, 'alert opt-in refused');
        return sendJson(res, 400, {
          error: { code, message: err instanceof AlertError ? err.message : 'expected {"phone": "010-…"}' },
        });
      }
    }
    sendJson(res, 405, { error: { code: 'method-not-allowed', message: `${req.method} ${tail}` } });
  }

  /** The ticket's view, or null when central knows nothing of the office yet. */
  view(office: string, day: string, number: string): TicketView | null {
    const v: OfficeView | undefined = this.o.reader.offices.get(office);
    const s = v?.state;
    if (!v || !s?.day) return null;
    const base = {
      office: { id: office, name: s.name },
      day,
      number,
      online: isOnline(v),
      service: null,
      ahead: null,
      estimatedWaitMin: null,
      counter: null,
      alert: this.o.alerts.subscribed(office, day, number),
    };
    // A ticket is good for its day only: refused once the office closed that day or moved on.
    const over = day < s.day || (day === s.day && !s.open) || (v.book.day === day && !v.book.open);
    if (over) return { ...base, status: 'day-over' };
    if (day > s.day || v.book.day !== day) return { ...base, status: 'unknown' };
    const place = v.book.place(number);
    if (place.status === 'unknown') return { ...base, status: 'unknown' };
    const svc = s.services.find((x) => x.id === place.service);
    const service = { id: place.service, name: svc?.name ?? place.service };
    if (place.status === 'waiting') {
      return {
        ...base,
        status: 'waiting',
        service,
        ahead: place.ahead,
        estimatedWaitMin: svc ? estimateFor(place.ahead, svc) : null,
        counter: place.counter ? this.counter(v, place.counter) : null,
      };
    }
    if (place.status === 'called' || place.status === 'skipped')
      return { ...base, status: place.status, service, counter: this.counter(v, place.counter) };
    return { ...base, status: place.status, service };
  }

  private counter(v: OfficeView, id: string): CounterView {
    return counterView(v.state, id);
  }

  private refresh(office: string): void {
    for (const w of this.watches) if (w.office === office) this.push(w);
  }

  private push(w: Watch): void {
    const view = this.view(w.office, w.day, w.number);
    const text = JSON.stringify(view);
    if (text === w.last) return;
    w.last = text;
    w.send('ticket', view);
  }

  private refuse(res: ServerResponse, r: Refusal, json: boolean): void {
    if (json) {
      sendJson(res, r.status, { error: { code: r.code, message: r.text } });
      return;
    }
    res.writeHead(r.status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(`<!doctype html>
<html lang="ko"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${r.title}</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/ticket.css"></head>
<body><main class="ticket refused" data-code="${r.code}"><h1>${r.title}</h1><p>${r.text}</p></main></body></html>
`);
  }
}
