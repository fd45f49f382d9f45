// The simulated central page. Central's server reads every office through the public MQTT
// contract (sim/central/reader.ts: retained or asked-for state, presence, events deduplicated by
// seq) and streams what it knows here (Server-Sent Events, /api/live); commands go back through it
// (/api/cmd), so the page works the same over central's own broker and over a real cluster.
// Like a city's homepage "민원대기현황".
import { counterName, serviceWaitText, ticketWaitText } from './words.js';

const $ = (sel) => document.querySelector(sel);
const STATUS = { idle: '대기', serving: '상담 중', paused: '자리 비움', closed: '마감' };

/** office id -> the server's card: { id, state, online, lastSeq, gaps, missing, duplicates, recent } */
const offices = new Map();
/** every event in the order it arrived, for the log and the tests: { office, seq, type } */
const received = [];
let talks = [];
const dirty = new Set();

function applyCards(cards) {
  for (const c of cards) {
    offices.set(c.id, c);
    dirty.add(c.id);
  }
  scheduleRender();
}

function officeName(id) {
  return offices.get(id)?.state?.name ?? id;
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

let renderQueued = false;
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
  });
}

function render() {
  const list = [...offices.values()]
    .filter((o) => o.state)
    .sort((a, b) => a.state.name.localeCompare(b.state.name, 'ko', { numeric: true }));
  $('#no-offices').hidden = list.length > 0;
  const host = $('#offices');
  let added = false;
  for (const o of list) {
    const old = host.querySelector(`[data-office="${o.id}"]`);
    if (old && !dirty.has(o.id)) continue;
    const card = renderOffice(o);
    if (old) old.replaceWith(card);
    else {
      host.append(card);
      added = true;
    }
  }
  dirty.clear();
  // keep the cards in name order (a fleet of hundreds: only when one was added)
  if (added) for (const o of list) host.append(host.querySelector(`[data-office="${o.id}"]`));
  const online = list.filter((o) => o.online).length;
  const waiting = list.reduce((n, o) => n + o.state.services.reduce((m, v) => m + v.waiting, 0), 0);
  $('#summary').textContent = `기관 ${list.length}곳 · 온라인 ${online}곳 · 대기 ${waiting}명`;

  for (const form of ['#issue-form', '#notice-form']) {
    const sel = $(form).elements.office;
    const chosen = sel.value;
    const ids = list.map((o) => o.id).join();
    if (sel.dataset.ids !== ids) {
      sel.replaceChildren(...list.map((o) => el('option', { value: o.id, text: o.state.name })));
      sel.dataset.ids = ids;
      if (list.some((o) => o.id === chosen)) sel.value = chosen;
    }
  }
  fillServices();

  $('#talks').replaceChildren(
    ...talks.map((t) =>
      el(
        'li',
        { 'data-kind': t.kind },
        el('strong', { text: `${officeName(t.office)} ${t.number}번` }),
        t.kind === 'called'
          ? ` 호출되었습니다 (${counterName(offices.get(t.office)?.state, t.counter)})`
          : ` 차례가 가까워졌습니다 (앞 ${t.ahead}명)`,
        el('small', { text: ` ${t.at.slice(11, 16)} · ${recipient(t)}` }),
      ),
    ),
  );
}

/** Who the note goes to: the opted-in phone (masked), central's ref of an online ticket, or nobody. */
function recipient(t) {
  if (t.to) return `알림톡 ${t.to}`;
  if (t.ref) return `수신자 ref ${t.ref}`;
  return '현장 발권 (수신자 없음)';
}

function renderOffice(o) {
  const s = o.state;
  const online = o.online;
  const badge = el(
    'span',
    { class: 'badge', 'data-online': String(online), 'data-test': 'online' },
    online === null ? '상태 모름' : online ? '온라인' : '오프라인',
  );
  const services = el(
    'table',
    { class: 'services' },
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        el('th', { text: '업무' }),
        el('th', { text: '대기 인원' }),
        el('th', { text: '예상 대기' }),
        el('th', { text: '최근 호출' }),
      ),
    ),
    el(
      'tbody',
      {},
      ...s.services.map((v) =>
        el(
          'tr',
          { 'data-service': v.id },
          el('td', { text: v.name }),
          el('td', {
            class: 'num',
            'data-test': 'waiting',
            text: v.accepting ? `${v.waiting}명` : `${v.waiting}명 (마감)`,
          }),
          el('td', { class: 'num', text: serviceWaitText(v.waiting, v.estimatedWaitMin) }),
          el('td', { class: 'num', text: v.lastCalled ? `${v.lastCalled}번` : '-' }),
        ),
      ),
    ),
  );
  const counters = el(
    'ul',
    { class: 'counters' },
    ...s.counters.map((c) =>
      el(
        'li',
        { 'data-state': c.status },
        el('span', { text: c.name }),
        el('b', { text: c.ticket ? `${c.ticket}번` : (STATUS[c.status] ?? c.status) }),
      ),
    ),
  );
  const calls = el(
    'p',
    { class: 'calls' },
    '최근 호출: ',
    s.recentCalls.length
      ? s.recentCalls
          .slice(0, 5)
          .map((c) => `${c.ticket}번→${counterName(s, c.counter)}`)
          .join(', ')
      : '없음',
  );
  const events = el(
    'details',
    { class: 'events' },
    el('summary', { text: `받은 이벤트 (마지막 seq ${o.lastSeq ?? s.seq}${o.gaps ? `, 누락 ${o.missing}건` : ''})` }),
    el('ol', {}, ...o.recent.map((e) => el('li', { text: `#${e.seq} ${e.type}${e.number ? ` ${e.number}` : ''}` }))),
  );
  return el(
    'article',
    { class: `office panel${online === false ? ' offline' : ''}`, 'data-office': o.id },
    el('header', {}, el('h2', { text: s.name }), badge),
    s.notice ? el('p', { class: 'notice', text: `공지: ${s.notice}` }) : null,
    online === false ? el('p', { class: 'stale', text: '연결이 끊겨 마지막으로 받은 현황을 보여 줍니다' }) : null,
    s.open ? null : el('p', { class: 'closed', text: '오늘 업무가 마감되었습니다' }),
    services,
    counters,
    calls,
    events,
  );
}

