import { defineConfig } from 'vitest/config';

// Real-Apptainer tests: `apptainer` on PATH (test/infra/apptainer.sh installs it; `.ci/run` runs that), the SIF
// of every operator built once in the global setup. A missing apptainer fails them; it never skips them.
export default defineConfig({
  test: {
    include: ['test/singularity/**/*.test.ts'],
    globalSetup: ['test/singularity/global-setup.ts'],
    pool: 'forks',
    poolOptions: { forks: { singleFork: true } },
    testTimeout: 180_000,
    hookTimeout: 1_800_000,
  },
});
