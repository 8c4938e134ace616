#!/usr/bin/env node
// `npm run openapi`: writes public/openapi/document.json, the OpenAPI document /openapi.json serves
// (src/openapi/document.ts) with `servers` set to the deploy's ISSUER. The generator runs here, at build time, over the worker's own
// routes: esbuild bundles src/index.ts without wrangler.toml's [alias] (so with the real
// generator) and with the routes' documentation (`__OPENAPI_DOCS__`, false in the worker:
// src/openapi/docs-flag.d.ts) into memory, and Node imports it. `npm run openapi -- --check` only
// compares, and fails when the file is stale; test/node/openapi-document.test.ts checks the same.
import { build } from 'esbuild';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';

const root = fileURLToPath(new URL('..', import.meta.url));
const target = `${root}public/openapi/document.json`;

/**
 * The worker's routes in Node (src/openapi/generate.ts), with or without their documentation: the
 * document is made from the first, the worker runs the second.
 */
export async function importRoutes({ docs }) {
  const { outputFiles } = await build({
    entryPoints: [`${root}src/openapi/generate.ts`],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    // The worker's own module choices (as wrangler resolves them); Node's crypto where asked.
    conditions: ['workerd', 'worker', 'browser'],
    external: ['crypto', 'node:*'],
    logLevel: 'silent',
    define: { __OPENAPI_DOCS__: String(docs) },
    // The routes never read the runtime's env while they are defined; only the session shards'
    // binding lookup imports it (src/shards), so an empty one stands in for it here.
    plugins: [
      {
        name: 'cloudflare-workers-env',
        setup(b) {
          b.onResolve({ filter: /^cloudflare:workers$/ }, () => ({
            path: 'env',
            namespace: 'cloudflare-workers',
          }));
          b.onLoad({ filter: /.*/, namespace: 'cloudflare-workers' }, () => ({
            contents: 'export const env = {};',
            loader: 'js',
          }));
        },
      },
    ],
  });
  const code = Buffer.from(outputFiles[0].contents).toString('base64');
  return import(`data:text/javascript;base64,${code}`);
}

/** The generated document (without the per-deploy `servers`), as the file stores it. */
export async function generatedDocument() {
  const { generate } = await importRoutes({ docs: true });
  const text = JSON.stringify(generate());
  return prettier.format(text, { ...(await prettier.resolveConfig(target)), parser: 'json' });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const text = await generatedDocument();
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {}
  if (process.argv.includes('--check')) {
    if (current !== text) {
      console.error('public/openapi/document.json is stale: run `npm run openapi`.');
      process.exit(1);
    }
    console.log('public/openapi/document.json is up to date.');
  } else if (current === text) {
    console.log('public/openapi/document.json is up to date.');
  } else {
    writeFileSync(target, text);
    console.log('wrote public/openapi/document.json');
  }
}
