/**
 * Whether route definitions keep their documentation (tags, summaries, descriptions, security,
 * responses and their schemas): a constant replaced at build time. `npm run openapi` builds the
 * routes with it true and generates /openapi.json from them; the worker (wrangler.toml [define],
 * every environment) and the unit tests, which run what the worker runs, have it false, and the
 * minifier drops every `...(__OPENAPI_DOCS__ && { ... })` block: data only the generator reads.
 * Routing, middleware and validation stay outside the block (test/node/openapi-document.test.ts).
 *
 * Typed `true` so that each route's type is the documented one: `c.json()` in a handler is
 * checked against the route's `responses` whatever the build.
 */
declare const __OPENAPI_DOCS__: true;
