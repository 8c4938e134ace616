// Stands in for zod's JSON Schema converter (core/to-json-schema.js, core/json-schema-processors.js)
// in the worker's bundle (wrangler.toml [alias]). Every zod schema carries a `toJSONSchema()`
// method and a processor per type, so the converter stayed in the bundle although the worker
// never converts a schema: /openapi.json is made at build time (src/openapi/document.ts, whose
// generator does not use this converter either). 5 KiB gzip. `aggregateChecks`, which backs the
// schemas' public `minLength`, `maxLength` and `format` properties, is zod's own. Calling the
// converter here fails loudly; tests run without the alias.
export { aggregateChecks } from '../node_modules/zod/v4/core/json-schema-processors.js';

const unavailable = (): never => {
  throw new Error("zod's JSON Schema conversion is not bundled in this worker");
};
/** `schema.toJSONSchema` and `schema['~standard'].jsonSchema` are made eagerly, refuse when called. */
export const createToJSONSchemaMethod = () => unavailable;
export const createStandardJSONSchemaMethod = () => unavailable;
export const toJSONSchema = unavailable;
export const allProcessors = {};
export const initializeContext = unavailable;
export const handleUnrepresentable = unavailable;
export const processSchema = unavailable;
export const extractDefs = unavailable;
export const finalize = unavailable;
export { processSchema as process };
export const stringProcessor = unavailable;
export const numberProcessor = unavailable;
export const booleanProcessor = unavailable;
export const bigintProcessor = unavailable;
export const symbolProcessor = unavailable;
export const nullProcessor = unavailable;
export const undefinedProcessor = unavailable;
export const voidProcessor = unavailable;
export const neverProcessor = unavailable;
export const anyProcessor = unavailable;
export const unknownProcessor = unavailable;
export const dateProcessor = unavailable;
export const enumProcessor = unavailable;
export const literalProcessor = unavailable;
export const nanProcessor = unavailable;
export const templateLiteralProcessor = unavailable;
export const fileProcessor = unavailable;
export const successProcessor = unavailable;
export const customProcessor = unavailable;
export const functionProcessor = unavailable;
export const transformProcessor = unavailable;
export const mapProcessor = unavailable;
export const setProcessor = unavailable;
export const arrayProcessor = unavailable;
export const objectProcessor = unavailable;
export const unionProcessor = unavailable;
export const intersectionProcessor = unavailable;
export const tupleProcessor = unavailable;
export const recordProcessor = unavailable;
export const nullableProcessor = unavailable;
export const nonoptionalProcessor = unavailable;
export const defaultProcessor = unavailable;
export const prefaultProcessor = unavailable;
export const catchProcessor = unavailable;
export const pipeProcessor = unavailable;
export const readonlyProcessor = unavailable;
export const promiseProcessor = unavailable;
export const optionalProcessor = unavailable;
export const lazyProcessor = unavailable;
export const allProcessor = unavailable;
