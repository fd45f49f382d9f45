// The real daemon removes, at start, the temp files that durable writes cut short by a power cut
// left behind (snapshots, outbox cursors, the MQTT bridge's files), and says so once in its log.
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
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
    const litter: Array<[string, number]> = [
      [path.join(data, 'mqtt-commands.json.4242.17.tmp'), 480], // the bridge's old pattern
      [path.join(data, 'mqtt-session.json.tmp-4242-18'), 12],
      [path.join(state, 'snapshot-000000000040.json.tmp-4242-3'), 300],
      [path.join(state, 'outbox', 'cursor-uplink.json.tmp-4242-4'), 40],
    ];
    for (const [file, size] of litter) await writeFile(file, Buffer.alloc(size, 0x20));
    await writeFile(path.join(data, 'mqtt-commands.json'), '{"v":1,"entries":[]}');

    const d = new Daemon(['--config', config, '--data-dir', data], { BEONHO_LOG_LEVEL: 'info' });
    await d.waitFor(/simulator ready/);
    d.kill('SIGTERM');
    expect(await d.exited).toBe(0);

    const logged = d.stderr
      .split('\n')
      .filter((l) => l.includes('removedTempFiles'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ component: 'store', removedTempFiles: 4, removedTempBytes: 480 + 12 + 300 + 40 });
    expect(await readdir(data)).toContain('mqtt-commands.json');
    const left = [...(await readdir(data)), ...(await readdir(state)), ...(await readdir(path.join(state, 'outbox')))];
    expect(left.filter((n) => n.includes('.tmp'))).toEqual([]);
  });
});
