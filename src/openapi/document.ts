// /openapi.json is made at build time, not per request: `npm run openapi` runs the generator
// (@asteasolutions/zod-to-openapi, over the routes every router registers) in Node and writes
// public/openapi/document.json, a static asset; the worker reads it once per isolate through the
// ASSETS binding and serves it with `servers` set to its ISSUER. So the bundle carries neither
// the generator (wrangler.toml [alias]), nor the routes' documentation (src/openapi/docs-flag.d.ts)
// nor the document (6 KiB gzip of data), and a request for it runs no generator.
// test/node/openapi-document.test.ts checks that the stored file is byte for byte what the
// generator makes from the routes (a route changed without `npm run openapi` fails it, and
// `npm run deploy` refuses a stale file), test/openapi-document.test.ts that the worker serves it.
import type { OpenAPIHono } from '@hono/zod-openapi';

/** Where `npm run openapi` writes the document, under public/ (the ASSETS binding's root). */
export const DOCUMENT_ASSET = '/openapi/document.json';

/** The generator's input besides the routes: the same in the build script and the test. */
export function documentConfig(issuer: string): Parameters<OpenAPIHono['getOpenAPI31Document']>[0] {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Edge auth worker',
      version: '1.0.0',
      description: 'Accounts, sessions and RS256 access tokens at the edge. Contract: API.md.',
    },
    servers: [{ url: issuer }],
  };
}

let stored: Promise<Record<string, unknown>> | undefined;

async function read(assets: Fetcher): Promise<Record<string, unknown>> {
  const res = await assets.fetch(`https://assets.invalid${DOCUMENT_ASSET}`);
  if (!res.ok) throw new Error(`${DOCUMENT_ASSET}: ${res.status} (run \`npm run openapi\`)`);
  return res.json();
}

/** The document as the generator makes it for this issuer: the same keys in the same order. */
export async function openApiDocument(assets: Fetcher, issuer: string) {
  // The file is part of the deploy: read once per isolate; a failed read is tried again.
  stored ??= read(assets).catch((err: unknown) => {
    stored = undefined;
    throw err;
  });
  return { ...documentConfig(issuer), ...(await stored) };
}
