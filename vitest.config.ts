import { defineConfig } from 'vitest/config';

// Fast and real-component tests alike run against the compiled packages (`npm test` builds first).
export default defineConfig({
  test: {
    include: ['sdk/test/**/*.test.ts', 'formats/test/**/*.test.ts', 'engine/test/**/*.test.ts', 'operators/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    // test/docker needs a daemon and built images: its own config (npm run test:docker)
    exclude: ['**/node_modules/**', '**/dist/**', 'test/docker/**'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
