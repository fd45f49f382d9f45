// The simulator page: draws the office from the supervisor's state (Server-Sent Events on
// /api/live) and sends the page's controls as small JSON POSTs. No build step, no framework.
import { COUNTER_STATUS, counterLabel, serviceLine, voiceText } from './words.js';

const $ = (sel) => document.querySelector(sel);

const KEYS = [
  ['next', '다음'],
  ['recall', '재호출'],
  ['skip', '부재'],
];

let state = null;
let builtFor = null; // the layout the controls were built for
let soundOn = false;
let lastAudio; // undefined until the first state: files already there are not played
const audioQueue = [];
const played = []; // what the page played, for tests
let playing = false;

async function post(path, body = {}) {
  const res = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) {
    const err = await res.json().catch(() => ({}));
    toast(err.error?.message ?? `요청 실패 (${res.status})`);
  }
  return res.ok;
}

let toastTimer = null;
function toast(text) {
  const t = $('#toast');
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (t.hidden = true), 3500);
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c) e.append(c);
  return e;
}

// --- building the controls (once per layout) ------------------------------------------------
function build(layout) {
  $('#office-name').textContent = layout.name;
  document.title = `${layout.name} · 시뮬레이터`;
  const buttons = $('#buttons');
  buttons.replaceChildren(
    ...layout.buttons.map((b) =>
      el(
        'button',
        {
          class: `dispense${b.priority ? ' priority' : ''}`,
          type: 'button',
          'data-button': b.id,
          onclick: () => post('/api/press', { button: b.id }),
        },
        el('span', { class: 'label', text: b.label }),
        el('span', { class: 'waiting', 'data-waiting': b.service, text: '' }),
      ),
    ),
  );

  const counters = $('#counters');
  counters.replaceChildren(
    ...layout.counters.map((c) => {
      const key = (action, extra = {}) => post('/api/key', { counter: c.id, action, ...extra });
      const number = el('input', {
        type: 'text',
        inputmode: 'numeric',
        placeholder: '번호',
        'aria-label': `${c.name} 호출할 번호`,
        maxlength: '12',
      });
      const target = el(
        'select',
        { 'aria-label': `${c.name} 이관 대상` },
        ...layout.services.map((s) => el('option', { value: `service:${s.id}`, text: `업무: ${s.name}` })),
        ...layout.counters
          .filter((o) => o.id !== c.id)
          .map((o) => el('option', { value: `counter:${o.id}`, text: `창구: ${o.name}` })),
      );
      const plug = el('input', { type: 'checkbox', checked: '', 'data-plug': c.id });
      plug.addEventListener('change', () => post('/api/keypad', { counter: c.id, plugged: plug.checked }));
      return el(
        'article',
        { class: 'counter', 'data-counter': c.id },
        el(
          'header',
          {},
          el('h3', { text: c.name }),
          el('span', { class: 'status', 'data-status': '', text: '' }),
          el('span', { class: 'current', 'data-current': '', text: '' }),
          el('img', { class: 'counter-display', 'data-display': c.id, alt: `${c.name} 표시기`, hidden: '' }),
        ),
        el(
          'div',
          { class: 'keys' },
          ...KEYS.map(([action, label]) =>
            el(
              'button',
              { type: 'button', class: `key ${action}`, 'data-key': action, onclick: () => key(action) },
              label,
            ),
          ),
          el(
            'button',
            {
              type: 'button',
              class: 'key pause',
              'data-key': 'pause',
              onclick: (e) => key(e.currentTarget.dataset.next ?? 'pause'),
            },
            '자리 비움',
          ),
        ),
        el(
          'div',
          { class: 'row' },
          number,
          el(
            'button',
            {
              type: 'button',
              class: 'key small',
              'data-key': 'call',
              onclick: () => {
                const n = number.value.trim();
                if (!n) return toast('호출할 번호를 입력하세요');
                key('call', { number: n }).then((ok) => {
                  if (ok) number.value = '';
                });
              },
            },
            '번호 호출',
          ),
        ),
        el(
          'div',
          { class: 'row' },
          target,
          el(
            'button',
            {
              type: 'button',
              class: 'key small',
              'data-key': 'transfer',
              onclick: () => {
                const [kind, id] = target.value.split(':');
                key('transfer', kind === 'service' ? { toService: id } : { toCounter: id });
              },
            },
            '이관',
          ),
        ),
        el('label', { class: 'plug' }, plug, el('span', { text: '키패드 연결됨' })),
      );
    }),
  );
  builtFor = JSON.stringify(layout);
}

