#!/usr/bin/env node
// `npm run bench`: load-tests the worker on workerd (the bundle wrangler builds, served through
// Miniflare with the local D1, KV and asset router that `npm run dev` uses, but without wrangler
// dev's development proxy; BENCH_RUNTIME=wrangler-dev measures through it) from this separate Node
// process with autocannon on 127.0.0.1, and prints one table plus bench/results.json. Every
// figure is also given as a ratio to a baseline measured in the same run: the machine is shared
// and noisy, absolute numbers are not. bench/README.md explains the runtime, the rows, the targets
// and the findings; bench/lib/ holds the parts.
//
// What it runs, in order (all state under a fresh /tmp directory, removed at the end), each
// wrangler command in a snapshot of the tree copied there (the tree may be edited while the
// benchmark runs):
//   1. wrangler deploy --dry-run --env production --outdir <tmp>/bundle; packages/client bundled
//      and minified with esbuild (its size budget)
//   2. wrangler check startup --outfile <tmp>/startup-N.cpuprofile, 3 times
//   3. wrangler d1 migrations apply DB --local --persist-to <tmp>/state
//   4. four workers on free ports, each built with `wrangler deploy --dry-run --outdir` and served
//      by bench/lib/serve.mjs, with fresh keys (<tmp>/bench.env) and RATE_LIMIT_*=999999/60:
//      the worker on <tmp>/state; the same with LOG_LEVEL=warn (one row: the access log's cost);
//      bench/micro/ (the in-worker limits: PBKDF2, RS256, D1, KV); bench/bare/ (the bare-runtime
//      row, a constant JSON body served like the worker: the yardstick of issue 22's targets)
//   5. registers users and opens sessions, then measures every row with autocannon, bounded in
//      time: BENCH_ROUNDS interleaved slices of BENCH_DURATION / BENCH_ROUNDS seconds per row.
// Every process it starts runs in its own process group and is stopped by that id, also on failure.
//
// Environment: BENCH_DURATION (seconds per row, default 10), BENCH_ROUNDS (default 2),
// BENCH_CONNECTIONS (default 10), BENCH_LOG_LEVEL (the worker's LOG_LEVEL; default its own,
// info), BENCH_RUNTIME (workerd, the default, or wrangler-dev), BENCH_STRICT=1 (exit 1 when a
// target is missed).
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleSize } from './lib/bundle-size.mjs';
import { clientSize } from './lib/client-size.mjs';
import { legacyRows, legacyVerifyCosts } from './lib/legacy-verify.mjs';
import { log } from './lib/log.mjs';
import { measure } from './lib/measure.mjs';
import {
  envObjectStable,
  hotPathCosts,
  inWorkerLimits,
  pbkdf2Limit,
  pbkdf2Once,
} from './lib/micro-client.mjs';
import { runWrangler, stopAll } from './lib/processes.mjs';
import { addPageRatios, addRatios, limitRows, loginParts } from './lib/ratios.mjs';
import { checkChains, newChains } from './lib/refresh-chains.mjs';
import { shardTargets } from './lib/shard-targets.mjs';
import { reportText, writeResults } from './lib/report.mjs';
import {
  jwksEtag,
  loginRows,
  prepareUsers,
  routeRows,
  shardRows,
  signInForm,
} from './lib/scenarios.mjs';
import { RESULTS, ROOT, ROUNDS } from './lib/settings.mjs';
import { startupTime } from './lib/startup-time.mjs';
import { targets } from './lib/targets.mjs';
import { startWorkers, writeEnvFile } from './lib/workers.mjs';
import { TREE, snapshot, tmp } from './lib/workspace.mjs';

