// The citizen's ticket page (opened from the printed ticket's QR code): the ticket's live place and
// estimated wait from central (Server-Sent Events), and the 알림톡 opt-in. The link's own path and
// token are the address of everything it asks for.
import { waitText } from './words.js';

const $ = (id) => document.getElementById(id);
const base = location.pathname.replace(/\/$/, '');
const query = location.search;
let view = null;

function render(v) {
  view = v;
  const main = $('ticket');
  main.dataset.status = v.status;
  $('office').textContent = v.office.name;
  $('number').textContent = v.number;
  $('service').textContent = v.service ? v.service.name : '';
  $('stale').hidden = v.online !== false;
  const head = $('headline');
  const detail = $('detail');
  switch (v.status) {
    case 'waiting':
      if (v.ahead === 0) {
        head.textContent = '곧 호출됩니다';
        detail.textContent = v.counter ? `${v.counter.name} 앞에서 기다려 주세요.` : '창구 가까이에서 기다려 주세요.';
      } else {
        head.textContent = `내 앞에 ${v.ahead}명`;
        detail.textContent =
          v.estimatedWaitMin !== null
            ? `예상 대기 시간 약 ${waitText(Math.max(1, v.estimatedWaitMin))}`
            : '예상 대기 시간을 계산하는 중입니다';
      }
      break;
    case 'called':
      head.textContent = `${v.counter.name}${v.counter.ro ?? '로'} 오세요`;
      detail.textContent = '지금 호출되었습니다.';
      break;
    case 'skipped':
      head.textContent = '부재 처리되었습니다';
      detail.textContent = `호출했지만 오지 않으셨습니다. ${v.counter.name}에 말씀해 주세요.`;
      break;
    case 'done':
      head.textContent = '업무가 끝났습니다';
      detail.textContent = '이용해 주셔서 감사합니다.';
      break;
    case 'day-over':
      gone('이 번호표의 업무일이 끝났습니다');
      return;
    case 'cancelled':
      head.textContent = '취소된 번호표입니다';
      detail.textContent = '';
      break;
    default:
      head.textContent = '번호표 정보를 받는 중입니다';
      detail.textContent = '잠시 후 자동으로 바뀝니다.';
  }
  const finished = v.status === 'called' || v.status === 'done' || v.status === 'cancelled';
  $('alert-box').hidden = finished;
  $('alert-form').hidden = Boolean(v.alert);
  $('alert-on').hidden = !v.alert;
  $('alert-to').textContent = v.alert ?? '';
}

function gone(message) {
  const main = $('ticket');
  main.dataset.status = 'gone';
  $('headline').textContent = message;
  $('detail').textContent = '';
  $('alert-box').hidden = true;
}

const live = new EventSource(`${base}/live${query}`);
live.addEventListener('ticket', (e) => render(JSON.parse(e.data)));
live.addEventListener('error', async () => {
  // Refused now (the day ended while the page was open): say so and stop asking.
  const r = await fetch(`${base}/live${query}`, { method: 'HEAD' }).catch(() => null);
  if (r && (r.status === 410 || r.status === 403)) {
    live.close();
    gone(r.status === 410 ? '이 번호표의 업무일이 끝났습니다' : '확인할 수 없는 번호표입니다');
  }
});

$('alert-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  $('alert-error').textContent = '';
  const r = await fetch(`${base}/alert${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ phone: $('phone').value }),
  });
  const body = await r.json();
  if (!r.ok) {
    $('alert-error').textContent =
      body.error?.code === 'alert-bad-phone'
        ? '휴대전화 번호를 확인해 주세요 (예: 010-1234-5678).'
        : '신청하지 못했습니다. 다시 시도해 주세요.';
    return;
  }
  $('phone').value = '';
  if (view) render({ ...view, alert: body.to });
});

$('alert-cancel').addEventListener('click', async () => {
  await fetch(`${base}/alert${query}`, { method: 'DELETE' });
  if (view) render({ ...view, alert: null });
});
