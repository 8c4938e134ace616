#!/usr/bin/env node
// `npm run bench`: load-tests the worker on `wrangler dev` (workerd through miniflare, local D1
// and KV, exactly what `npm run dev` serves) from this separate Node process with autocannon on
// 127.0.0.1, and prints one table plus bench/results.json. Every figure is also given as a ratio
// to a baseline measured in the same run: the machine is shared and noisy, absolute numbers are not.
// bench/README.md explains the rows, the targets and the findings.
//
// What it runs, in order (all state under a fresh /tmp directory, removed at the end), each
// wrangler command in a snapshot of the tree copied there (wrangler dev restarts the worker on
// any file change, and the tree may be edited while the benchmark runs):
//   1. wrangler deploy --dry-run --env production --outdir <tmp>/bundle
//   2. wrangler check startup --outfile <tmp>/startup-N.cpuprofile, 3 times
//   3. wrangler d1 migrations apply DB --local --persist-to <tmp>/state
//   4. wrangler dev --log-level=warn --ip 127.0.0.1 --persist-to <tmp>/state --env-file <tmp>/bench.env
//      --var ISSUER:... --var RATE_LIMIT_*:999999/60   (the worker, fresh keys and state)
//      the same with --var LOG_LEVEL:warn on its own state (one row: the access log's cost)
//      wrangler dev -c bench/micro/wrangler.toml (the in-worker limits: PBKDF2, RS256, D1, KV)
//   5. registers users and opens sessions, then measures every row with autocannon, bounded in
//      time: BENCH_ROUNDS interleaved slices of BENCH_DURATION / BENCH_ROUNDS seconds per row.
// Every process it starts runs in its own process group and is stopped by that id, also on failure.
//
// Environment: BENCH_DURATION (seconds per row, default 10), BENCH_ROUNDS (default 2),
// BENCH_CONNECTIONS (default 10), BENCH_LOG_LEVEL (the worker's LOG_LEVEL; default its own,
// info), BENCH_STRICT=1 (exit 1 when a target is missed).
import autocannon from 'autocannon';
import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  cpSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { generateSecret, generateSigningKey, offlineEnv } from '../scripts/lib/keys.mjs';

const ROOT = new URL('..', import.meta.url).pathname;
const WRANGLER = join(ROOT, 'node_modules/wrangler/bin/wrangler.js');
const RESULTS = join(ROOT, 'bench/results.json');
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const WARMUP = 1;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const LOGIN_CONNECTIONS = [1, 8];
const USERS = 8;
const CHAINS = 40;
const PASSWORD = 'bench passphrase for load tests';
// The rate-limit format allows at most six digits: far above what one client IP sends here.
const GENEROUS = '999999/60';
const LIMITED = ['REGISTER', 'LOGIN', 'REFRESH', 'FORGOT_PASSWORD', 'EMAIL_RESEND', 'MFA_VERIFY'];
const MICRO_CONFIG = 'bench/micro/wrangler.toml';
// Unset: the worker's own default (wrangler.toml, `info`: one access-log line per request).
const LOG_LEVEL = process.env.BENCH_LOG_LEVEL || undefined;
const env = { ...process.env, ...offlineEnv, CI: 'true' };
const wranglerVersion = () =>
  JSON.parse(readFileSync(join(ROOT, 'node_modules/wrangler/package.json'), 'utf8')).version;

const tmp = mkdtempSync(join(tmpdir(), 'edge-auth-bench-'));
// wrangler dev rebuilds and restarts the worker on every change under the project, and this
// tree is edited while benchmarks run: every wrangler command works on a snapshot of it instead,
// each long-running one on its own copy (one stopping must not touch another's directory).
const TREE = join(tmp, 'tree');
// What wrangler's proxy answers to a non-GET request cut by such a restart.
const RESTARTED = /restarted mid-request/;
let devRestartHits = 0;
const NOT_COPIED =
  /^(node_modules|\.git|\.wrangler|test-output|\.dev\.vars)(\/|$)|^bench\/results\.json$/;
