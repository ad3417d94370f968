import { defineConfig } from 'vitest/config';

// Real-Slurm tests: sbatch, squeue and scontrol on PATH and a controller that answers with a partition `debug`
// (test/infra/slurm.sh installs and starts munge, slurmctld and slurmd on this machine). Jobs are submitted,
// waited for and cancelled for real: one file at a time, long timeouts. A missing Slurm fails them; it never
// skips them.
export default defineConfig({
  test: {
    include: ['test/slurm/**/*.test.ts'],
    globalSetup: ['test/slurm/global-setup.ts'],
    pool: 'forks',
    poolOptions: { forks: { singleFork: true } },
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 120_000,
  },
});
