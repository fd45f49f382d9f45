// A Node without an API the daemon uses (zlib.crc32 came in 20.15) is refused in one line, exit 2,
// before anything else loads: not a SyntaxError and a stack that systemd restarts every 5 s.
import { execFile } from 'node:child_process';
import * as zlib from 'node:zlib';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { missingNodeApis, nodeTooOldMessage } from '../device/node-support.ts';

const OLD_NODE = path.resolve('tests/fixtures/old-node/register.mjs');

function runMain(args: string[], nodeArgs: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...nodeArgs, '--import', 'tsx', 'device/main.ts', ...args], (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

describe('the Node the daemon runs on', () => {
  it('names what a Node lacks, and nothing for this one', () => {
    expect(missingNodeApis(zlib)).toEqual([]);
    expect(missingNodeApis({})).toEqual(['zlib.crc32']);
    expect(nodeTooOldMessage(['zlib.crc32'], 'v20.11.0')).toBe(
      "Node v20.11.0 is too old for beonho: it lacks zlib.crc32. Install Node 20.15.0 or newer of the release's major (docs/deploy.md, step 3)",
    );
  });

  it('refuses a Node without zlib.crc32 in one line, exit 2, also for --help (the installer runs it)', async () => {
    for (const args of [['--help'], ['--config', 'config/example.yaml', '--data-dir', '/nonexistent/beonho']]) {
      const r = await runMain(args, ['--import', OLD_NODE]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(
        /^beonho: Node v[\d.]+ is too old for beonho: it lacks zlib\.crc32\. .* \[node-too-old\]\n$/,
      );
    }
  }, 60_000);

  it('starts as usual on a Node that has it', async () => {
    const r = await runMain(['--help'], []);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: beonho/);
  }, 60_000);
});
