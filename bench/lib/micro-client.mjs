// The client of bench/micro/: in workerd Date.now() only advances on I/O, so the micro worker
// cannot time itself. This times n = lo and n = hi operations in one request and takes the slope,
// which cancels HTTP and request overhead.
import { log } from './log.mjs';
import { median } from './median.mjs';

async function timeGet(url) {
  const started = performance.now();
  const res = await fetch(url);
  const text = await res.text();
  if (!res.ok) throw new Error(`${url}: ${res.status} ${text}`);
  return performance.now() - started;
}

/** Per-operation time from the slope between n = lo and n = hi, medians of `reps` each. */
export async function perOperation(base, op, lo, hi, reps = 5) {
  await timeGet(`${base}/${op}?n=${lo}`);
  await timeGet(`${base}/${op}?n=${hi}`);
  const low = [];
  const high = [];
  for (let i = 0; i < reps; i++) {
    low.push(await timeGet(`${base}/${op}?n=${lo}`));
    high.push(await timeGet(`${base}/${op}?n=${hi}`));
  }
  const ms = (median(high) - median(low)) / (hi - lo);
  // The fastest repetitions: what the operation costs when nothing else wants the CPU.
  const minMs = (Math.min(...high) - Math.min(...low)) / (hi - lo);
  log(`micro ${op}: ${ms.toFixed(3)} ms per operation`);
  return { op, ms, minMs, opsPerSecond: 1000 / ms, lo, hi, reps };
}

/** Whether the worker sees the same `env` object on consecutive requests (config cache). */
export async function envObjectStable(base) {
  await timeGet(`${base}/env`);
  const res = await fetch(`${base}/env`);
  return (await res.json()).sameEnvAsPreviousRequest;
}

/** The in-worker limits the routes are compared to, PBKDF2 apart. */
export async function inWorkerLimits(base) {
  return {
    sign: await perOperation(base, 'sign', 1, 201),
    verify: await perOperation(base, 'verify', 1, 3001),
    d1Read: await perOperation(base, 'd1-read', 1, 101),
    d1Write: await perOperation(base, 'd1-write', 1, 51),
    kvRead: await perOperation(base, 'kv-read', 1, 201),
    // Not a limit of another route: the sign-in page's own CPU (README "Pages", issue target).
    signInPage: await perOperation(base, 'sign-in-page', 1, 501),
  };
}

/** Per-request CPU on the hot path, each alone (results.json and bench/README.md). */
export async function hotPathCosts(base, envStable) {
  return {
    envObjectStableAcrossRequests: envStable,
    accessLogLine: await perOperation(base, 'log', 1, 1001),
    requestFloor: await perOperation(base, 'floor', 1, 501),
    configParseOnCacheMiss: await perOperation(base, 'config-parse', 1, 201),
    drizzleInstance: await perOperation(base, 'drizzle', 1, 2001),
    keyRingLookup: await perOperation(base, 'keyring', 1, 5001),
    deadlineTimer: await perOperation(base, 'timer', 1, 5001),
  };
}

/** One PBKDF2 hash, as login computes it. */
export const pbkdf2Once = (base) => perOperation(base, 'pbkdf2', 1, 6, 3);

/** The PBKDF2 limit from several measurements: the median, and the fastest of all. */
export function pbkdf2Limit(runs) {
  const limit = {
    ...runs[0],
    ms: median(runs.map((m) => m.ms)),
    minMs: Math.min(...runs.map((m) => m.minMs)),
    runs: runs.map((m) => m.ms),
  };
  limit.opsPerSecond = 1000 / limit.ms;
  return limit;
}
