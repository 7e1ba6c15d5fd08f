import { fileURLToPath } from 'node:url';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

// The production renderer: loaded by Electron from dist/renderer/index.html (file://),
// so every asset URL is relative and nothing is fetched from anywhere else.
export default defineConfig({
  root,
  base: './',
  plugins: [svelte({ configFile: false })],
  build: {
    outDir: fileURLToPath(new URL('../dist/renderer', import.meta.url)),
    emptyOutDir: true,
    // No inline assets: the CSP allows scripts from 'self' only.
    assetsInlineLimit: 0,
    sourcemap: true,
  },
});