async function main() {
  const wallStarted = performance.now();
  log(`state and logs in ${tmp}`);
  snapshot(TREE);
  log(`measuring a snapshot of the tree taken ${new Date().toISOString()}`);
  const envFile = await writeEnvFile();

  log('bundle: wrangler deploy --dry-run --env production --outdir');
  const bundle = bundleSize();
  log('client: packages/client bundled and minified with esbuild');
  const client = await clientSize();
  log('startup: wrangler check startup (3 runs)');
  const startup = startupTime();

  const state = join(tmp, 'state');
  log('migrations: wrangler d1 migrations apply DB --local');
  runWrangler(['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', state], 'migrations');
  // The second session shard (docs/sharding.md): half the bench's users sign in there.
  runWrangler(
    ['d1', 'migrations', 'apply', 'SESSIONS_1', '--local', '--persist-to', state],
    'migrations (session shard 1)',
  );

  const { base, quietBase, microBase, bareBase, readyMs } = await startWorkers(envFile, state);
  const envStable = await envObjectStable(microBase);
  const { users, sessions } = await prepareUsers(base);
  const etag = await jwksEtag(base);
  const form = await signInForm(base);
  const chains = newChains(sessions);
  const rows = await measure(routeRows({ base, quietBase, bareBase, sessions, chains, etag }));
  const refreshChains = await checkChains(base, chains);
  // The session shards' own rows (docs/sharding.md), on sessions of their own.
  const sharded = shardRows({ base, ...(await usersOnBothShards(base)) });
  Object.assign(rows, await measure(sharded.rows));
  const shardChains = await checkChains(base, sharded.chains);

  // The in-worker limits. PBKDF2 is measured again before each login round and after the last,
  // so the login ratio compares figures taken minutes, not seconds, apart.
  const limits = await inWorkerLimits(microBase);
  const diagnostics = await hotPathCosts(microBase, envStable);
  const pbkdf2Runs = [];
  Object.assign(
    rows,
    await measure(loginRows({ base, users, form }), {
      // Twice the rounds, and PBKDF2 before each: the ratio compares figures seconds apart.
      rounds: 2 * ROUNDS,
      beforeRound: async () => pbkdf2Runs.push(await pbkdf2Once(microBase)),
    }),
  );
  pbkdf2Runs.push(await pbkdf2Once(microBase));
  limits.pbkdf2 = pbkdf2Limit(pbkdf2Runs);
  log(
    'legacy verify: imported hashes at their first sign-in (README "Bringing existing users in")',
  );
  const legacyVerify = await legacyVerifyCosts(microBase);
  await stopAll();

  addRatios(rows, limits);
  addPageRatios(rows, limits);
  const run = {
    ordered: [
      rows.bare,
      rows.live,
      rows.liveQuiet,
      rows.live1,
      rows.ready,
      rows.me,
      rows.jwks200,
      rows.jwks304,
      rows.refresh,
      rows.refresh1,
      rows.refreshShard0,
      rows.refreshShard1,
      rows.loginShard0,
      rows.loginShard1,
      rows.login1,
      rows.login8,
      rows.signInPage,
      rows.signInPage1,
      rows.signInPost1,
      ...limitRows(limits),
      ...legacyRows(legacyVerify, limits.pbkdf2),
    ],
    rows,
    limits,
    diagnostics,
    legacyVerify,
    loginParts: loginParts(rows, limits),
    refreshChains,
    bundle,
    client,
    startup,
    readyMs,
    shardChains,
    targets: [
      ...targets(rows, refreshChains, bundle, client, limits),
      ...shardTargets(rows, shardChains),
    ],
  };
  process.stdout.write(reportText(run));
  writeResults(run, (performance.now() - wallStarted) / 1000);
  log(`wrote ${RESULTS} in ${((performance.now() - wallStarted) / 1000).toFixed(0)} s`);
  if (process.env.BENCH_STRICT === '1' && run.targets.some((t) => !t.met)) process.exitCode = 1;
}

// `--geo` / `--capacity`: the latency model and D1's write rate alone (bench/lib/geo.mjs).
async function geoMain() {
  const { geo } = await import('./lib/geo.mjs');
  const result = await geo({ withCapacity: process.argv.includes('--capacity') });
  const lines = [
    '',
    '## Geo: a client far from the primary (bench/README.md, "Geo")',
    '',
    result.table,
    '',
  ];
  for (const c of result.capacity) {
    lines.push(
      `D1 local write rate, ${c.size}-statement batches: ${c.batchesPerSecond.toFixed(0)}/s (${c.msPerBatch.toFixed(2)} ms each)`,
    );
  }
  lines.push('', '| target | measured | met |', '|---|--:|:-:|');
  for (const t of result.targets)
    lines.push(`| ${t.target} | ${t.measured} | ${t.met ? 'yes' : 'NO'} |`);
  process.stdout.write(`${lines.join('\n')}\n`);
  writeFileSync(join(ROOT, 'bench/geo-results.json'), `${JSON.stringify(result, null, 2)}\n`);
  if (process.env.BENCH_STRICT === '1' && result.targets.some((t) => !t.met)) process.exitCode = 1;
}

const GEO = process.argv.includes('--geo') || process.argv.includes('--capacity');

try {
  await (GEO ? geoMain() : main());
  await stopAll();
  rmSync(tmp, { recursive: true, force: true });
} catch (err) {
  process.stderr.write(`[bench] failed: ${err instanceof Error ? err.stack : err}\n`);
  await stopAll();
  process.stderr.write(`[bench] logs and state kept in ${tmp}\n`);
  process.exitCode = 1;
}

/**
 * Users for the shard rows: 8 users hash onto both of two shards but for 2 runs in 256, so a
 * run that drew one shard only registers another set (each set's users are new).
 */
async function usersOnBothShards(base) {
  for (let attempt = 0; ; attempt++) {
    const prepared = await prepareUsers(base);
    const onShard1 = prepared.sessions.filter((s) => s.session_id.startsWith('1.')).length;
    if ((onShard1 > 0 && onShard1 < prepared.sessions.length) || attempt === 4) return prepared;
  }
}
