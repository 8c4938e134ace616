#!/usr/bin/env node
// Serves a worker bundle on workerd through Miniflare, without `wrangler dev` around it (the
// bench's default runtime, bench/README.md "Runtime"). Run as its own process by workers.mjs:
//
//   node bench/lib/serve.mjs <options.json>
//   { "config": wrangler.toml, "bundle": dir of `wrangler deploy --dry-run --outdir`,
//     "envFile": secrets, "persist": the --persist-to of `wrangler d1 migrations apply`,
//     "port": n, "vars": { NAME: value, ... } }
//
// The bindings (vars, D1, KV, static assets) are the ones wrangler itself derives from the
// config for Miniflare, so the worker sees what `wrangler dev` would give it; what is left out is
// wrangler dev's proxy worker, a second workerd process every request crosses in development only.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Miniflare } from 'miniflare';
import { unstable_getMiniflareWorkerOptions } from 'wrangler';

const options = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const { workerOptions } = unstable_getMiniflareWorkerOptions(options.config, undefined, {
  envFiles: [options.envFile],
});
const mf = new Miniflare({
  ...workerOptions,
  modules: true,
  modulesRoot: options.bundle,
  // The one module wrangler wrote, named after the config's `main` (index.js, worker.js).
  scriptPath: join(
    options.bundle,
    readdirSync(options.bundle).find((f) => /\.m?js$/.test(f)),
  ),
  bindings: { ...workerOptions.bindings, ...options.vars },
  // Where `wrangler d1 migrations apply --persist-to <dir>` and `wrangler dev` keep local state.
  defaultPersistRoot: join(options.persist, 'v3'),
  host: '127.0.0.1',
  port: options.port,
  // workerd's console output, passed on as bytes to this process's log file. Miniflare's default
  // splits it into lines and writes each with console.log again: a second JSON line of work per
  // request in this Node process, on the same cores as the worker, which production's log
  // pipeline does not cost the worker (bench/README.md, "Request floor").
  handleRuntimeStdio: (stdout, stderr) => {
    stdout.pipe(process.stdout);
    stderr.pipe(process.stderr);
  },
});
const url = await mf.ready;
process.stdout.write(`serving ${url.href}\n`);

const stop = async () => {
  await mf.dispose();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
