import { defineConfig } from 'vitest/config';

// Fast and real-component tests alike run against the compiled packages (`npm test` builds first).
export default defineConfig({
  test: {
    include: ['sdk/test/**/*.test.ts', 'formats/test/**/*.test.ts', 'engine/test/**/*.test.ts', 'operators/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
