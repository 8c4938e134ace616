// /openapi.json is made at build time (src/openapi/document.ts, `npm run openapi`) and read from
// the ASSETS binding. What it serves must be, byte for byte, what the generator makes at run time
// from the routes the worker registers: a route, schema or example changed without
// `npm run openapi` fails here. (Tests run without wrangler.toml's [alias], so the real
// generator is here; the worker's bundle has none.)
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config';
import { app } from '../src/index';
import { documentConfig } from '../src/openapi/document';
import { call } from './helpers';

describe('/openapi.json', () => {
  it('is the generated document, byte for byte, with this deploy as its server', async () => {
    const issuer = loadConfig(env).ISSUER;
    const generated = app.getOpenAPI31Document(documentConfig(issuer));
    const res = await call('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toMatch(/^application\/json/);
    const text = await res.text();
    // A readable difference first, then the bytes (the same keys in the same order).
    expect(JSON.parse(text), 'public/openapi/document.json is stale: npm run openapi').toEqual(
      generated,
    );
    expect(text).toBe(JSON.stringify(generated));
  });

  it('names the issuer of the environment that serves it', async () => {
    const issuer = 'https://auth.elsewhere.example';
    const res = await call('/openapi.json', {}, { ISSUER: issuer });
    const doc = (await res.json()) as { servers: { url: string }[] };
    expect(doc.servers).toEqual([{ url: issuer }]);
  });
});
