// Stands in for the module "zod" in the worker's bundle (wrangler.toml [alias]). Everything zod
// exports is here, from the same files, except the namespace object `z`: a module that hands `z`
// around as a value makes the bundler keep all of zod, since anything could be read from it.
// @hono/zod-openapi does so once, to add `.openapi()` to ZodType (extendZodWithOpenApi reads only
// `z.ZodType`), which kept 14 KiB gzip of zod no route uses. Our code therefore imports
// `* as z from 'zod'` (only what it names is bundled; test/node/zod-imports.test.ts keeps it so),
// and `z` here has just ZodType; reading anything else from it fails loudly.
import { ZodType } from 'zod/v4';

export * from 'zod/v4';

const only = { ZodType };
export const z = new Proxy(only, {
  get(target, key) {
    if (typeof key !== 'string' || key in target) return target[key as keyof typeof target];
    throw new Error(`z.${key}: import * as z from 'zod' (src/zod-namespace-stub.ts)`);
  },
});
export default z;
