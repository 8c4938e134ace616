import { env } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import { app } from '../src/index';
import { pages } from '../src/pages';
import { call, expectProblem } from './helpers';

const failingDb = {
  prepare() {
    throw new Error('D1_ERROR: database unavailable');
  },
};
const failingKv = { get: () => Promise.reject(new Error('KV unavailable')) };

const pageRoutes = new Set(pages.routes.map((r) => r.path));

describe('health', () => {
  it('/health/live answers without touching storage', async () => {
    const res = await call('/health/live', {}, { DB: failingDb, KV: failingKv });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('/health/ready checks D1 and KV', async () => {
    const res = await call('/health/ready');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', checks: { d1: 'ok', kv: 'ok' } });
  });

  it.each([
    ['d1', { DB: failingDb }, { d1: 'error', kv: 'ok' }],
    ['kv', { KV: failingKv }, { d1: 'ok', kv: 'error' }],
  ])('/health/ready answers 503 naming a failing %s', async (_name, overrides, checks) => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    const res = await call('/health/ready', {}, overrides);
    const body = await expectProblem(res, 503, 'service_unavailable');
    expect(body).toMatchObject({ checks });
    expect(res.headers.get('Retry-After')).toBe('5');
    error.mockRestore();
  });

  it('documents every route the worker serves in OpenAPI', async () => {
    const doc = (await (await call('/openapi.json')).json()) as { paths: Record<string, object> };
    const served = app.routes
      // The docs page, its document, Swagger UI's static files and the HTML pages (with their
      // form posts) are not API routes.
      .filter(
        (r) =>
          r.method !== 'ALL' &&
          !['/docs', '/openapi.json', '/docs-assets/*'].includes(r.path) &&
          !pageRoutes.has(r.path),
      )
      .map((r) => `${r.method} ${r.path.replace(/:([^/]+)/g, '{$1}')}`);
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(new Set(served).size).toBeGreaterThanOrEqual(30);
    expect(documented.sort()).toEqual([...new Set(served)].sort());
  });

  it('serves the OpenAPI 3.1 document and the docs page', async () => {
    const doc = (await (await call('/openapi.json')).json()) as { openapi: string; paths: object };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/health/ready', '/.well-known/jwks.json']),
    );
    const docs = await call('/docs');
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('/openapi.json');
    expect(env.DB).toBeDefined();
  });
});
