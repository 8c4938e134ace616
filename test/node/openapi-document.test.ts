// /openapi.json is generated at build time from the routes built with their documentation, and
// the worker runs them built without it (`__OPENAPI_DOCS__`, src/openapi/docs-flag.d.ts). Here, in
// Node with the real generator: the stored document is what the routes make now (a route, schema
// or example changed without `npm run openapi` fails), and leaving the documentation out leaves
// every route, middleware and validator in place. test/openapi-document.test.ts checks what the
// worker serves.
import { readFileSync } from 'node:fs';
import { parse } from 'smol-toml';
import { beforeAll, describe, expect, it } from 'vitest';
import { generatedDocument, importRoutes } from '../../scripts/openapi.mjs';

const root = new URL('../../', import.meta.url).pathname;

type Routes = Awaited<ReturnType<typeof importRoutes>>;
let documented: Routes;
let worker: Routes;
beforeAll(async () => {
  [documented, worker] = await Promise.all([
    importRoutes({ docs: true }),
    importRoutes({ docs: false }),
  ]);
});

/** Every handler the app runs, middleware and validators included, by route. */
const handlers = ({ app }: Routes) => app.routes.map((r) => `${r.method} ${r.path}`);

/** What the app's routes were defined with (@hono/zod-openapi records each in its registry). */
function definitions({ app }: Routes) {
  return app.openAPIRegistry.definitions.map((d) =>
    d.type === 'route' ? { type: d.type, ...d.route } : { type: d.type },
  );
}

type Schema = { toJSONSchema?: (params: object) => unknown };
/** A zod schema as what it accepts (refinements and transforms show as `{}`), else undefined. */
const accepts = (schema: unknown) =>
  (schema as Schema | undefined)?.toJSONSchema?.({ io: 'input', unrepresentable: 'any' });

/**
 * What @hono/zod-openapi makes validators of: the zod schemas of the request's parts and body
 * (a plain schema object documents a body without validating it), and whether a body is required.
 */
function validation({ request = {} }: { request?: Record<string, unknown> }) {
  const { body, ...parts } = request as { body?: { required?: boolean; content: object } };
  const validated = (entries: [string, unknown][]) =>
    Object.fromEntries(
      entries.flatMap(([key, schema]) => {
        const accepted = accepts(schema);
        return accepted ? [[key, accepted]] : [];
      }),
    );
  const bodies = validated(
    Object.entries(body?.content ?? {}).map(([type, media]) => [type, media.schema]),
  );
  const required = Object.keys(bodies).length ? body?.required : undefined;
  return { parts: validated(Object.entries(parts)), bodies, required };
}

describe('the OpenAPI document', () => {
  it('stored in public/openapi/document.json is what the routes generate now', async () => {
    const stored = readFileSync(`${root}public/openapi/document.json`, 'utf8');
    expect(await generatedDocument(), 'stale: run `npm run openapi`').toBe(stored);
  });

  it('is made from routes that the worker runs with the same handlers in the same order', () => {
    expect(handlers(worker).length).toBeGreaterThan(100);
    expect(handlers(worker)).toEqual(handlers(documented));
  });

  it('is made from routes that the worker validates the same way', () => {
    const ofWorker = definitions(worker).filter((d) => d.type === 'route');
    const served = new Map(ofWorker.map((d) => [`${d.method} ${d.path}`, d]));
    let compared = 0;
    for (const d of definitions(documented)) {
      if (d.type !== 'route') continue;
      const route = served.get(`${d.method} ${d.path}`);
      // Documented only: served by the pages (src/federation/routes.tsx), not by a route definition.
      if (!route) continue;
      expect(validation(route), `${d.method} ${d.path}`).toEqual(validation(d));
      compared += 1;
    }
    expect(compared).toBe(ofWorker.length);
  });

  it('leaves out of the worker every documentation key', () => {
    const ofWorker = definitions(worker);
    expect(ofWorker.length).toBeGreaterThan(50);
    for (const d of ofWorker) {
      // The registry records nothing in the worker's bundle (src/openapi/generator-stub.ts); here
      // it shows what the definitions hold: method, path and the request's schemas, nothing else.
      expect(
        Object.keys(d).filter((key) => !['type', 'method', 'path', 'request'].includes(key)),
      ).toEqual([]);
      expect(d.type).toBe('route');
    }
  });
});

describe('wrangler.toml', () => {
  it('builds the worker without the documentation in every environment', () => {
    // [define] is not inherited: an environment without it would reference an undefined global.
    const config = parse(readFileSync(`${root}wrangler.toml`, 'utf8')) as {
      define?: Record<string, string>;
      env: Record<string, { define?: Record<string, string> }>;
    };
    const environments = [config, ...Object.values(config.env)];
    expect(environments.length).toBeGreaterThanOrEqual(3);
    for (const env of environments) expect(env.define).toEqual({ __OPENAPI_DOCS__: 'false' });
  });
});
