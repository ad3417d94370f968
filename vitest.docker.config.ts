import { defineConfig } from 'vitest/config';

// Real-Docker tests: they need a running dockerd (`.ci/run` installs and starts one) and build the operator
// images once in the global setup. A missing daemon fails them; it never skips them.
export default defineConfig({
  test: {
    include: ['test/docker/**/*.test.ts'],
    globalSetup: ['test/docker/global-setup.ts'],
    pool: 'forks',
    poolOptions: { forks: { singleFork: true } },
    testTimeout: 120_000,
    hookTimeout: 300_000,
  },
});
