// Vite's dev server serves this page on http://localhost:5173 and proxies the worker's routes, so
// the page and the API share one origin: the worker's `SameSite=Strict` refresh cookie is then
// first-party and travels with the page's own fetches. The worker's address comes from
// AUTH_WORKER_URL (default: `npm run dev` on 127.0.0.1:8787).
import { defineConfig } from 'vite';

const target = process.env.AUTH_WORKER_URL ?? 'http://127.0.0.1:8787';

// Every top-level path the worker serves (../../README.md, ../../../shared/API.md).
const workerPaths = [
  '/auth',
  '/users',
  '/admin',
  '/oauth',
  '/.well-known',
  '/health',
  '/dev/mailbox',
  '/openapi.json',
  '/docs',
];

export default defineConfig({
  server: {
    host: 'localhost',
    port: 5173,
    strictPort: true,
    // changeOrigin sets Host to the worker's; the browser's Origin header goes through as it is,
    // so the worker's ALLOWED_ORIGINS must list http://localhost:5173 (.dev.vars.example does).
    proxy: Object.fromEntries(workerPaths.map((path) => [path, { target, changeOrigin: true }])),
  },
});
