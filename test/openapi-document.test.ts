// /openapi.json is made at build time (src/openapi/document.ts, `npm run openapi`) and read from
// the ASSETS binding. test/node/openapi-document.test.ts checks that the stored file is what the
// real generator makes from the routes with their documentation (a route, schema or example
// changed without `npm run openapi` fails there); here, that the worker serves exactly that file.
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import stored from '../public/openapi/document.json';
import { loadConfig } from '../src/config';
import { documentConfig } from '../src/openapi/document';
import { call } from './helpers';

describe('/openapi.json', () => {
  it('is the stored document, byte for byte, with this deploy as its server', async () => {
    const issuer = loadConfig(env).ISSUER;
    const res = await call('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toMatch(/^application\/json/);
    // The generator's output: its own keys first, in its order, then the generated ones.
    expect(await res.text()).toBe(JSON.stringify({ ...documentConfig(issuer), ...stored }));
  });

  it('names the issuer of the environment that serves it', async () => {
    const issuer = 'https://auth.elsewhere.example';
    const res = await call('/openapi.json', {}, { ISSUER: issuer });
    const doc = (await res.json()) as { servers: { url: string }[] };
    expect(doc.servers).toEqual([{ url: issuer }]);
  });

  it('is not made by the routes these tests run: they are built as the worker is, without docs', () => {
    // wrangler.toml [define], which the test pool applies (src/openapi/docs-flag.d.ts).
    expect(__OPENAPI_DOCS__ as boolean).toBe(false);
  });
});
