// Every figure against another of the same run: throughput against the yardsticks, latency
// against the in-worker limit of the route.
import { LOGIN_CONNECTIONS } from './settings.mjs';

/** Adds vsBare, vsLive, vsReady and, for refresh and login, vsLimit to the measured rows. */
export function addRatios(rows, limits) {
  for (const row of Object.values(rows)) {
    row.vsBare = row.rps / rows.bare.rps;
    row.vsLive = row.rps / rows.live.rps;
    row.vsReady = row.rps / rows.ready.rps;
  }
  for (const key of ['refresh', 'refresh1']) {
    rows[key].vsLimitRatio = rows[key].p50Ms / limits.sign.ms;
    rows[key].vsLimit = `${rows[key].vsLimitRatio.toFixed(1)}× sign`;
  }
  for (const c of LOGIN_CONNECTIONS) {
    const row = rows[`login${c}`];
    row.vsLimitRatio = row.p50Ms / limits.pbkdf2.ms;
    // Noise-free cross-check: the fastest login against the fastest hash.
    row.vsLimitFastestRatio = row.minMs / limits.pbkdf2.minMs;
    row.vsLimit = `${row.vsLimitRatio.toFixed(2)}× PBKDF2`;
    // Share of one isolate's PBKDF2 capacity the route reaches (1.0 = nothing but hashing).
    row.pbkdf2Utilisation = (row.rps * limits.pbkdf2.ms) / 1000;
  }
}

/**
 * The sign-in page against the same run's figures: GET /sign-in (no storage call) over the bare
 * request floor, and the form post against POST /auth/login, which does the same storage work
 * and hash and also signs an access token.
 */
export function addPageRatios(rows, limits) {
  const get = rows.signInPage1;
  get.overFloorMs = get.p50Ms - rows.live1.p50Ms;
  get.vsLimit = `${get.overFloorMs < 0 ? '−' : '+'}${Math.abs(get.overFloorMs).toFixed(2)} ms live`;
  const post = rows.signInPost1;
  post.vsLimitRatio = post.p50Ms / limits.pbkdf2.ms;
  post.vsLimit = `${post.vsLimitRatio.toFixed(2)}× PBKDF2`;
  post.vsLimitFastestRatio = post.minMs / limits.pbkdf2.minMs;
  post.vsLogin = post.p50Ms / rows.login1.p50Ms;
  post.restMs = post.p50Ms - rows.live1.p50Ms - limits.pbkdf2.ms - 2 * limits.d1Write.ms;
}

/**
 * What one login at c=1 is made of, from figures of this run (bench/README.md, "Login"). The
 * rate limiter reads its KV counter once a second, so the median login makes no KV call.
 */
export function loginParts(rows, limits) {
  const parts = {
    measuredMs: rows.login1.p50Ms,
    floorMs: rows.live1.p50Ms,
    pbkdf2Ms: limits.pbkdf2.ms,
    d1WritesMs: 2 * limits.d1Write.ms,
    signMs: limits.sign.ms,
  };
  parts.restMs =
    parts.measuredMs - parts.floorMs - parts.pbkdf2Ms - parts.d1WritesMs - parts.signMs;
  return parts;
}

/** The in-worker limits as rows of the table. */
export function limitRows(limits) {
  return [
    ['one PBKDF2 hash (in-worker)', limits.pbkdf2],
    ['one RS256 sign (in-worker)', limits.sign],
    ['one RS256 verify (in-worker)', limits.verify],
    ['one D1 read round trip (in-worker)', limits.d1Read],
    ['one D1 write batch (in-worker)', limits.d1Write],
    ['one KV read (in-worker)', limits.kvRead],
    ['GET /sign-in handler (in-worker)', limits.signInPage, 'page CPU'],
  ].map(([name, m, label = 'limit']) => ({
    name,
    connections: 1,
    rps: m.opsPerSecond,
    p50Ms: m.ms,
    p99Ms: null,
    errors: 0,
    vsBare: null,
    vsLive: null,
    vsReady: null,
    vsLimit: label,
  }));
}
