import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // one temporary directory per run (TMPDIR), removed at its end
    globalSetup: ['tests/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // The machine has 2 cores; suites that start processes and brokers get in each other's way.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
