// The simulated central page: a browser MQTT client (mqtt.js over WebSocket) that knows the offices
// only through the public contract: retained state and status, ordered events (deduplicated by
// seq), commands with their results. Like a city's homepage "민원대기현황".
/* global mqtt */
const $ = (sel) => document.querySelector(sel);
const ROOT = 'beonho/v1';
const STATUS = { idle: '대기', serving: '상담 중', paused: '자리 비움', closed: '마감' };

/** office id -> { state, devices: Map(device -> status), lastSeq, events: [], gaps } */
const offices = new Map();
/** every event in the order it arrived, for the log and the tests: { office, seq, type } */
const received = [];
const talks = [];
const pending = new Map(); // command id -> { kind, office }
let client = null;

function office(id) {
  let o = offices.get(id);
  if (!o) {
    o = { id, state: null, devices: new Map(), lastSeq: null, events: [], gaps: 0 };
    offices.set(id, o);
  }
  return o;
}

/** An office is online when one of its devices says so (newest session wins over a late will). */
function isOnline(o) {
  if (o.devices.size === 0) return null;
  return [...o.devices.values()].some((s) => s.online);
}

function onMessage(topic, payload) {
  const parts = topic.split('/');
  if (parts[0] !== 'beonho' || parts[1] !== 'v1') return;
  const id = parts[2];
  const rest = parts.slice(3).join('/');
  let msg;
  try {
    msg = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    return;
  }
  const o = office(id);
  if (rest === 'state') {
    if (!o.state || msg.seq >= o.state.seq) o.state = msg;
  } else if (parts[3] === 'devices' && parts[5] === 'status') {
    const prev = o.devices.get(parts[4]);
    // The will of an older session must not mark a newer, live session offline.
    if (!prev || msg.session >= prev.session) o.devices.set(parts[4], msg);
  } else if (rest === 'events') {
    if (o.lastSeq !== null && msg.seq <= o.lastSeq) return; // at-least-once: a duplicate
    if (o.lastSeq !== null && msg.seq !== o.lastSeq + 1) o.gaps++;
    o.lastSeq = msg.seq;
    received.push({ office: id, seq: msg.seq, type: msg.type });
    o.events.unshift(msg);
    o.events.length = Math.min(o.events.length, 12);
    if (msg.type === 'ticket.near') {
      talks.unshift({
        office: id,
        at: msg.at,
        number: msg.ticket.number,
        ahead: msg.ahead,
        ref: msg.ticket.ref ?? null,
        channel: msg.ticket.channel,
      });
      talks.length = Math.min(talks.length, 50);
    }
  } else if (rest === 'cmd/result') {
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    const out = p.kind === 'issue' ? $('#issue-result') : $('#notice-result');
    if (!msg.ok) {
      out.dataset.ok = 'false';
      out.textContent = `실패: ${msg.error.message} (${msg.error.code})`;
    } else if (p.kind === 'issue') {
      const t = msg.result.ticket;
      out.dataset.ok = 'true';
      out.textContent = `${officeName(id)} ${t.number}번 발급 · 앞 ${t.ahead}명 · 약 ${t.estimatedWaitMin}분`;
    } else {
      out.dataset.ok = 'true';
      out.textContent = `${officeName(id)} 공지를 보냈습니다`;
    }
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
    .sort((a, b) => a.state.name.localeCompare(b.state.name, 'ko'));
  $('#no-offices').hidden = list.length > 0;
  const host = $('#offices');
  for (const card of host.querySelectorAll('[data-office]'))
    if (!offices.get(card.dataset.office)?.state) card.remove();
  for (const o of list) {
    const card = renderOffice(o);
    const old = host.querySelector(`[data-office="${o.id}"]`);
    if (old) old.replaceWith(card);
    else host.append(card);
  }
  // keep the cards in name order
  for (const o of list) host.append(host.querySelector(`[data-office="${o.id}"]`));

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
        {},
        el('strong', { text: `${officeName(t.office)} ${t.number}번` }),
        ` 차례가 가까워졌습니다 (앞 ${t.ahead}명)`,
        el('small', { text: ` ${t.at.slice(11, 16)} · ${t.ref ? `수신자 ref ${t.ref}` : '현장 발권 (수신자 없음)'}` }),
      ),
    ),
  );
}

function renderOffice(o) {
  const s = o.state;
  const online = isOnline(o);
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
          el('td', { class: 'num', text: `약 ${v.estimatedWaitMin}분` }),
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
          .map((c) => `${c.ticket}번→${c.counter}번 창구`)
          .join(', ')
      : '없음',
  );
  const events = el(
    'details',
    { class: 'events' },
    el('summary', { text: `받은 이벤트 (마지막 seq ${o.lastSeq ?? s.seq}${o.gaps ? `, 누락 ${o.gaps}건` : ''})` }),
    el(
      'ol',
      {},
      ...o.events.map((e) => el('li', { text: `#${e.seq} ${e.type}${e.ticket ? ` ${e.ticket.number}` : ''}` })),
    ),
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
function command(officeId, kind, body) {
  const id = `web-${Date.now().toString(36)}-${++n}`;
  pending.set(id, { kind, office: officeId });
  client.publish(`${ROOT}/${officeId}/cmd`, JSON.stringify({ id, ...body }), { qos: 1 });
  return id;
}

$('#issue-form').elements.office.addEventListener('change', fillServices);
$('#issue-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const f = e.currentTarget.elements;
  if (!f.office.value || !f.service.value) return;
  $('#issue-result').textContent = '발급 요청 중…';
  const body = { type: 'ticket.issue', service: f.service.value, channel: 'online', ref: `web-${++n}` };
  if (f.priority.checked) body.priority = true;
  command(f.office.value, 'issue', body);
});
$('#notice-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const f = e.currentTarget.elements;
  if (!f.office.value) return;
  $('#notice-result').textContent = '보내는 중…';
  command(f.office.value, 'notice', { type: 'notice.set', text: f.text.value });
});

async function connect() {
  const cfg = await (await fetch('config.json')).json();
  client = mqtt.connect(`ws://${location.hostname}:${cfg.wsPort}`, {
    username: cfg.username,
    password: cfg.password,
    protocolVersion: 4,
    reconnectPeriod: 1000,
    clientId: `central-page-${Math.random().toString(16).slice(2, 10)}`,
  });
  const conn = $('#conn');
  client.on('connect', () => {
    conn.dataset.state = 'online';
    conn.textContent = '중앙 브로커 연결됨';
    client.subscribe([`${ROOT}/+/state`, `${ROOT}/+/events`, `${ROOT}/+/devices/+/status`, `${ROOT}/+/cmd/result`], {
      qos: 1,
    });
  });
  client.on('close', () => {
    conn.dataset.state = 'offline';
    conn.textContent = '중앙 브로커 연결 끊김';
  });
  client.on('message', onMessage);
}

window.central = { offices, received, talks };
connect();