// --- drawing the state ----------------------------------------------------------------------
function render(s) {
  state = s;
  if (s.layout && JSON.stringify(s.layout) !== builtFor) build(s.layout);
  const up = s.core === 'up';

  const core = $('#core-state');
  core.dataset.state = s.core;
  core.textContent = { up: '코어 켜짐', starting: '코어 켜는 중', down: '전원 꺼짐' }[s.core];
  $('#power-overlay').hidden = up || s.layout === null;
  $('#power-text').textContent = s.core === 'down' ? '전원이 꺼졌습니다. 다시 켜는 중…' : '코어를 켜는 중…';
  document.body.classList.toggle('powered-off', !up);

  const link = $('#link-state');
  const cable = s.link.cable;
  let linkState = 'unknown';
  // null: not connected yet (central may not be running; the uplink keeps trying)
  let linkText = up ? '중앙 연결 대기 중' : '중앙 연결 확인 중';
  if (cable === false) [linkState, linkText] = ['cut', '중앙 회선 끊김'];
  else if (s.link.online === true) [linkState, linkText] = ['online', '중앙 연결됨'];
  else if (s.link.online === false) [linkState, linkText] = ['offline', '중앙 연결 안 됨 (재시도 중)'];
  link.dataset.state = linkState;
  link.textContent = linkText;

  const linkBtn = $('#fault-link');
  linkBtn.disabled = cable === null;
  linkBtn.dataset.on = String(cable === false);
  linkBtn.textContent = cable === false ? '중앙 회선 다시 연결' : '중앙 회선 끊기';
  const paper = $('#fault-paper');
  paper.disabled = !up || !s.layout?.canPaperOut;
  paper.dataset.on = String(s.faults.paperOut);
  paper.textContent = s.faults.paperOut ? '용지 채우기' : '용지 없음';
  $('#fault-power').disabled = !up;

  const snap = s.snapshot;
  if (snap) {
    for (const w of document.querySelectorAll('[data-waiting]')) {
      const svc = snap.services.find((x) => x.id === w.dataset.waiting);
      w.textContent = svc ? serviceLine(svc) : '';
    }
    for (const card of document.querySelectorAll('[data-counter]')) {
      const c = snap.counters.find((x) => x.id === card.dataset.counter);
      if (!c) continue;
      card.dataset.state = c.status;
      card.querySelector('[data-status]').textContent = COUNTER_STATUS[c.status] ?? c.status;
      card.querySelector('[data-current]').textContent = c.ticket ? `${c.ticket}번` : '';
      const pause = card.querySelector('[data-key="pause"]');
      pause.dataset.next = c.status === 'paused' || c.status === 'closed' ? 'resume' : 'pause';
      pause.textContent = pause.dataset.next === 'resume' ? '업무 재개' : '자리 비움';
      const display = card.querySelector('[data-display]');
      const v = s.files.counters?.[c.id];
      if (v && display.dataset.v !== String(v)) {
        display.src = `/files/counter-${encodeURIComponent(c.id)}.png?v=${v}`;
        display.dataset.v = String(v);
        display.hidden = false;
      }
      const unplugged = s.faults.unplugged.includes(c.id);
      card.classList.toggle('unplugged', unplugged);
      const plug = card.querySelector('[data-plug]');
      plug.checked = !unplugged;
      plug.disabled = !up;
      // Only when the core was handed the simulated keypads (not with real ones attached).
      plug.parentElement.hidden = !s.layout?.canUnplug;
      plug.nextElementSibling.textContent = unplugged ? '키패드 뽑힘 (누르면 다시 꽂음)' : '키패드 연결됨';
    }
    const note = $('#dispenser-note');
    note.hidden = snap.open;
    note.textContent = snap.open ? '' : '오늘 업무가 마감되었습니다';
  }
  const pressable = up && s.layout?.simInputs;
  for (const b of document.querySelectorAll('button.dispense, button.key')) b.disabled = !pressable;
  $('#hardware-note').hidden = !s.layout || s.layout.simInputs;

  if (s.files.board) {
    const img = $('#board-img');
    const src = `/files/board.png?v=${s.files.board}`;
    if (img.dataset.v !== String(s.files.board)) {
      // Swap only once the new frame has loaded: no flash of an empty box.
      const next = new Image();
      next.onload = () => {
        img.src = src;
        img.dataset.v = String(s.files.board);
      };
      next.src = src;
    }
  }

  const strip = $('#tickets');
  const have = [...strip.querySelectorAll('img')].map((i) => i.dataset.name).join();
  if (s.files.tickets.length && have !== s.files.tickets.slice(0, 8).join()) {
    strip.replaceChildren(
      ...s.files.tickets
        .slice(0, 8)
        .map((name, i) =>
          el(
            'figure',
            { class: i === 0 ? 'ticket newest' : 'ticket' },
            el('img', { src: `/files/tickets/${name}`, alt: `번호표 ${name}`, 'data-name': name, loading: 'lazy' }),
            el('figcaption', { text: ticketCaption(name) }),
          ),
        ),
    );
  }

  const log = $('#log');
  log.replaceChildren(
    ...s.log
      .slice(0, 80)
      .map((e) =>
        el('li', { class: `log-${e.kind}` }, el('time', { text: e.at.slice(11, 19) }), el('span', { text: e.text })),
      ),
  );

  renderSatellites(s.satellites ?? []);

  if (lastAudio === undefined) lastAudio = s.files.audio;
  else if (s.files.audio && s.files.audio !== lastAudio) {
    lastAudio = s.files.audio;
    if (soundOn) {
      audioQueue.push(`/files/audio/${s.files.audio}`);
      playNext();
    }
  }
}

