// /docs is Swagger UI over /openapi.json, served from a constant (src/openapi/docs-page.ts) in
// place of @hono/swagger-ui's middleware, which rendered the same page on every request.
import { swaggerUI } from '@hono/swagger-ui';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { docsPage } from '../src/openapi/docs-page';
import { call } from './helpers';

/** Markup without its layout: whitespace never matters in this page, anything else does. */
const markup = (html: string) => html.replace(/\s+/g, '');

describe('GET /docs', () => {
  it("is the page @hono/swagger-ui's middleware made, with the same content type", async () => {
    const reference = new Hono().get(
      '/docs',
      swaggerUI({ url: '/openapi.json', title: 'Edge auth worker API', baseUrl: '/docs-assets' }),
    );
    const expected = await reference.request('/docs');
    const res = await call('/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toBe(expected.headers.get('Content-Type'));
    const html = await res.text();
    expect(html).toBe(docsPage);
    expect(markup(html)).toBe(markup(await expected.text()));
  });

  it('loads only our own files, as its policy allows', async () => {
    const res = await call('/docs');
    expect(res.headers.get('Content-Security-Policy')).toBe(
      "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
    );
    const html = await res.text();
    const sources = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map(([, url]) => url);
    expect(sources).toEqual([
      '/docs-assets/swagger-ui-dist/swagger-ui.css',
      '/docs-assets/swagger-ui-dist/swagger-ui-bundle.js',
    ]);
    for (const url of sources) expect((await call(url!)).status, url).toBe(200);
  });
});
