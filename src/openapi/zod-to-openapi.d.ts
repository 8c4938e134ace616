// The package's ES module by its file path (src/openapi/generator-stub.ts): the same exports.
declare module '@asteasolutions/zod-to-openapi/dist/index.mjs' {
  export * from '@asteasolutions/zod-to-openapi';
}
