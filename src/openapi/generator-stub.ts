// Stands in for @asteasolutions/zod-to-openapi in the worker's bundle (wrangler.toml [alias]).
// /openapi.json is made at build time (`npm run openapi`, src/openapi/document.ts): only that
// Node build runs the real module, over the same routes. At run time the worker needs nothing of
// it, and this file is all @hono/zod-openapi gets there:
// - `OpenAPIHono` makes an `OpenAPIRegistry` per router and records every route, component and
//   mounted router's definitions in it: records only the generator reads. Here the registry keeps
//   nothing. Routing, validation and middleware come from the route's method, path and request
//   schemas, which @hono/zod-openapi reads from the route itself (with @hono/zod-validator, which
//   calls only the schema's own safeParseAsync), never from the registry or from metadata.
// - `extendZodWithOpenApi` adds `.openapi()` to zod's schemas. The real one stores summaries,
//   examples and ref ids in its own registry, and copies the schema and wraps eight of its methods
//   to carry them along: metadata only the generator reads. Here `.openapi()` returns the schema
//   itself, which validates exactly as the copy would (same definition, same checks).
// - `getOpenApiMetadata` is read only when a router is mounted with recorded schema or parameter
//   definitions, and there are none here; the generators only by `getOpenAPIDocument()` and
//   `doc()`, which the worker never calls. All three refuse, naming the reason.
// The module's 7 KiB minified (2 KiB gzip) and the copies and wrappers made by every
// `.openapi()` call at module initialisation (each cold start) leave the worker. Unit tests run
// without the alias, so with the real module (and `npm run openapi` and
// test/node/openapi-document.test.ts generate the document with it); test/openapi-stub.test.ts
// tests this file, and the end-to-end suite, which calls every documented route, runs the
// aliased build.

const notBundled = (what: string): never => {
  throw new Error(
    `${what}: the OpenAPI generator and route metadata are not bundled in this worker; ` +
      '/openapi.json is made by `npm run openapi` (src/openapi/generator-stub.ts)',
  );
};

/** Records nothing: the worker's routers register their routes and components here. */
export class OpenAPIRegistry {
  /** Nothing recorded, so mounting a router copies nothing into its parent's registry. */
  get definitions(): never[] {
    return [];
  }
  register<T>(_refId: string, schema: T): T {
    return schema;
  }
  registerParameter<T>(_refId: string, schema: T): T {
    return schema;
  }
  registerPath(_route: unknown): void {}
  registerWebhook(_webhook: unknown): void {}
  registerComponent(type: string, name: string, _component: unknown) {
    return { name, ref: { $ref: `#/components/${type}/${name}` } };
  }
}

/** `.openapi(...)` on every zod schema returns the schema itself: the metadata is doc-only. */
export function extendZodWithOpenApi(zod: { ZodType: { prototype: object } }): void {
  const prototype = zod.ZodType.prototype as { openapi?: (this: unknown) => unknown };
  // As the real one: a second call leaves the first extension in place.
  prototype.openapi ??= function openapi(this: unknown) {
    return this;
  };
}

export function getOpenApiMetadata(_schema: unknown): never {
  return notBundled('getOpenApiMetadata');
}

class GeneratorNotBundled {
  constructor() {
    notBundled('The OpenAPI document generator');
  }
}
export {
  GeneratorNotBundled as OpenApiGeneratorV3,
  GeneratorNotBundled as OpenApiGeneratorV31,
  GeneratorNotBundled as OpenApiGeneratorV32,
};
