// Entry of `npm run openapi` (scripts/openapi.mjs), bundled without wrangler.toml's [alias]:
// the worker's routes through the real generator. `servers` is set per deploy, at serving time.
import { app } from '../index';
import { documentConfig } from './document';

export function generate() {
  const { openapi, info, servers, ...generated } = app.getOpenAPI31Document(documentConfig(''));
  return generated;
}
