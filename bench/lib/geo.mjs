// `npm run bench -- --geo` (and `--capacity`): the latency model of bench/README.md, "Geo". The
// real worker (bench/geo/worker.ts wraps its bindings, bench/geo/model.ts delays and counts each
// call) is served like the main rows' worker; one client far from the primary walks the routes
// one request at a time, sending back the bookmark it last got (src/replicas) as our client
// would. Per route: the storage calls it waited for, and its median wall time over GEO_REPS.
// `--capacity` adds D1's local write rate (an upper bound for docs/capacity.md).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { log } from './log.mjs';
import { median } from './median.mjs';
import { runWrangler, waitReady, freePort } from './processes.mjs';
import { PASSWORD } from './settings.mjs';
import { geoTargets } from './targets.mjs';
import { serveDirect, writeEnvFile } from './workers.mjs';
import { TREE, snapshot, tmp } from './workspace.mjs';

const REPS = Number(process.env.GEO_REPS ?? 5);
const GEO_CONFIG = 'wrangler.geo.toml';

/** The worker's own wrangler.toml with bench/geo/worker.ts as its entry (same bindings, flags). */
function geoConfig() {
  const text = readFileSync(join(TREE, 'wrangler.toml'), 'utf8');
  if (!/^main = "src\/index.ts"$/m.test(text)) throw new Error('wrangler.toml: main moved');
  writeFileSync(
    join(TREE, GEO_CONFIG),
    text.replace(/^main = "src\/index.ts"$/m, 'main = "bench/geo/worker.ts"'),
  );
}

async function start() {
  snapshot(TREE);
  geoConfig();
  const envFile = await writeEnvFile();
  const state = join(tmp, 'state');
  runWrangler(['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', state], 'migrations');
  // The second session shard (docs/sharding.md): a shard-1 user's sessions live there.
  runWrangler(
    ['d1', 'migrations', 'apply', 'SESSIONS_1', '--local', '--persist-to', state],
    'migrations (session shard 1)',
  );
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = await serveDirect('geo', {
    tree: TREE,
    config: GEO_CONFIG,
    envFile,
    persist: state,
    port,
    vars: {
      ISSUER: base,
      RATE_LIMIT_LOGIN: '999999/60',
      RATE_LIMIT_REGISTER: '999999/60',
      RATE_LIMIT_REFRESH: '999999/60',
    },
  });
  await waitReady(child, `${base}/health/live`);
  return base;
}

/** A client far from the primary: keeps the bookmark and the cookies it is given. */
function client(base) {
  let bookmark = null;
  const cookies = new Map();
  return {
    cookies,
    async send(path, init = {}) {
      const headers = new Headers(init.headers);
      if (bookmark) headers.set('X-D1-Bookmark', bookmark);
      if (cookies.size) headers.set('Cookie', [...cookies].map(([k, v]) => `${k}=${v}`).join('; '));
      const started = performance.now();
      const res = await fetch(`${base}${path}`, { ...init, headers, redirect: 'manual' });
      const text = await res.text();
      const ms = performance.now() - started;
      bookmark = res.headers.get('X-D1-Bookmark') ?? bookmark;
      for (const c of res.headers.getSetCookie()) {
        const [pair] = c.split(';');
        const [name, ...value] = pair.split('=');
        if (/max-age=0/i.test(c)) cookies.delete(name);
        else cookies.set(name, value.join('='));
      }
      const usage = JSON.parse(res.headers.get('X-Geo-Usage') ?? 'null');
      return { status: res.status, text, ms, usage };
    },
  };
}

const jsonPost = (body, extra = {}) => ({
  method: 'POST',
  headers: { 'Content-Type': 'application/json', ...extra },
  body: JSON.stringify(body),
});

