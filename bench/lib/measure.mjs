// Rows of the table measured with autocannon: bounded in time, in interleaved slices.
import autocannon from 'autocannon';
import { log } from './log.mjs';
import { CONNECTIONS, DURATION, ROUNDS, WARMUP } from './settings.mjs';

/**
 * A row of the table: a name, the worker it targets and its spec: `path`, `method`, `headers`,
 * `connections`, `expect` (the status every response should have, 200 unless given),
 * `setupClient` (connections => autocannon's setupClient) and `afterSlice`.
 */
export function row(key, name, base, spec) {
  return { key, name, base, spec, slices: [], latencies: [] };
}

/** Each autocannon connection gets its own item (header or body), round-robin over `items`. */
export function perClient(items, apply) {
  return () => {
    let next = 0;
    return (client) => apply(client, items[next++ % items.length]);
  };
}

/**
 * Rows are measured in turns: ROUNDS rounds of DURATION / ROUNDS seconds each (after one warm-up
 * slice per row), so a slow drift of the shared machine's load hits every row alike and the
 * ratios between rows stay fair. `beforeRound` runs before each round.
 */
export async function measure(rows, { beforeRound, rounds = ROUNDS } = {}) {
  for (let round = 0; round < rounds; round++) {
    await beforeRound?.(round);
    for (const r of rows) {
      if (round === 0) await slice(r, WARMUP, { keep: false });
      r.slices.push(await slice(r, DURATION / rounds));
    }
  }
  return Object.fromEntries(rows.map((r) => [r.key, summarise(r)]));
}

/**
 * One bounded autocannon run of a row. autocannon's own percentiles come from a histogram of
 * whole milliseconds, too coarse for a 1 ms request or a ratio near 1.2: the latency of every
 * expected response is kept as measured (fractional ms) instead, unless this is the warm-up.
 */
async function slice(r, duration, { keep = true } = {}) {
  const { path, method = 'GET', headers, setupClient } = r.spec;
  const connections = r.spec.connections ?? CONNECTIONS;
  const expect = r.spec.expect ?? 200;
  const instance = autocannon({
    url: `${r.base}${path}`,
    method,
    connections,
    duration,
    pipelining: 1,
    timeout: 10,
    ...(headers ? { headers } : {}),
    setupClient: setupClient?.(connections) ?? (() => {}),
  });
  instance.on('response', (_client, status, _bytes, ms) => {
    if (keep && String(status) === String(expect)) r.latencies.push(ms);
  });
  const result = await instance;
  await r.spec.afterSlice?.();
  return result;
}

/** The `q` quantile (nearest rank) of sorted `xs`. */
const quantile = (xs, q) => xs[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)];

/** All slices of a row together; p50, p99 and min over every expected response of the row. */
function summarise(r) {
  const expect = String(r.spec.expect ?? 200);
  const out = {
    name: r.name,
    connections: r.spec.connections ?? CONNECTIONS,
    durationSeconds: 0,
    requests: 0,
    ok: 0,
    errors: 0,
    socketErrors: 0,
    timeouts: 0,
    statusCodes: {},
    sliceRps: [],
  };
  for (const result of r.slices) {
    const ok = result.statusCodeStats?.[expect]?.count ?? 0;
    let responses = 0;
    for (const [code, { count }] of Object.entries(result.statusCodeStats ?? {})) {
      out.statusCodes[code] = (out.statusCodes[code] ?? 0) + count;
      responses += count;
    }
    out.durationSeconds += result.duration;
    out.requests += responses;
    out.ok += ok;
    out.errors += responses - ok + result.errors;
    out.socketErrors += result.errors;
    out.timeouts += result.timeouts;
    out.sliceRps.push(ok / result.duration);
  }
  const sorted = r.latencies.sort((a, b) => a - b);
  out.rps = out.ok / out.durationSeconds;
  out.p50Ms = sorted.length ? quantile(sorted, 0.5) : null;
  out.p99Ms = sorted.length ? quantile(sorted, 0.99) : null;
  out.minMs = sorted.length ? sorted[0] : null;
  log(
    `${r.name} c=${out.connections}: ${out.rps.toFixed(0)} req/s` +
      ` (slices ${out.sliceRps.map((x) => x.toFixed(0)).join(', ')}), p50 ${out.p50Ms?.toFixed(1)} ms,` +
      ` errors ${out.errors}`,
  );
  return out;
}
