// Entry of `npm run openapi` (scripts/openapi.mjs), bundled without wrangler.toml's [alias]:
// the worker's routes through the real generator. `servers` is set per deploy, at serving time.
import { app } from '../index';
import { documentConfig } from './document';

/** For test/node/openapi-document.test.ts: the routes as built with and without their docs. */
export { app };

export function generate() {
  const { openapi, info, servers, ...generated } = app.getOpenAPI31Document(documentConfig(''));
  return generated;
}