function fillServices() {
  const form = $('#issue-form');
  const o = offices.get(form.elements.office.value);
  const sel = form.elements.service;
  const ids = o?.state ? o.state.services.map((v) => v.id).join() : '';
  if (sel.dataset.ids === ids) return;
  const chosen = sel.value;
  sel.replaceChildren(...(o?.state?.services ?? []).map((v) => el('option', { value: v.id, text: v.name })));
  sel.dataset.ids = ids;
  if (o?.state?.services.some((v) => v.id === chosen)) sel.value = chosen;
}

let n = 0;
// A ref is one booking's (the device refuses a second ticket for it the same day): the counter
// alone would start again at web-1 when the page is reloaded. Letters only: a ref holds at most
// six digits (the contract's rule against phone numbers).
const REF_PREFIX = Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) =>
  String.fromCharCode(97 + (b % 26)),
).join('');
/** Through central's server (/api/cmd): it publishes on the office's cmd topic and answers with
 * the office's cmd/result. */
async function command(officeId, out, body, done) {
  out.dataset.ok = '';
  try {
    const r = await fetch('api/cmd', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ office: officeId, command: body }),
    });
    const msg = await r.json();
    if (!r.ok) {
      out.dataset.ok = 'false';
      out.textContent = `실패: ${msg.error.message} (${msg.error.code})`;
    } else if (!msg.ok) {
      out.dataset.ok = 'false';
      out.textContent = `실패: ${msg.error.message} (${msg.error.code})`;
    } else {
      out.dataset.ok = 'true';
      out.textContent = done(msg);
    }
  } catch {
    out.dataset.ok = 'false';
    out.textContent = '실패: 중앙 서버에 연결할 수 없습니다';
  }
}

$('#issue-form').elements.office.addEventListener('change', fillServices);
$('#issue-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const f = e.currentTarget.elements;
  if (!f.office.value || !f.service.value) return;
  $('#issue-result').textContent = '발급 요청 중…';
  const office = f.office.value;
  const body = { type: 'ticket.issue', service: f.service.value, channel: 'online', ref: `web-${REF_PREFIX}-${++n}` };
  if (f.priority.checked) body.priority = true;
  command(office, $('#issue-result'), body, (msg) => {
    const t = msg.result.ticket;
    return `${officeName(office)} ${t.number}번 발급 · 앞 ${t.ahead}명 · ${ticketWaitText(t.estimatedWaitMin)}`;
  });
});
$('#notice-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const f = e.currentTarget.elements;
  if (!f.office.value) return;
  $('#notice-result').textContent = '보내는 중…';
  const office = f.office.value;
  command(
    office,
    $('#notice-result'),
    { type: 'notice.set', text: f.text.value },
    () => `${officeName(office)} 공지를 보냈습니다`,
  );
});

function connect() {
  const conn = $('#conn');
  const live = new EventSource('api/live');
  live.addEventListener('conn', (e) => {
    const { connected } = JSON.parse(e.data);
    conn.dataset.state = connected ? 'online' : 'offline';
    conn.textContent = connected ? '중앙 브로커 연결됨' : '중앙 브로커 연결 끊김';
  });
  live.addEventListener('offices', (e) => applyCards(JSON.parse(e.data)));
  live.addEventListener('events', (e) => {
    received.push(...JSON.parse(e.data));
    // a fleet's day is long: the page keeps the newest
    if (received.length > 20000) received.splice(0, received.length - 20000);
  });
  live.addEventListener('talks', (e) => {
    talks = JSON.parse(e.data);
    scheduleRender();
  });
  live.addEventListener('error', () => {
    conn.dataset.state = 'offline';
    conn.textContent = '중앙 서버 연결 끊김';
  });
}

window.central = {
  offices,
  received,
  get talks() {
    return talks;
  },
};
connect();
