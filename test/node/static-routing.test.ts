// Static assets never answer in place of the worker (wrangler.toml, `run_worker_first`): with a
// file under public/ at an API path, the API path still reaches the worker, in both environments,
// and Swagger UI's files reach the worker too, which reads them through the ASSETS binding (so
// they carry its headers: test/http.test.ts). Miniflare's asset router is the one `wrangler dev`
// runs; the worker here is a stand-in that says it was reached, since what is tested is the
// routing in front of it.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Miniflare } from 'miniflare';
import { unstable_getMiniflareWorkerOptions } from 'wrangler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;
// Files an accident (or a hostile pull request) could put in public/, each at a worker path.
const shadows = [
  '/.well-known/jwks.json',
  '/.well-known/openid-configuration',
  '/health/live',
  '/auth/login',
  '/users/me',
  '/openapi.json',
  // Also what the router would serve for /docs (html_handling), a worker page.
  '/docs/index.html',
  '/index.html',
];
let assets: string;

beforeAll(() => {
  assets = mkdtempSync(join(tmpdir(), 'static-routing-'));
  for (const path of [...shadows, '/docs-assets/probe.txt']) {
    mkdirSync(dirname(join(assets, path)), { recursive: true });
    writeFileSync(join(assets, path), `static file ${path}`);
  }
});

afterAll(() => rmSync(assets, { recursive: true, force: true }));

describe.each([['top level (dev, tests)'], ['production']])('static routing, %s', (name) => {
  let mf: Miniflare;

  beforeAll(async () => {
    const env = name === 'production' ? 'production' : undefined;
    const { workerOptions } = unstable_getMiniflareWorkerOptions(join(root, 'wrangler.toml'), env);
    expect(workerOptions.assets).toBeDefined();
    mf = new Miniflare({
      modules: true,
      script: `export default {
        async fetch(request, env) {
          if (!new URL(request.url).pathname.startsWith('/docs-assets/')) return new Response('worker');
          const asset = await env.ASSETS.fetch(request);
          return new Response(asset.body, { status: asset.status, headers: { 'x-worker': '1' } });
        },
      }`,
      compatibilityDate: workerOptions.compatibilityDate,
      assets: { ...workerOptions.assets!, directory: assets },
    });
    await mf.ready;
  });

  afterAll(() => mf?.dispose());

  it.each([...shadows, '/docs'])('%s reaches the worker even with a file there', async (path) => {
    for (const method of ['GET', 'POST']) {
      const res = await mf.dispatchFetch(`http://localhost${path}`, { method });
      expect(await res.text()).toBe('worker');
    }
  });

  it('/docs-assets/* reaches the worker, which reads public/ through the ASSETS binding', async () => {
    const res = await mf.dispatchFetch('http://localhost/docs-assets/probe.txt');
    expect(res.headers.get('x-worker')).toBe('1');
    expect(await res.text()).toBe('static file /docs-assets/probe.txt');
  });
});
