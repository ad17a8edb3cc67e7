import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The web console (index.html) and the desktop app's page (desktop.html, the same screens over
// the preload's IPC object): `npm run build:console` writes both to dist/console, which `sluice
// serve` serves on the api listener and the desktop app on its app:// scheme.
const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: './',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    sourcemap: true,
    chunkSizeWarningLimit: 2_000,
    rollupOptions: {
      input: { index: fileURLToPath(new URL('./index.html', import.meta.url)), desktop: fileURLToPath(new URL('./desktop.html', import.meta.url)) },
    },
  },
});
