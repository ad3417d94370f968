import { defineConfig } from 'vitest/config';

// Fast and real-component tests alike run against the compiled packages (`npm test` builds first); the web
// editor's tests are a project of their own (Vue components in happy-dom: ui/vitest.config.ts).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          include: ['sdk/test/**/*.test.ts', 'formats/test/**/*.test.ts', 'engine/test/**/*.test.ts', 'operators/*/test/**/*.test.ts', 'test/**/*.test.ts'],
          // real components have configs of their own: a daemon and images (npm run test:docker), Apptainer and
          // SIF images (test:singularity), Slurm (test:slurm)
          exclude: ['**/node_modules/**', '**/dist/**', 'test/docker/**', 'test/singularity/**', 'test/slurm/**', 'test/hosts/**'],
          pool: 'forks',
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      'ui/vitest.config.ts',
    ],
  },
});
