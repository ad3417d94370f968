import { defineConfig } from 'vitest/config';

// End-to-end tests of the editor in real Chromium (Debian's /usr/bin/chromium driven by playwright-core; `.ci/run`
// installs it): `emflow serve` and the browser are started by each test file. A missing Chromium fails them, it
// never skips them. One file at a time: each starts a server, operators and a browser on a small machine.
export default defineConfig({
  test: {
    include: ['test/browser/**/*.e2e.ts'],
    pool: 'forks',
    poolOptions: { forks: { singleFork: true } },
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 180_000,
  },
});