// --- the satellites (npm start -- --satellite <config>) ---------------------------------------
const SAT_KEYS = [
  ['next', '다음'],
  ['recall', '재호출'],
  ['skip', '부재'],
];
let satBuiltFor = null;

function buildSatellites(list) {
  $('#satellites').replaceChildren(
    ...list.map((v) => {
      const L = v.layout;
      const send = (path, body) => post(path, { satellite: v.device, ...body });
      return el(
        'article',
        { class: 'satellite', 'data-satellite': v.device },
        el(
          'header',
          {},
          el('h3', { text: v.device }),
          el('span', { class: 'pill', 'data-sat-link': '', text: '' }),
          el('span', { class: 'sat-voice', text: voiceText(L?.voice, state?.layout) }),
        ),
        L?.board
          ? el(
              'div',
              { class: `board-frame sat-board ${L.board}` },
              el('img', { 'data-sat-board': '', alt: `${v.device} 현황판` }),
            )
          : null,
        el(
          'div',
          { class: 'sat-counters' },
          ...(L ? [...new Set([...L.displays, ...L.keys])] : []).map((c) =>
            el(
              'div',
              { class: 'sat-counter', 'data-sat-counter': c },
              L.displays.includes(c)
                ? el('img', {
                    class: 'counter-display',
                    'data-sat-display': c,
                    alt: `${counterLabel(state?.layout, c)} 표시기`,
                    hidden: '',
                  })
                : el('span', { class: 'sat-name', text: counterLabel(state?.layout, c) }),
              L.keys.includes(c)
                ? el(
                    'div',
                    { class: 'keys' },
                    ...SAT_KEYS.map(([action, label]) =>
                      el(
                        'button',
                        {
                          type: 'button',
                          class: `key sat-key ${action}`,
                          'data-sat-key': action,
                          onclick: () => send('/api/satellite/key', { counter: c, action }),
                        },
                        label,
                      ),
                    ),
                  )
                : null,
              el('p', { class: 'sat-result', 'data-sat-result': c, text: '' }),
            ),
          ),
        ),
        el(
          'div',
          { class: 'fault-row' },
          // its click handler is set by renderSatellites, with the current state
          el('button', { type: 'button', class: 'fault', 'data-sat-cable': '' }),
          el(
            'button',
            {
              type: 'button',
              class: 'fault danger',
              'data-sat-power': '',
              onclick: () => {
                if (confirm(`${v.device}의 전원을 차단할까요?`)) send('/api/satellite/power-cut', {});
              },
            },
            '전원 차단',
          ),
        ),
      );
    }),
  );
}

