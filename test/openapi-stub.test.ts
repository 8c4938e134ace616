// src/openapi/generator-stub.ts stands in for @asteasolutions/zod-to-openapi in the worker's
// bundle (wrangler.toml [alias]; unit tests otherwise run the real module). Here: it records
// nothing, `.openapi()` hands back the schema, routes still route and validate through
// @hono/zod-openapi with it, and whatever would generate a document refuses. The end-to-end
// suite runs the aliased build against every documented route.
import { OpenAPIHono, createRoute } from '@hono/zod-openapi';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import {
  OpenAPIRegistry,
  OpenApiGeneratorV3,
  OpenApiGeneratorV31,
  OpenApiGeneratorV32,
  extendZodWithOpenApi,
  getOpenApiMetadata,
} from '../src/openapi/generator-stub';

/** A router of @hono/zod-openapi with the stub's registry, as the worker's bundle makes it. */
function stubbed() {
  const router = new OpenAPIHono();
  router.openAPIRegistry = new OpenAPIRegistry() as unknown as OpenAPIHono['openAPIRegistry'];
  return router;
}

const route = createRoute({
  method: 'post',
  path: '/things/{id}',
  summary: 'Documentation only',
  request: {
    params: z.object({ id: z.string().regex(/^\d+$/) }),
    query: z.object({ n: z.coerce.number().int().optional() }),
    body: {
      required: true,
      content: { 'application/json': { schema: z.object({ name: z.string().min(2) }) } },
    },
  },
  responses: { 200: { description: 'OK' } },
});

describe('the stand-in for zod-to-openapi', () => {
  it('records no route, component or schema, so mounting copies nothing', () => {
    const registry = new OpenAPIRegistry();
    registry.registerPath({ method: 'get', path: '/x' });
    registry.registerWebhook({ method: 'get', path: '/y' });
    const schema = z.string();
    expect(registry.register('S', schema)).toBe(schema);
    expect(registry.registerParameter('P', schema)).toBe(schema);
    expect(registry.registerComponent('securitySchemes', 'bearer', { type: 'http' })).toEqual({
      name: 'bearer',
      ref: { $ref: '#/components/securitySchemes/bearer' },
    });
    expect(registry.definitions).toEqual([]);

    const child = stubbed();
    child.openapi(route, (c) => c.json({}, 200));
    const parent = stubbed();
    parent.route('/api', child);
    expect(child.openAPIRegistry.definitions).toEqual([]);
    expect(parent.openAPIRegistry.definitions).toEqual([]);
  });

  it('leaves routing and the validation of params, query and body to @hono/zod-openapi', async () => {
    const child = stubbed();
    child.openapi(route, (c) =>
      c.json({ ...c.req.valid('param'), ...c.req.valid('query'), ...c.req.valid('json') }, 200),
    );
    const app = stubbed();
    app.route('/api', child);
    const post = (path: string, body: unknown, type = 'application/json') =>
      app.request(path, { method: 'POST', headers: { 'Content-Type': type }, body: `${body}` });

    const ok = await post('/api/things/7?n=3', JSON.stringify({ name: 'ab' }));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ id: '7', n: 3, name: 'ab' });
    expect((await post('/api/things/x', JSON.stringify({ name: 'ab' }))).status).toBe(400);
    expect((await post('/api/things/7?n=1.5', JSON.stringify({ name: 'ab' }))).status).toBe(400);
    expect((await post('/api/things/7', JSON.stringify({ name: 'a' }))).status).toBe(400);
    expect((await post('/api/things/7', 'name=ab', 'text/plain')).status).toBe(415);
    expect((await app.request('/api/things/7', { method: 'GET' })).status).toBe(404);
  });

  it('gives every schema an .openapi() that returns the schema itself', () => {
    class ZodType {}
    extendZodWithOpenApi({ ZodType });
    const schema = new ZodType() as ZodType & { openapi(...args: unknown[]): unknown };
    expect(schema.openapi('Ref', { description: 'doc only' })).toBe(schema);
    expect(schema.openapi({ example: 'x' })).toBe(schema);

    // An extension already in place (the real one, in these tests) is kept, as the real one does.
    const before = (z.ZodType.prototype as { openapi?: unknown }).openapi;
    expect(before).toBeTypeOf('function');
    extendZodWithOpenApi(z);
    expect((z.ZodType.prototype as { openapi?: unknown }).openapi).toBe(before);
  });

  it('refuses to generate a document or read metadata, saying why', () => {
    for (const Generator of [OpenApiGeneratorV3, OpenApiGeneratorV31, OpenApiGeneratorV32]) {
      expect(() => new Generator()).toThrow(/not bundled in this worker.*npm run openapi/);
    }
    expect(() => getOpenApiMetadata(z.string())).toThrow(/getOpenApiMetadata: .*not bundled/);
  });
});