const children = new Set();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const log = (msg) => process.stderr.write(`[bench] ${msg}\n`);

// ---------------------------------------------------------------- processes

function run(args, what) {
  const res = spawnSync(process.execPath, [WRANGLER, ...args], {
    cwd: TREE,
    env,
    encoding: 'utf8',
    timeout: 120_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (res.status !== 0) {
    throw new Error(`${what} failed (${res.status ?? res.signal}):\n${res.stdout}\n${res.stderr}`);
  }
  return `${res.stdout}\n${res.stderr}`;
}

/** A long-running wrangler in its own process group, output to a log file under tmp. */
function start(name, args, cwd = TREE) {
  const logFile = join(tmp, `${name}.log`);
  const out = openSync(logFile, 'w');
  const child = spawn(process.execPath, [WRANGLER, ...args], {
    cwd,
    env,
    stdio: ['ignore', out, out],
    detached: true,
  });
  closeSync(out);
  child.name = name;
  child.logFile = logFile;
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function signalGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

async function stop(child) {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    signalGroup(child, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
  // workerd is wrangler's child in the same group: make sure nothing of it is left.
  signalGroup(child, 'SIGKILL');
}

async function stopAll() {
  await Promise.all([...children].map(stop));
}

process.on('exit', () => {
  for (const child of children) signalGroup(child, 'SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    await stopAll();
    rmSync(tmp, { recursive: true, force: true });
    process.exit(130);
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitReady(child, url, timeoutMs = 120_000) {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${child.name} exited early:\n${tail(child)}`);
    }
    let res;
    try {
      res = await fetch(url);
    } catch {
      // not listening yet
    }
    if (res) {
      const text = await res.text();
      if (res.ok) return performance.now() - started;
      throw new Error(`${child.name} answered ${url} with ${res.status}: ${text}\n${tail(child)}`);
    }
    await sleep(50);
  }
  throw new Error(`${child.name} not ready after ${timeoutMs} ms:\n${tail(child)}`);
}

function tail(child, chars = 3000) {
  const text = readFileSync(child.logFile, 'utf8');
  return text.length > chars ? `...${text.slice(-chars)}` : text;
}

function snapshot(dir, from = ROOT) {
  cpSync(from, dir, {
    recursive: true,
    filter: (path) => !NOT_COPIED.test(relative(from, path)),
  });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

// ---------------------------------------------------------------- static measurements

/** `wrangler deploy --dry-run --env production --outdir`: what a deploy would upload. */
function bundleSize() {
  const outdir = join(tmp, 'bundle');
  const out = run(
    ['deploy', '--dry-run', '--env', 'production', '--outdir', outdir],
    'wrangler deploy --dry-run',
  );
  let raw = 0;
  let gzip = 0;
  for (const file of readdirSync(outdir)) {
    if (!/\.(m?js|wasm)$/.test(file)) continue;
    const bytes = readFileSync(join(outdir, file));
    raw += bytes.length;
    gzip += gzipSync(bytes).length;
  }
  const reported = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(out);
  return {
    rawKiB: raw / 1024,
    gzipKiB: gzip / 1024,
    wranglerReported: reported
      ? { rawKiB: Number(reported[1]), gzipKiB: Number(reported[2]) }
      : null,
  };
}

/**
 * `wrangler check startup` runs the built worker's top-level code in workerd under the CPU
 * profiler; Cloudflare's startup limit applies to the same phase. Reported: the profile's span
 * and the CPU samples that are not idle, median of three runs.
 */
function startupTime(runs = 3) {
  const spans = [];
  const busy = [];
  for (let i = 0; i < runs; i++) {
    const file = join(tmp, `startup-${i}.cpuprofile`);
    run(['check', 'startup', '--outfile', file], 'wrangler check startup');
    const profile = JSON.parse(readFileSync(file, 'utf8'));
    const idle = new Set(
      profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id),
    );
    let cpu = 0;
    profile.samples.forEach((id, k) => {
      if (!idle.has(id)) cpu += profile.timeDeltas[k] ?? 0;
    });
    spans.push((profile.endTime - profile.startTime) / 1000);
    busy.push(cpu / 1000);
  }
  return { profileSpanMs: median(spans), cpuMs: median(busy), runs };
}

// ---------------------------------------------------------------- HTTP helpers

/** A POST; one cut by a wrangler dev restart is sent again (it is counted). */
async function post(base, path, body, headers = {}) {
  let res;
  let text;
  for (let attempt = 1; ; attempt++) {
    res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    text = await res.text();
    if (res.status !== 503 || !RESTARTED.test(text) || attempt === 5) break;
    devRestartHits++;
    await sleep(500);
  }
  try {
    return { status: res.status, body: text ? JSON.parse(text) : null };
  } catch {
    return { status: res.status, body: text };
  }
}

/** At most `limit` tasks at a time (setup only; two cores). */
async function pool(items, limit, task) {
  const results = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await task(items[i], i);
      }
    }),
  );
  return results;
}

// ---------------------------------------------------------------- load phases

/** One bounded autocannon run; `expect` is the status every response should have. */
async function cannon(base, { path, method = 'GET', connections, duration, headers, setupClient }) {
  return autocannon({
    url: `${base}${path}`,
    method,
    connections,
    duration,
    pipelining: 1,
    timeout: 10,
    ...(headers ? { headers } : {}),
    setupClient: setupClient ?? (() => {}),
  });
}

/** A row of the table: a name, the worker it targets and its autocannon spec. */
function row(key, name, base, spec) {
  return { key, name, base, spec, slices: [] };
}

async function slice(r, duration) {
  const connections = r.spec.connections ?? CONNECTIONS;
  const setup = r.spec.setupClient ?? (() => undefined);
  const result = await cannon(r.base, {
    ...r.spec,
    connections,
    duration,
    setupClient: setup(connections),
  });
  await r.spec.afterSlice?.();
  return result;
}

/**
 * Rows are measured in turns: ROUNDS rounds of DURATION / ROUNDS seconds each (after one warm-up
 * slice per row), so a slow drift of the shared machine's load hits every row alike and the
 * ratios between rows stay fair. `beforeRound` runs before each round.
 */
async function measure(rows, { beforeRound, rounds = ROUNDS } = {}) {
  for (let round = 0; round < rounds; round++) {
    await beforeRound?.(round);
    for (const r of rows) {
      if (round === 0) await slice(r, WARMUP);
      r.slices.push(await slice(r, DURATION / rounds));
    }
  }
  return Object.fromEntries(rows.map((r) => [r.key, summarise(r)]));
}

/** All slices of a row together; p50 and p99 are the slices' percentiles weighted by count. */
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
  let p50 = 0;
  let p99 = 0;
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
    p50 += result.latency.p50 * responses;
    out.minMs = Math.min(out.minMs ?? Infinity, result.latency.min);
    p99 += result.latency.p99 * responses;
  }
  out.rps = out.ok / out.durationSeconds;
  out.p50Ms = out.requests ? p50 / out.requests : null;
  out.p99Ms = out.requests ? p99 / out.requests : null;
  log(
    `${r.name} c=${out.connections}: ${out.rps.toFixed(0)} req/s` +
      ` (slices ${out.sliceRps.map((x) => x.toFixed(0)).join(', ')}), p50 ${out.p50Ms?.toFixed(1)} ms,` +
      ` errors ${out.errors}`,
  );
  return out;
}

/** Each autocannon connection gets its own item (header or body), round-robin over `items`. */
function perClient(items, apply) {
  return () => {
    let next = 0;
    return (client) => apply(client, items[next++ % items.length]);
  };
}

/**
 * Refresh chains: each connection owns a disjoint subset of the chains and rotates them in turn,
 * sending each chain's latest refresh token and keeping the successor it gets back. A chain is
 * broken by any answer but 200.
 */
function chainClients(chains) {
  return (connections) => {
    let index = 0;
    return (client) => {
      const mine = chains.filter((_, i) => i % connections === index % connections);
      index++;
      let turn = 0;
      let current = null;
      client.setRequests([
        {
          method: 'POST',
          path: '/auth/refresh',
          headers: { 'content-type': 'application/json' },
          setupRequest(req) {
            const live = mine.filter((c) => !c.broken && !c.inFlight);
            current = live.length ? live[turn++ % live.length] : mine[0];
            current.inFlight = true;
            return { ...req, body: JSON.stringify({ refresh_token: current.token }) };
          },
          onResponse(status, body) {
            const chain = current;
            current = null;
            if (!chain) return;
            chain.inFlight = false;
            if (status === 200) {
              chain.token = JSON.parse(body).refresh_token;
              chain.rotations++;
            } else if (status === 503 && RESTARTED.test(body)) {
              // Not the worker's answer: the next turn presents the same token again.
              devRestartHits++;
            } else {
              chain.broken ??= { status, body: String(body).slice(0, 200) };
            }
          },
        },
      ]);
    };
  };
}

/**
 * A slice ends with requests in flight: their responses (maybe a rotation) never arrive. Like a
 * client after a lost response, present the same token again at once: within the grace window
 * it gets the same successor back, so the chain goes on. Counted, not hidden.
 */
async function recoverChains(base, chains) {
  const cut = chains.filter((c) => c.inFlight);
  await Promise.all(
    cut.map(async (chain) => {
      chain.inFlight = false;
      chain.retried++;
      const res = await post(base, '/auth/refresh', { refresh_token: chain.token });
      if (res.status === 200) chain.token = res.body.refresh_token;
      else chain.broken ??= { status: res.status, body: JSON.stringify(res.body).slice(0, 200) };
    }),
  );
}

// ---------------------------------------------------------------- micro benchmarks

async function timeGet(url) {
  const started = performance.now();
  const res = await fetch(url);
  const text = await res.text();
  if (!res.ok) throw new Error(`${url}: ${res.status} ${text}`);
  return performance.now() - started;
}

/** Per-operation time from the slope between n = lo and n = hi, medians of `reps` each. */
async function perOperation(base, op, lo, hi, reps = 5) {
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

// ---------------------------------------------------------------- table

const fmt = (x, digits = 0) => (x === null || x === undefined ? '–' : x.toFixed(digits));
const ratio = (x) => (x === null || x === undefined ? '–' : `${x.toFixed(2)}×`);

function table(rows) {
  const head = [
    'benchmark',
    'c',
    'req/s',
    'p50 ms',
    'p99 ms',
    'errors',
    '× live',
    '× ready',
    'vs limit',
  ];
  const body = rows.map((r) => [
    r.name,
    r.connections ?? '–',
    fmt(r.rps),
    fmt(r.p50Ms, r.p50Ms < 10 ? 2 : 1),
    fmt(r.p99Ms, r.p99Ms < 10 ? 2 : 1),
    r.errors ?? '–',
    ratio(r.vsLive),
    ratio(r.vsReady),
    r.vsLimit ?? '–',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => String(b[i]).length)));
  const line = (cells) =>
    `| ${cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join(' | ')} |`;
  return [
    line(head),
    `|${widths.map((w, i) => (i === 0 ? `-${'-'.repeat(w)}-` : `-${'-'.repeat(w)}:`)).join('|')}|`,
    ...body.map(line),
  ].join('\n');
}

// ---------------------------------------------------------------- main

async function main() {
  const wallStarted = performance.now();
  log(`state and logs in ${tmp}`);
  snapshot(TREE);
  log(`measuring a snapshot of the tree taken ${new Date().toISOString()}`);

  const key = await generateSigningKey();
  const envFile = join(tmp, 'bench.env');
  writeFileSync(
    envFile,
    [
      'ENVIRONMENT=development',
      'MAIL_TRANSPORT=dev-mailbox',
      `JWT_SIGNING_KEYS='${JSON.stringify({ keys: [key] })}'`,
      `PASSWORD_PEPPER='${generateSecret()}'`,
      `TOTP_ENCRYPTION_KEY='1:${generateSecret()}'`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );

  log('bundle: wrangler deploy --dry-run --env production --outdir');
  const bundle = bundleSize();
  log('startup: wrangler check startup (3 runs)');
  const startup = startupTime();

  const state = join(tmp, 'state');
  log('migrations: wrangler d1 migrations apply DB --local');
  run(['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', state], 'migrations');

  const ports = await Promise.all(Array.from({ length: 6 }, freePort));
  const base = `http://127.0.0.1:${ports[0]}`;
  const quietBase = `http://127.0.0.1:${ports[2]}`;
  const microBase = `http://127.0.0.1:${ports[4]}`;
  const dev = (port, inspector, persist, ...more) => [
    'dev',
    ...more,
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--inspector-ip',
    '127.0.0.1',
    '--inspector-port',
    String(inspector),
    '--log-level=warn',
    '--show-interactive-dev-session=false',
    '--persist-to',
    persist,
    '--env-file',
    envFile,
  ];
  const workerVars = (origin) => [
    '--var',
    `ISSUER:${origin}`,
    ...(LOG_LEVEL ? ['--var', `LOG_LEVEL:${LOG_LEVEL}`] : []),
    ...LIMITED.flatMap((name) => ['--var', `RATE_LIMIT_${name}:${GENEROUS}`]),
  ];
  const shown = (args) => `wrangler ${args.join(' ').replaceAll(tmp, '<tmp>')}`;

  const workerArgs = [...dev(ports[0], ports[1], state), ...workerVars(base)];
  log(`worker: ${shown(workerArgs)}`);
  const worker = start('worker', workerArgs);
  const readyMs = await waitReady(worker, `${base}/health/live`);
  log(`worker answered its first request ${readyMs.toFixed(0)} ms after spawn`);
  // The same worker without its per-request access log (LOG_LEVEL=warn), for one row.
  const quietArgs = [
    ...dev(ports[2], ports[3], join(tmp, 'state-quiet')),
    ...workerVars(quietBase),
    '--var',
    'LOG_LEVEL:warn',
  ];
  const microArgs = dev(ports[4], ports[5], join(tmp, 'micro-state'), '-c', MICRO_CONFIG);
  log(`micro: ${shown(microArgs)}`);
  const quiet = start('worker-quiet', quietArgs, snapshot(join(tmp, 'tree-quiet'), TREE));
  const micro = start('micro', microArgs, snapshot(join(tmp, 'tree-micro'), TREE));
  await Promise.all([
    waitReady(quiet, `${quietBase}/health/live`),
    waitReady(micro, `${microBase}/noop`),
  ]);
  const envStable = await (async () => {
    await timeGet(`${microBase}/env`);
    const res = await fetch(`${microBase}/env`);
    return (await res.json()).sameEnvAsPreviousRequest;
  })();

  // Users and sessions.
  const runId = Date.now().toString(36);
  const users = Array.from({ length: USERS }, (_, i) => `bench.${runId}.${i}@example.com`);
  await pool(users, 2, async (email) => {
    const res = await post(base, '/auth/register', { email, password: PASSWORD, name: 'Bench' });
    if (res.status !== 201) throw new Error(`register: ${res.status} ${JSON.stringify(res.body)}`);
  });
  const sessions = await pool(Array.from({ length: CHAINS }), 2, async (_, i) => {
    const res = await post(base, '/auth/login', { email: users[i % USERS], password: PASSWORD });
    if (res.status !== 200) throw new Error(`login: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  });
  log(`prepared ${USERS} users and ${CHAINS} sessions`);

  const jwks = await fetch(`${base}/.well-known/jwks.json`);
  const etag = jwks.headers.get('etag');
  await jwks.arrayBuffer();

  const chains = sessions.map((s, i) => ({
    id: i,
    token: s.refresh_token,
    rotations: 0,
    retried: 0,
    inFlight: false,
    broken: null,
  }));
  const refreshSpec = (connections) => ({
    path: '/auth/refresh',
    method: 'POST',
    connections,
    setupClient: chainClients(chains),
    afterSlice: () => recoverChains(base, chains),
  });
  const bearerFor = perClient(
    sessions.map((s) => s.access_token),
    (client, token) => client.setHeaders({ authorization: `Bearer ${token}` }),
  );
  const rows = await measure([
    row('live', 'GET /health/live', base, { path: '/health/live' }),
    row('liveQuiet', 'GET /health/live, LOG_LEVEL=warn', quietBase, { path: '/health/live' }),
    row('live1', 'GET /health/live', base, { path: '/health/live', connections: 1 }),
    row('ready', 'GET /health/ready', base, { path: '/health/ready' }),
    row('me', 'GET /users/me', base, { path: '/users/me', setupClient: bearerFor }),
    row('jwks200', 'GET /.well-known/jwks.json 200', base, { path: '/.well-known/jwks.json' }),
    row('jwks304', 'GET /.well-known/jwks.json 304', base, {
      path: '/.well-known/jwks.json',
      headers: { 'if-none-match': etag },
      expect: 304,
    }),
    row('refresh', `POST /auth/refresh, ${CHAINS} chains`, base, refreshSpec(CONNECTIONS)),
    row('refresh1', `POST /auth/refresh, ${CHAINS} chains`, base, refreshSpec(1)),
  ]);

  // Every chain must still rotate once more.
  const finalCheck = await pool(chains, 2, async (chain) => {
    if (chain.broken) return false;
    const res = await post(base, '/auth/refresh', { refresh_token: chain.token });
    if (res.status !== 200) {
      chain.broken = { status: res.status, body: JSON.stringify(res.body).slice(0, 200) };
      return false;
    }
    chain.token = res.body.refresh_token;
    return true;
  });
  const chainReport = {
    chains: CHAINS,
    broken: finalCheck.filter((ok) => !ok).length,
    rotations: chains.reduce((a, c) => a + c.rotations, 0),
    retriedAfterSliceEnd: chains.reduce((a, c) => a + c.retried, 0),
    failures: chains.filter((c) => c.broken).map((c) => ({ chain: c.id, ...c.broken })),
  };
  log(`refresh chains: ${chainReport.broken}/${CHAINS} broken, ${chainReport.rotations} rotations`);

  // The in-worker limits. PBKDF2 is measured again before each login round and after the last,
  // so the login ratio compares figures taken minutes, not seconds, apart.
  const limits = {
    sign: await perOperation(microBase, 'sign', 1, 201),
    verify: await perOperation(microBase, 'verify', 1, 3001),
    d1Read: await perOperation(microBase, 'd1-read', 1, 101),
    d1Write: await perOperation(microBase, 'd1-write', 1, 51),
    kvRead: await perOperation(microBase, 'kv-read', 1, 201),
  };
  // Per-request CPU on the hot path, each alone (results.json and bench/README.md).
  const diagnostics = {
    envObjectStableAcrossRequests: envStable,
    accessLogLine: await perOperation(microBase, 'log', 1, 1001),
    configParseOnCacheMiss: await perOperation(microBase, 'config-parse', 1, 201),
    drizzleInstance: await perOperation(microBase, 'drizzle', 1, 2001),
    keyRingLookup: await perOperation(microBase, 'keyring', 1, 5001),
    deadlineTimer: await perOperation(microBase, 'timer', 1, 5001),
  };
  const pbkdf2Runs = [];
  const loginBody = perClient(users, (client, email) =>
    client.setBody(JSON.stringify({ email, password: PASSWORD })),
  );
  const loginSpec = (connections) => ({
    path: '/auth/login',
    method: 'POST',
    connections,
    headers: { 'content-type': 'application/json' },
    setupClient: loginBody,
  });
  Object.assign(
    rows,
    await measure(
      LOGIN_CONNECTIONS.map((c) => row(`login${c}`, 'POST /auth/login', base, loginSpec(c))),
      {
        // Twice the rounds, and PBKDF2 before each: the ratio compares figures seconds apart.
        rounds: 2 * ROUNDS,
        beforeRound: async () => pbkdf2Runs.push(await perOperation(microBase, 'pbkdf2', 1, 6, 3)),
      },
    ),
  );
  pbkdf2Runs.push(await perOperation(microBase, 'pbkdf2', 1, 6, 3));
  limits.pbkdf2 = {
    ...pbkdf2Runs[0],
    ms: median(pbkdf2Runs.map((m) => m.ms)),
    minMs: Math.min(...pbkdf2Runs.map((m) => m.minMs)),
    runs: pbkdf2Runs.map((m) => m.ms),
  };
  limits.pbkdf2.opsPerSecond = 1000 / limits.pbkdf2.ms;
  await stopAll();

  // Ratios, all within this run.
  for (const row of Object.values(rows)) {
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
  // What one login at c=1 is made of, from figures of this run (bench/README.md, "Login").
  const loginParts = {
    measuredMs: rows.login1.p50Ms,
    floorMs: rows.live1.p50Ms,
    pbkdf2Ms: limits.pbkdf2.ms,
    d1WritesMs: 2 * limits.d1Write.ms,
    kvReadMs: limits.kvRead.ms,
    signMs: limits.sign.ms,
  };
  loginParts.restMs =
    loginParts.measuredMs -
    loginParts.floorMs -
    loginParts.pbkdf2Ms -
    loginParts.d1WritesMs -
    loginParts.kvReadMs -
    loginParts.signMs;
  const limitRows = [
    ['one PBKDF2 hash (in-worker)', limits.pbkdf2],
    ['one RS256 sign (in-worker)', limits.sign],
    ['one RS256 verify (in-worker)', limits.verify],
    ['one D1 read round trip (in-worker)', limits.d1Read],
    ['one D1 write batch (in-worker)', limits.d1Write],
    ['one KV read (in-worker)', limits.kvRead],
  ].map(([name, m]) => ({
    name,
    connections: 1,
    rps: m.opsPerSecond,
    p50Ms: m.ms,
    p99Ms: null,
    errors: 0,
    vsLive: null,
    vsReady: null,
    vsLimit: 'limit',
  }));

  const targets = [
    {
      target: '/users/me >= 0.8x /health/ready throughput',
      measured: `${rows.me.vsReady.toFixed(2)}x`,
      met: rows.me.vsReady >= 0.8,
    },
    {
      target: 'refresh >= 0.5x /health/ready throughput, 0 broken chains',
      measured: `${rows.refresh.vsReady.toFixed(2)}x, ${chainReport.broken}/${CHAINS} broken`,
      met: rows.refresh.vsReady >= 0.5 && chainReport.broken === 0,
    },
    {
      target: 'login c=1 p50 <= 1.2x one in-worker PBKDF2 hash',
      measured: `${rows.login1.vsLimitRatio.toFixed(2)}x`,
      met: rows.login1.vsLimitRatio <= 1.2,
    },
    {
      target: 'bundle <= 150 KiB gzip',
      measured: `${bundle.gzipKiB.toFixed(1)} KiB`,
      met: bundle.gzipKiB <= 150,
    },
  ];

  const ordered = [
    rows.live,
    rows.liveQuiet,
    rows.live1,
    rows.ready,
    rows.me,
    rows.jwks200,
    rows.jwks304,
    rows.refresh,
    rows.refresh1,
    rows.login1,
    rows.login8,
    ...limitRows,
  ];
  const us = (m) => `${(m.ms * 1000).toFixed(0)} µs`;
  const out = [
    '',
    `wrangler dev (workerd via miniflare), local D1 and KV, LOG_LEVEL=${LOG_LEVEL ?? 'info (wrangler.toml)'};` +
      ` ${cpus().length} CPUs; autocannon from this process, ${DURATION} s per row in ${ROUNDS} interleaved` +
      ` slices after ${WARMUP} s warm-up`,
    '',
    table(ordered),
    '',
    `refresh chains: ${chainReport.broken}/${CHAINS} broken after ${chainReport.rotations} rotations` +
      ` (${chainReport.retriedAfterSliceEnd} responses cut off at slice ends, retried within the grace window)`,
    `login c=1, fastest against fastest (noise-free cross-check): ${rows.login1.minMs.toFixed(1)} ms /` +
      ` ${limits.pbkdf2.minMs.toFixed(1)} ms = ${rows.login1.vsLimitFastestRatio.toFixed(2)}x one PBKDF2 hash;` +
      ` PBKDF2 per measurement: ${limits.pbkdf2.runs.map((x) => x.toFixed(1)).join(', ')} ms`,
    `login: c=1 reaches ${(rows.login1.pbkdf2Utilisation * 100).toFixed(0)}% and c=8 ${(rows.login8.pbkdf2Utilisation * 100).toFixed(0)}%` +
      ` of one isolate's PBKDF2 capacity (req/s x hash time)`,
    `bundle (wrangler deploy --dry-run --env production): ${bundle.rawKiB.toFixed(1)} KiB raw,` +
      ` ${bundle.gzipKiB.toFixed(1)} KiB gzip`,
    `startup (wrangler check startup, median of ${startup.runs}): ${startup.cpuMs.toFixed(0)} ms CPU` +
      ` in a ${startup.profileSpanMs.toFixed(0)} ms profile; wrangler dev served its first request` +
      ` ${(readyMs / 1000).toFixed(1)} s after spawn`,
    `per request, alone: access-log line ${us(diagnostics.accessLogLine)}, drizzle instance` +
      ` ${us(diagnostics.drizzleInstance)}, config parse on a cache miss ${us(diagnostics.configParseOnCacheMiss)}` +
      ` (env object stable across requests: ${envStable}), key-ring lookup ${us(diagnostics.keyRingLookup)},` +
      ` storage deadline timer ${us(diagnostics.deadlineTimer)}`,
    `login c=1 p50 ${loginParts.measuredMs.toFixed(1)} ms = request floor (GET /health/live c=1)` +
      ` ${loginParts.floorMs.toFixed(1)} + PBKDF2 ${loginParts.pbkdf2Ms.toFixed(1)} + 2 D1 write batches` +
      ` ${loginParts.d1WritesMs.toFixed(1)} + KV read ${loginParts.kvReadMs.toFixed(1)} + RS256 sign` +
      ` ${loginParts.signMs.toFixed(1)} + the rest ${loginParts.restMs.toFixed(1)} ms`,
    '',
    ...(devRestartHits
      ? [
          `WARNING: ${devRestartHits} requests were cut by wrangler dev restarting the worker (a file it` +
            ' watches changed); they count as errors above and were sent again',
        ]
      : []),
    'targets (ratios from this run):',
    ...targets.map((t) => `  ${t.met ? 'met   ' : 'MISSED'}  ${t.target}: ${t.measured}`),
    '  storage calls per route: npx vitest run test/storage-calls.test.ts',
    '',
  ].join('\n');
  process.stdout.write(out);

  writeFileSync(
    RESULTS,
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        runtime: `wrangler dev ${wranglerVersion()} (workerd via miniflare), local D1 and KV`,
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
        rows: ordered,
        limits,
        diagnostics,
        loginParts,
        refreshChains: chainReport,
        devRestartHits,
        bundle,
        startup: { ...startup, wranglerDevFirstResponseMs: readyMs },
        targets,
        wallSeconds: (performance.now() - wallStarted) / 1000,
      },
      null,
      2,
    )}\n`,
  );
  log(`wrote ${RESULTS} in ${((performance.now() - wallStarted) / 1000).toFixed(0)} s`);
  if (process.env.BENCH_STRICT === '1' && targets.some((t) => !t.met)) process.exitCode = 1;
}

try {
  await main();
  await stopAll();
  rmSync(tmp, { recursive: true, force: true });
} catch (err) {
  process.stderr.write(`[bench] failed: ${err instanceof Error ? err.stack : err}\n`);
  await stopAll();
  process.stderr.write(`[bench] logs and state kept in ${tmp}\n`);
  process.exitCode = 1;
}