function renderSatellites(list) {
  $('#satellites-panel').hidden = list.length === 0;
  const shape = JSON.stringify(list.map((v) => [v.device, v.layout]));
  if (shape !== satBuiltFor) {
    buildSatellites(list);
    satBuiltFor = shape;
  }
  for (const v of list) {
    const card = document.querySelector(`[data-satellite="${CSS.escape(v.device)}"]`);
    if (!card) continue;
    // render() runs again for every state: refer to the current one in the handlers
    card.querySelector('[data-sat-cable]').onclick = () =>
      post('/api/satellite/link', { satellite: v.device, connected: v.link.cable === false });
    const up = v.core === 'up';
    const pill = card.querySelector('[data-sat-link]');
    const [linkState, linkText] = !up
      ? ['cut', v.core === 'down' ? '전원 꺼짐' : '켜는 중']
      : v.link.cable === false
        ? ['cut', 'LAN 끊김']
        : v.link.online
          ? ['online', '본체 연결됨']
          : ['offline', '본체 연결 끊김'];
    pill.dataset.state = linkState;
    pill.textContent = linkText;
    card.classList.toggle('offline', linkState !== 'online');
    const cable = card.querySelector('[data-sat-cable]');
    cable.disabled = v.link.cable === null;
    cable.textContent = v.link.cable === false ? 'LAN 다시 연결' : 'LAN 케이블 뽑기';
    cable.dataset.on = String(v.link.cable === false);
    card.querySelector('[data-sat-power]').disabled = !up;
    for (const b of card.querySelectorAll('[data-sat-key]')) b.disabled = !up || !v.layout?.simKeys;
    const board = card.querySelector('[data-sat-board]');
    if (board && v.files.board && board.dataset.v !== String(v.files.board)) {
      board.src = `/files/satellites/${encodeURIComponent(v.device)}/board.png?v=${v.files.board}`;
      board.dataset.v = String(v.files.board);
    }
    for (const img of card.querySelectorAll('[data-sat-display]')) {
      const c = img.dataset.satDisplay;
      const ver = v.files.counters?.[c];
      if (ver && img.dataset.v !== String(ver)) {
        img.src = `/files/satellites/${encodeURIComponent(v.device)}/counter-${encodeURIComponent(c)}.png?v=${ver}`;
        img.dataset.v = String(ver);
        img.hidden = false;
      }
    }
    for (const p of card.querySelectorAll('[data-sat-result]')) {
      const k = v.keys[p.dataset.satResult];
      p.textContent = k ? k.text : '';
      p.classList.toggle('refused', k ? !k.ok : false);
    }
    const lastAudio = satAudio.get(v.device);
    if (lastAudio === undefined) satAudio.set(v.device, v.files.audio);
    else if (v.files.audio && v.files.audio !== lastAudio) {
      satAudio.set(v.device, v.files.audio);
      if (soundOn) {
        audioQueue.push(`/files/satellites/${encodeURIComponent(v.device)}/audio/${v.files.audio}`);
        playNext();
      }
    }
  }
}
const satAudio = new Map();

function ticketCaption(name) {
  const m = /^(\d{4}-\d{2}-\d{2})-(.+)\.png$/.exec(name);
  return m ? `${m[2]}번` : name;
}

// Announcements play one after another, like the office's loudspeaker (never cut off).
function playNext() {
  if (playing || audioQueue.length === 0) return;
  playing = true;
  const src = audioQueue.shift();
  played.push(src);
  const a = new Audio(src);
  const done = () => {
    playing = false;
    playNext();
  };
  a.onended = done;
  a.onerror = done;
  a.play().catch(done);
}

// --- wiring ---------------------------------------------------------------------------------
$('#sound').addEventListener('click', (e) => {
  soundOn = !soundOn;
  e.currentTarget.setAttribute('aria-pressed', String(soundOn));
  e.currentTarget.textContent = soundOn ? '소리 켜짐 ✓' : '소리 켜기';
  if (soundOn && state?.files.audio) {
    audioQueue.push(`/files/audio/${state.files.audio}`);
    playNext();
  }
});
$('#fault-link').addEventListener('click', () => post('/api/link', { connected: state?.link.cable === false }));
$('#fault-paper').addEventListener('click', () => post('/api/paper', { out: !state?.faults.paperOut }));
$('#fault-power').addEventListener('click', () => {
  if (confirm('전원을 차단할까요? 코어가 강제로 꺼졌다가 다시 켜집니다.')) post('/api/power-cut');
});

const live = new EventSource('/api/live');
live.addEventListener('state', (e) => render(JSON.parse(e.data)));
live.onerror = () => {
  $('#core-state').dataset.state = 'down';
  $('#core-state').textContent = '시뮬레이터 연결 끊김';
};
window.sim = { state: () => state, played };
