// Stands in for two zod modules no code of ours reaches (wrangler.toml [alias]): the schema
// compiler (`z.compile` generates code with `new Function`, which Workers forbid anyway) and
// the JSON Schema importer (`z.fromJSONSchema`). Both are re-exported by zod's namespace and so
// survived tree-shaking. The names zod re-exports stay, each refusing to run.
const unavailable = (what: string) => (): never => {
  throw new Error(`zod ${what} is not bundled in this worker`);
};
export const INVALID = Symbol.for('zod.compile.invalid');
export class ZodCompileAsyncError extends Error {}
export class ZodCompileUnsupportedError extends Error {}
export const compile = unavailable('compile');
export const compileFn = unavailable('compile');
export const withParser = unavailable('withParser');
export const fromJSONSchema = unavailable('fromJSONSchema');
