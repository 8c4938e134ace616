// The fixed figures of a run and the BENCH_* environment (bench/README.md, "Settings").
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { offlineEnv } from '../../scripts/lib/keys.mjs';

export const ROOT = new URL('../..', import.meta.url).pathname;
export const WRANGLER = join(ROOT, 'node_modules/wrangler/bin/wrangler.js');
export const RESULTS = join(ROOT, 'bench/results.json');
export const MICRO_CONFIG = 'bench/micro/wrangler.toml';
export const BARE_CONFIG = 'bench/bare/wrangler.toml';

export const DURATION = Number(process.env.BENCH_DURATION ?? 10);
export const WARMUP = 1;
export const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
export const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
export const LOGIN_CONNECTIONS = [1, 8];
export const USERS = 8;
export const CHAINS = 40;
export const PASSWORD = 'bench passphrase for load tests';
// Unset: the worker's own default (wrangler.toml, `info`: one access-log line per request).
export const LOG_LEVEL = process.env.BENCH_LOG_LEVEL || undefined;
// How the workers are served: `workerd` (Miniflare running wrangler's bundle, the default) or
// `wrangler-dev` (what `npm run dev` serves, with its development proxy in front).
export const RUNTIME = process.env.BENCH_RUNTIME || 'workerd';
if (!['workerd', 'wrangler-dev'].includes(RUNTIME)) {
  throw new Error(`BENCH_RUNTIME must be workerd or wrangler-dev, not ${RUNTIME}`);
}

/** The environment of every wrangler process: no network calls of its own, no telemetry. */
export const wranglerEnv = { ...process.env, ...offlineEnv, CI: 'true' };

const version = (name) =>
  JSON.parse(readFileSync(join(ROOT, `node_modules/${name}/package.json`), 'utf8')).version;
export const wranglerVersion = () => version('wrangler');
export const miniflareVersion = () => version('miniflare');
