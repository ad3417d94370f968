import { defineConfig } from 'vitest/config';

// Multi-node tests: three hosts in network namespaces, each with its own hostname and slurmd, under a second Slurm
// cluster (test/infra/hosts.sh brings them up; CI runs it). Jobs run for real across the hosts: one file at a time,
// long timeouts. Hosts that are not up fail these tests; they never skip.
export default defineConfig({
  test: {
    include: ['test/hosts/**/*.test.ts'],
    globalSetup: ['test/hosts/global-setup.ts'],
    pool: 'forks',
    poolOptions: { forks: { singleFork: true } },
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 120_000,
  },
});
