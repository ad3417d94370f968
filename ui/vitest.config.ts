import { fileURLToPath } from 'node:url';
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vitest/config';

// The editor's unit and component tests: Vue single-file components in happy-dom. A project of the root
// config (npm test); alone: npx vitest run --config ui/vitest.config.ts
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [vue()],
  test: {
    name: 'ui',
    environment: 'happy-dom',
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    // the repository, for tests that ask the real engine (import.meta.url is no file: URL under happy-dom)
    env: { EMFLOW_REPO: fileURLToPath(new URL('..', import.meta.url)) },
  },
});
