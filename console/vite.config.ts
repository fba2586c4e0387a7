// Builds the console into dist/console, served by the service at /.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));
export default defineConfig({
  root,
  base: '/',
  plugins: [react()],
  logLevel: 'warn',
  build: { outDir: fileURLToPath(new URL('../dist/console', import.meta.url)), emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 1000 },
  // `npx vite --config console/vite.config.ts` during development: the API of a service on :8080.
  server: { proxy: { '/api': 'http://127.0.0.1:8080' } },
});
