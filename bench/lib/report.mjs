// What a run prints (the table, then one line per finding and the targets) and what it writes
// to bench/results.json.
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { devRestarts } from './dev-restarts.mjs';
import {
  CHAINS,
  CONNECTIONS,
  DURATION,
  LOG_LEVEL,
  RESULTS,
  ROUNDS,
  RUNTIME,
  USERS,
  WARMUP,
  miniflareVersion,
  wranglerVersion,
} from './settings.mjs';
import { table } from './table.mjs';

const us = (m) => `${(m.ms * 1000).toFixed(0)} µs`;

const runtime = () =>
  RUNTIME === 'wrangler-dev'
    ? `wrangler dev ${wranglerVersion()} (its proxy worker, then workerd via miniflare)`
    : `workerd via miniflare ${miniflareVersion()} (the bundle of wrangler ${wranglerVersion()}, no wrangler dev proxy)`;

/** The report on stdout; `r` holds every figure of the run (see `writeResults`). */
export function reportText(r) {
  const { rows, limits, diagnostics, loginParts, refreshChains: chains } = r;
  const { bundle, client, startup } = r;
  const { login1, login8, signInPage1, signInPost1 } = rows;
  const envStable = diagnostics.envObjectStableAcrossRequests;
  return [
    '',
    `${runtime()}, local D1 and KV, LOG_LEVEL=${LOG_LEVEL ?? 'info (wrangler.toml)'};` +
      ` ${cpus().length} CPUs; autocannon from this process, ${DURATION} s per row in ${ROUNDS} interleaved` +
      ` slices after ${WARMUP} s warm-up`,
    '',
    table(r.ordered),
    '',
    `refresh chains: ${chains.broken}/${CHAINS} broken after ${chains.rotations} rotations` +
      ` (${chains.retriedAfterSliceEnd} responses cut off at slice ends, retried within the grace window)`,
    `login c=1, fastest against fastest (noise-free cross-check): ${login1.minMs.toFixed(1)} ms /` +
      ` ${limits.pbkdf2.minMs.toFixed(1)} ms = ${login1.vsLimitFastestRatio.toFixed(2)}x one PBKDF2 hash;` +
      ` PBKDF2 per measurement: ${limits.pbkdf2.runs.map((x) => x.toFixed(1)).join(', ')} ms`,
    `login: c=1 reaches ${(login1.pbkdf2Utilisation * 100).toFixed(0)}% and c=8 ${(login8.pbkdf2Utilisation * 100).toFixed(0)}%` +
      ` of one isolate's PBKDF2 capacity (req/s x hash time)`,
    `bundle (wrangler deploy --dry-run --env production): ${bundle.rawKiB.toFixed(1)} KiB raw,` +
      ` ${bundle.gzipKiB.toFixed(1)} KiB gzip`,
    `@edge-auth/client (esbuild --bundle --minify, ESM): ${client.rawKiB.toFixed(2)} KiB raw,` +
      ` ${client.gzipKiB.toFixed(2)} KiB gzip`,
    `startup (wrangler check startup, median of ${startup.runs}): ${startup.cpuMs.toFixed(0)} ms CPU` +
      ` in a ${startup.profileSpanMs.toFixed(0)} ms profile; the worker served its first request` +
      ` ${(r.readyMs / 1000).toFixed(1)} s after spawn`,
    `the worker's own CPU for GET /health/live (in-worker, every middleware and the access-log line):` +
      ` ${us(diagnostics.requestFloor)}`,
    `per request, alone: access-log line ${us(diagnostics.accessLogLine)}, drizzle instance` +
      ` ${us(diagnostics.drizzleInstance)}, config parse on a cache miss ${us(diagnostics.configParseOnCacheMiss)}` +
      ` (env object stable across requests: ${envStable}), key-ring lookup ${us(diagnostics.keyRingLookup)},` +
      ` storage deadline timer ${us(diagnostics.deadlineTimer)}`,
    `login c=1 p50 ${loginParts.measuredMs.toFixed(1)} ms = request floor (GET /health/live c=1)` +
      ` ${loginParts.floorMs.toFixed(1)} + PBKDF2 ${loginParts.pbkdf2Ms.toFixed(1)} + 2 D1 write batches` +
      ` ${loginParts.d1WritesMs.toFixed(1)} + RS256 sign` +
      ` ${loginParts.signMs.toFixed(1)} + the rest ${loginParts.restMs.toFixed(1)} ms`,
    `sign-in page: GET c=1 p50 ${signInPage1.p50Ms.toFixed(2)} ms = request floor` +
      ` ${rows.live1.p50Ms.toFixed(2)} ${signInPage1.overFloorMs < 0 ? '-' : '+'} ${Math.abs(signInPage1.overFloorMs).toFixed(2)} ms (no storage call;` +
      ` the handler alone ${us(limits.signInPage)} in-worker); POST c=1 p50 ${signInPost1.p50Ms.toFixed(1)} ms` +
      ` = ${signInPost1.vsLogin.toFixed(2)}x POST /auth/login c=1 = floor + PBKDF2 + 2 D1 write batches` +
      ` + the rest ${signInPost1.restMs.toFixed(1)} ms; fastest against the fastest hash` +
      ` ${signInPost1.vsLimitFastestRatio.toFixed(2)}x (login ${login1.vsLimitFastestRatio.toFixed(2)}x)`,
    '',
    ...(devRestarts.hits
      ? [
          `WARNING: ${devRestarts.hits} requests were cut by wrangler dev restarting the worker (a file it` +
            ' watches changed); they count as errors above and were sent again',
        ]
      : []),
    'legacy verify, an imported hash at its first sign-in (then one PBKDF2 hash more):',
    ...Object.values(r.legacyVerify).map(
      (m) =>
        `  ${m.label}: ${m.ms.toFixed(0)} ms = ${(m.ms / limits.pbkdf2.ms).toFixed(1)}x one PBKDF2 hash`,
    ),
    '',
    'targets (ratios from this run):',
    ...r.targets.map((t) => `  ${t.met ? 'met   ' : 'MISSED'}  ${t.target}: ${t.measured}`),
    '  storage calls per route: npx vitest run test/storage-calls.test.ts',
    '',
  ].join('\n');
}

/** bench/results.json: every figure of the run and its settings. */
export function writeResults(r, wallSeconds) {
  const results = {
    date: new Date().toISOString(),
    runtime: `${runtime()}, local D1 and KV`,
    logLevel: LOG_LEVEL ?? 'info (wrangler.toml)',
    machine: { cpus: cpus().length, node: process.version },
    settings: {
      durationSeconds: DURATION,
      warmupSeconds: WARMUP,
      rounds: ROUNDS,
      connections: CONNECTIONS,
      users: USERS,
      chains: CHAINS,
    },
    rows: r.ordered,
    limits: r.limits,
    diagnostics: r.diagnostics,
    legacyVerify: r.legacyVerify,
    loginParts: r.loginParts,
    refreshChains: r.refreshChains,
    devRestartHits: devRestarts.hits,
    bundle: r.bundle,
    client: r.client,
    startup: { ...r.startup, firstResponseAfterSpawnMs: r.readyMs },
    targets: r.targets,
    wallSeconds,
  };
  writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
}
