// The bare-runtime row of `npm run bench` (issue 22): the least a worker can do, answering a
// constant JSON body like `GET /health/live` does. bench/lib/workers.mjs builds and serves it
// exactly like the worker (wrangler's bundle, bench/lib/serve.mjs, the same compatibility date
// and the same static-assets layer, copied from the top-level wrangler.toml), so its throughput
// is the runtime's own: the yardstick of the request floor's targets (bench/README.md).
const BODY = '{"status":"ok"}';

export default {
  fetch: () => new Response(BODY, { headers: { 'content-type': 'application/json' } }),
} satisfies ExportedHandler;
