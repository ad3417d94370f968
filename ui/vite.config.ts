import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';

// `emflow serve` serves dist/ at /; the API lives under /api on the same origin.
export default defineConfig({
  plugins: [vue()],
  base: './',
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 2000 },
});
