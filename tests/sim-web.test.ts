// The simulator page's HTTP side without a browser: the page and its files, the live stream, the
// controls and their refusals, and the guards (loopback Host, JSON only, no path walking).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Snapshot } from '../device/queue/snapshot-types.ts';
import { type CoreHandle, SimHub } from '../sim/hub.ts';
import type { OfficeLayout } from '../sim/ipc-protocol.ts';
import { type SimWeb, startSimWeb } from '../sim/web.ts';

const layout: OfficeLayout = {
  office: 'singok2',
  name: '신곡2동 행정복지센터',
  timeZone: 'Asia/Seoul',
  dataDir: '/tmp/x',
  buttons: [{ id: 'resident', label: '주민등록', service: 'resident', priority: false }],
  counters: [{ id: '1', name: '1번 창구', services: ['resident'] }],
  services: [{ id: 'resident', name: '주민등록' }],
  simInputs: true,
  canUnplug: true,
  canPaperOut: true,
};

interface Reply {
  status: number;
  type: string;
  body: string;
}

function http(
  port: number,
  method: string,
  p: string,
  opts: { body?: unknown; raw?: string; host?: string; json?: boolean } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const payload = opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path: p,
        headers: {
          host: opts.host ?? `127.0.0.1:${port}`,
          ...(opts.json !== false && payload ? { 'content-type': 'application/json' } : {}),
        },
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => {
          body += d.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

describe('the simulator page server', () => {
  let dir: string;
  let web: SimWeb;
  let hub: SimHub;
  const lines: string[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'beonho-simweb-'));
    await mkdir(path.join(dir, 'tickets'), { recursive: true });
    await writeFile(path.join(dir, 'tickets', '2026-11-26-1001.png'), 'png-bytes');
    await writeFile(path.join(dir, 'counter-1.png'), 'counter-bytes');
    lines.length = 0;
    const core: CoreHandle = { line: (t) => lines.push(t) > 0, send: () => true, powerCut: () => {}, cable: null };
    hub = new SimHub(core);
    web = await startSimWeb(hub, dir, 0, pino({ level: 'silent' }));
  });
  afterEach(async () => {
    await web.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the page, its script and the ticket files; nothing outside them', async () => {
    const page = await http(web.port, 'GET', '/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('번호표 발급기');
    expect((await http(web.port, 'GET', '/app.js')).type).toContain('javascript');
    expect((await http(web.port, 'GET', '/fonts/noto-sans-kr-korean-400.woff2')).type).toBe('font/woff2');
    expect((await http(web.port, 'GET', '/files/tickets/2026-11-26-1001.png')).body).toBe('png-bytes');
    expect((await http(web.port, 'GET', '/files/tickets/..%2F..%2Fpackage.json')).status).toBe(404);
    expect((await http(web.port, 'GET', '/files/counter-1.png')).body).toBe('counter-bytes');
    expect((await http(web.port, 'GET', '/files/counter-..%2Fboard.png')).status).toBe(404);
    expect((await http(web.port, 'GET', '/files/board.png')).status).toBe(404); // no frame yet
  });

  it('refuses a foreign Host and a non-JSON post', async () => {
    expect((await http(web.port, 'GET', '/api/state', { host: 'evil.example:80' })).status).toBe(403);
    const plain = await http(web.port, 'POST', '/api/press', { body: { button: 'resident' }, json: false });
    expect(plain.status).toBe(415);
    expect(JSON.parse(plain.body).error.code).toBe('sim-json-only');
  });

  it('keeps what a malformed post carries (body, query) out of the log', async () => {
    const said: string[] = [];
    const logged = await startSimWeb(hub, dir, 0, pino({ level: 'info' }, { write: (l: string) => said.push(l) }));
    try {
      const r = await http(logged.port, 'POST', '/api/press?phone=01012345678', { raw: '홍길동 010-1234-5678' });
      expect([r.status, JSON.parse(r.body).error.code]).toEqual([400, 'bad-json']);
    } finally {
      await logged.close();
    }
    expect(said.join('\n')).toContain('simulator page request failed');
    for (const personal of ['홍길동', '010-1234-5678', '01012345678']) expect(said.join('\n')).not.toContain(personal);
  });

  it('hands controls to the hub and answers refusals with a code', async () => {
    const down = await http(web.port, 'POST', '/api/press', { body: { button: 'resident' } });
    expect(down.status).toBe(503);
    expect(JSON.parse(down.body).error.code).toBe('sim-core-down');
    hub.fromCore({ kind: 'ready', layout, snapshot: { seq: 1 } as unknown as Snapshot });
    expect((await http(web.port, 'POST', '/api/press', { body: { button: 'resident' } })).status).toBe(200);
    expect((await http(web.port, 'POST', '/api/key', { body: { counter: '1', action: 'next' } })).status).toBe(200);
    const bad = await http(web.port, 'POST', '/api/key', { body: { counter: '1', action: 'call' } });
    expect(JSON.parse(bad.body).error.code).toBe('sim-bad-number');
    const link = await http(web.port, 'POST', '/api/link', { body: { connected: false } });
    expect([link.status, JSON.parse(link.body).error.code]).toEqual([409, 'sim-no-cable']);
    expect(lines).toEqual(['press resident', 'key 1 next']);
    const state = JSON.parse((await http(web.port, 'GET', '/api/state')).body);
    expect(state.core).toBe('up');
    expect(state.layout.office).toBe('singok2');
  });

  it('streams the state at once and again after a change', async () => {
    const events: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: web.port, path: '/api/live' }, (res) => {
        expect(res.headers['content-type']).toContain('text/event-stream');
        res.on('data', (d: Buffer) => {
          for (const block of d.toString().split('\n\n')) if (block.startsWith('event: state')) events.push(block);
          if (events.length === 1) hub.coreState('down', '전원 차단');
          if (events.length === 2) {
            req.destroy();
            resolve();
          }
        });
      });
      req.on('error', reject);
      req.end();
    });
    await done;
    expect(JSON.parse(events[1]!.split('data: ')[1]!).core).toBe('down');
  });

  it('drops a stream whose reader stopped reading, once it holds more than it may unsent', async () => {
    // every state was written to it regardless, and kept in memory for it, without end
    const reader = connect(web.port, '127.0.0.1');
    reader.on('error', () => undefined);
    let closed = false;
    reader.on('close', () => {
      closed = true;
    });
    await new Promise((resolve) => reader.once('connect', resolve));
    reader.write(`GET /api/live HTTP/1.1\r\nhost: 127.0.0.1:${web.port}\r\n\r\n`);
    reader.pause();
    // a state of 1 MiB, sent again at each change while nobody reads
    hub.fromCore({ kind: 'ready', layout, snapshot: { seq: 1, pad: 'x'.repeat(1 << 20) } as unknown as Snapshot });
    for (let i = 0; i < 24 && !closed; i++) {
      hub.coreState(i % 2 === 0 ? 'down' : 'up', '전원 차단');
      await new Promise((r) => setTimeout(r, 50)); // past the 30 ms the page's states are coalesced over
    }
    reader.resume();
    const t0 = Date.now();
    while (!closed && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 20));
    reader.destroy();
    expect(closed).toBe(true);
  });
});
