export function importRoutes(options: {
  docs: boolean;
}): Promise<typeof import('../src/openapi/generate.ts')>;
export function generatedDocument(): Promise<string>;
