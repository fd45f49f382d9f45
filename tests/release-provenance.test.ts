// The commit a release names in its manifest (and the time its tarball's files carry) come from
// the tree it is built from: a `git archive` of an older commit unpacked inside another checkout
// (how an older release is built beside the current one) named that checkout's HEAD, "-dirty".
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildVersion, commitTime, gitCommit } from '../scripts/git-commit.ts';

let repo: string;
const git = (...args: string[]): string =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.org', ...args], {
    cwd: repo,
    encoding: 'utf8',
  }).trim();

beforeEach(async () => {
  repo = await mkdtemp(path.join(tmpdir(), 'beonho-provenance-'));
  git('init', '-q');
  await writeFile(path.join(repo, 'package.json'), '{}\n');
  git('add', 'package.json');
  git('commit', '-q', '-m', 'first');
});
afterEach(async () => {
  await rm(repo, { recursive: true, force: true });
});

describe('the commit a release is built from', () => {
  it("is the checkout's HEAD at the top of a checkout", () => {
    expect(gitCommit(repo)).toBe(git('rev-parse', 'HEAD'));
    expect(commitTime(repo)).toBe(Number(git('log', '-1', '--format=%ct')));
  });

  it('is unknown for a tree unpacked inside another checkout, not that checkout HEAD', async () => {
    const old = path.join(repo, '.scratch/old-src');
    await mkdir(old, { recursive: true });
    await writeFile(path.join(old, 'package.json'), '{}\n');
    expect(gitCommit(old)).toBeNull();
    expect(commitTime(old)).toBeNull();
  });

  it("is in the build's version, so two releases of one package version tell apart", async () => {
    const head = git('rev-parse', 'HEAD');
    expect(buildVersion('0.1.0', gitCommit(repo))).toBe(`0.1.0+${head.slice(0, 7)}`);
    await writeFile(path.join(repo, 'package.json'), '{"changed":true}\n');
    expect(buildVersion('0.1.0', gitCommit(repo))).toBe(`0.1.0+${head.slice(0, 7)}.dirty`);
    expect(buildVersion('0.1.0', null)).toBe('0.1.0');
  });
});
