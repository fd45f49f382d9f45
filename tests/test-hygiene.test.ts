// A test run keeps its files in a temporary directory of its own, which tests/global-setup.ts
// removes at its end: the processes the suites start inherit it too.
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';

it("keeps a run's temporary files, and its children's, in the run's own directory", () => {
  const dir = tmpdir();
  expect(path.basename(dir)).toMatch(/^beonho-test-/);
  const child = execFileSync(process.execPath, ['-e', 'process.stdout.write(require("node:os").tmpdir())']).toString();
  expect(child).toBe(dir);
});