/** Each route REPS times; its counts (the same every time) and median wall time. */
async function walk(base) {
  const runId = Date.now().toString(36);
  const email = `geo.${runId}@example.com`;
  const c = client(base);
  const reg = await c.send('/auth/register', jsonPost({ email, password: PASSWORD }));
  if (reg.status !== 201) throw new Error(`register: ${reg.status} ${reg.text}`);
  await fetch(`${base}/__geo/admin`, jsonPost({ email }));
  let tokens = JSON.parse(
    (await c.send('/auth/login', jsonPost({ email, password: PASSWORD }))).text,
  );
  const auth = () => ({ headers: { Authorization: `Bearer ${tokens.access_token}` } });

  const routes = [
    { name: 'GET /.well-known/jwks.json', run: () => c.send('/.well-known/jwks.json') },
    { name: 'GET /health/live', run: () => c.send('/health/live') },
    { name: 'GET /users/me', run: () => c.send('/users/me', auth()) },
    {
      name: 'POST /auth/refresh',
      run: async () => {
        const r = await c.send('/auth/refresh', jsonPost({ refresh_token: tokens.refresh_token }));
        if (r.status === 200) tokens = JSON.parse(r.text);
        return r;
      },
    },
    {
      name: 'POST /auth/login',
      run: async () => {
        const r = await c.send('/auth/login', jsonPost({ email, password: PASSWORD }));
        if (r.status === 200) tokens = JSON.parse(r.text);
        return r;
      },
    },
    {
      name: 'GET /sign-in (signed out)',
      run: async () => {
        const saved = new Map(c.cookies);
        c.cookies.clear();
        const r = await c.send('/sign-in');
        for (const [k, v] of saved) c.cookies.set(k, v);
        return r;
      },
    },
    {
      // The browser holds the refresh cookie login set, and the bookmark cookie of its sign-in.
      name: 'GET /account (signed in)',
      run: () => c.send('/account'),
    },
    { name: 'GET /users/me/sessions', run: () => c.send('/users/me/sessions', auth()) },
    { name: 'GET /admin/users', run: () => c.send('/admin/users', auth()) },
    {
      name: 'PATCH /users/me',
      run: () =>
        c.send('/users/me', {
          method: 'PATCH',
          headers: { ...auth().headers, 'Content-Type': 'application/json' },
          body: JSON.stringify({ name: `Geo ${Date.now()}` }),
        }),
    },
    {
      // A browser that loaded the sign-in page (its form-token cookie) and posts the form.
      name: 'POST /sign-in (form)',
      run: async () => {
        const browser = client(base);
        const page = await browser.send('/sign-in');
        const token = /name="_csrf" value="([^"]*)"/.exec(page.text)?.[1] ?? '';
        return browser.send('/sign-in', {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: base },
          body: new URLSearchParams({ _csrf: token, email, password: PASSWORD }),
        });
      },
    },
  ];
  const rows = [];
  for (const route of routes) {
    const times = [];
    let last;
    for (let i = 0; i < REPS; i++) {
      last = await route.run();
      if (last.status >= 400) throw new Error(`${route.name}: ${last.status} ${last.text}`);
      times.push(last.ms);
    }
    rows.push({ name: route.name, status: last.status, ...last.usage, ms: median(times) });
    log(`geo ${route.name}: ${median(times).toFixed(0)} ms`);
  }
  return rows;
}

function geoTable(rows) {
  const head = [
    'route',
    'primary seq',
    'replica seq',
    'KV seq',
    'KV reads (cold)',
    'KV writes',
    'D1 writes (stmts)',
    'modelled ms',
  ];
  const body = rows.map((r) => [
    r.name,
    r.primarySequential,
    r.replicaSequential,
    r.kvSequential,
    `${r.kvReads} (${r.kvColdReads})`,
    r.kvWrites,
    `${r.d1Writes} (${r.d1WriteStatements})`,
    r.ms.toFixed(0),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => String(b[i]).length)));
  const line = (cells) =>
    `| ${cells.map((x, i) => (i === 0 ? String(x).padEnd(widths[i]) : String(x).padStart(widths[i]))).join(' | ')} |`;
  return [
    line(head),
    `|${widths.map((w, i) => `-${'-'.repeat(w)}${i === 0 ? '-' : ':'}`).join('|')}|`,
    ...body.map(line),
  ].join('\n');
}

async function timeBatches(base, n, size) {
  const started = performance.now();
  const res = await fetch(`${base}/__geo/write-batch?n=${n}&size=${size}`);
  const text = await res.text();
  if (!res.ok) throw new Error(`write-batch: ${res.status} ${text}`);
  return performance.now() - started;
}

/**
 * D1's local write rate: batches of `size` write statements, one after another (D1 has one
 * writer), per second; the slope between n = 20 and n = 220 cancels the HTTP overhead. Local
 * SQLite without a network or replication: an upper bound for one production database.
 */
async function capacity(base) {
  const out = [];
  for (const size of [1, 4]) {
    const [lo, hi] = [20, 220];
    await timeBatches(base, lo, size);
    const low = [];
    const high = [];
    for (let i = 0; i < 5; i++) {
      low.push(await timeBatches(base, lo, size));
      high.push(await timeBatches(base, hi, size));
    }
    const msPerBatch = (median(high) - median(low)) / (hi - lo);
    out.push({ size, msPerBatch, batchesPerSecond: 1000 / msPerBatch });
    log(`capacity: ${size}-statement write batches: ${(1000 / msPerBatch).toFixed(0)}/s`);
  }
  return out;
}

export async function geo({ withCapacity }) {
  const base = await start();
  const rows = await walk(base);
  const cap = withCapacity ? await capacity(base) : [];
  return { rows, capacity: cap, table: geoTable(rows), targets: geoTargets(rows) };
}
