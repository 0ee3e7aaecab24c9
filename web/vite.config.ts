// The dashboard's build: `npm run build:web` writes dist/web, which `suanli serve`
// serves at / (src/server/dashboard.ts). `npm run dev:web` serves the app with hot
// reload and sends /api to a control plane on 127.0.0.1:8040 (`suanli serve`).
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    // The charting library (Vega) is loaded in its own chunk when a chart first shows; it is large by nature.
    chunkSizeWarningLimit: 1500,
  },
  server: { proxy: { '/api': 'http://127.0.0.1:8040' } },
});
