// Stands in for @asteasolutions/zod-to-openapi in the worker's bundle (wrangler.toml [alias]):
// the registry and the `.openapi()` schema extension that @hono/zod-openapi uses at run time
// come from the real module; its document generators, which only `npm run openapi` runs
// (src/openapi/document.ts), do not, and refuse to run here. Unit tests run without the alias.
export {
  OpenAPIRegistry,
  extendZodWithOpenApi,
  getOpenApiMetadata,
  getRefId,
  zodToOpenAPIRegistry,
} from '@asteasolutions/zod-to-openapi/dist/index.mjs';

class GeneratorNotBundled {
  constructor() {
    throw new Error(
      'The OpenAPI generator is not bundled in this worker: /openapi.json is made by `npm run openapi`',
    );
  }
}
export {
  GeneratorNotBundled as OpenApiGeneratorV3,
  GeneratorNotBundled as OpenApiGeneratorV31,
  GeneratorNotBundled as OpenApiGeneratorV32,
};
