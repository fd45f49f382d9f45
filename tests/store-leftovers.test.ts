// The real daemon removes, at start, the temp files that durable writes cut short by a power cut
// left behind (snapshots, outbox cursors, the MQTT bridge's files, the status file, the simulator's
// frames, tickets and sounds), and says so once in its log.
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { replaceFile } from '../device/store/fs.ts';
import { Daemon, killAll, writeTestConfig } from './helpers/daemon.ts';

let dir: string;
let config: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'beonho-leftovers-'));
  config = await writeTestConfig(path.join(dir, 'config.yaml'));
});
afterEach(killAll);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('start-up litter', () => {
  it('the daemon removes leftover temp files at start, logs their count and size once, keeps real files', async () => {
    const data = path.join(dir, 'data');
    const state = path.join(data, 'state');
    await mkdir(path.join(state, 'outbox'), { recursive: true });
    const sim = path.join(data, 'sim');
    await mkdir(path.join(sim, 'tickets'), { recursive: true });
    await mkdir(path.join(sim, 'audio'), { recursive: true });
    const litter: Array<[string, number]> = [
      [path.join(data, 'mqtt-commands.json.4242.17.tmp'), 480], // the bridge's old pattern
      [path.join(data, 'mqtt-session.json.tmp-4242-18'), 12],
      [path.join(state, 'snapshot-000000000040.json.tmp-4242-3'), 300],
      [path.join(state, 'outbox', 'cursor-uplink.json.tmp-4242-4'), 40],
      [path.join(data, '.status.json.4242.tmp'), 700], // the status file's old pattern
      [path.join(data, 'status.json.tmp-4242-5'), 700],
      [path.join(sim, 'board.png.4242.tmp'), 9000], // the simulator's old patterns
      [path.join(sim, 'counter-1.png.tmp-4242-6'), 900],
      [path.join(sim, 'tickets', '2026-11-26-1001.png.4242.tmp'), 500],
      [path.join(sim, 'audio', '000003.wav.tmp'), 2000],
      [path.join(sim, 'audio', '000004.wav.tmp-4242-7'), 2000],
    ];
    const total = litter.reduce((n, [, size]) => n + size, 0);
    for (const [file, size] of litter) await writeFile(file, Buffer.alloc(size, 0x20));
    await writeFile(path.join(data, 'mqtt-commands.json'), '{"v":1,"entries":[]}');
    await writeFile(path.join(sim, 'audio', '000003.wav'), 'RIFF');

    const d = new Daemon(['--config', config, '--data-dir', data], { BEONHO_LOG_LEVEL: 'info' });
    await d.waitFor(/simulator ready/);
    d.kill('SIGTERM');
    expect(await d.exited).toBe(0);

    const logged = d.stderr
      .split('\n')
      .filter((l) => l.includes('removedTempFiles'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ component: 'store', removedTempFiles: litter.length, removedTempBytes: total });
    expect(await readdir(data)).toContain('mqtt-commands.json');
    expect(await readdir(path.join(sim, 'audio'))).toContain('000003.wav');
    const left = [
      ...(await readdir(data)),
      ...(await readdir(state)),
      ...(await readdir(path.join(state, 'outbox'))),
      ...(await readdir(sim)),
      ...(await readdir(path.join(sim, 'tickets'))),
      ...(await readdir(path.join(sim, 'audio'))),
    ];
    expect(left.filter((n) => n.includes('.tmp'))).toEqual([]);
  });

  it('a file replaced without fsync (status, frames, sounds) leaves nothing beside it, also when the rename fails', async () => {
    const d = path.join(dir, 'replace');
    await mkdir(path.join(d, 'taken.png', 'inside'), { recursive: true });
    await replaceFile(path.join(d, 'status.json'), '{}');
    await expect(replaceFile(path.join(d, 'taken.png'), Buffer.from('png'))).rejects.toThrow();
    expect((await readdir(d)).sort()).toEqual(['status.json', 'taken.png']);
  });
});
