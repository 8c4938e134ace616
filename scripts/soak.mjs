#!/usr/bin/env node
// `npm run soak`: sustained load against `npm run dev` (not part of `npm test`).
// SOAK_USERS simulated users (default 30) for SOAK_SECONDS (default 90) register, log in, call
// /users/me, refresh their chains (sometimes two tabs at once), log out and back in. At the end
// every live session must still refresh and every logged-out one must not, with zero 5xx.
import { killAllNow } from '../e2e/lib/harness.mjs';
import { startAuthWorker } from '../e2e/lib/worker.mjs';

const USERS = Number(process.env.SOAK_USERS ?? 30);
const SECONDS = Number(process.env.SOAK_SECONDS ?? 90);
const PASSWORD = 'soak test passphrase';
const unlimited = '100000/60';

const stats = new Map(); // route -> { count, latencies, unexpected, fiveXX }
const problems = [];
let devServerRestarts = 0;

// wrangler dev answers this itself (text/plain) when it reloads the worker under a request: not
// the worker's answer. The request is sent again once, which every route here must tolerate
// (a refresh retry gets the same successor within the grace window; logout is idempotent).
const RESTARTED = 'Your worker restarted mid-request';

async function send(url, init) {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  if (res.status === 503 && text.startsWith(RESTARTED)) return null;
  return { res, text };
}

async function request(base, route, path, init, expected) {
  const started = performance.now();
  let status = 0;
  let body;
  try {
    let answer = await send(base + path, init);
    if (!answer) {
      devServerRestarts++;
      answer = await send(base + path, init);
    }
    if (!answer) throw new Error('wrangler dev restarted the worker twice under one request');
    const { res, text } = answer;
    status = res.status;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = `${res.headers.get('content-type')}: ${text.slice(0, 200)}`;
    }
  } catch (err) {
    body = String(err);
  }
  const s = stats.get(route) ?? { count: 0, latencies: [], unexpected: 0, fiveXX: 0 };
  s.count++;
  s.latencies.push(performance.now() - started);
  if (status >= 500 || status === 0) s.fiveXX++;
  if (!expected.includes(status)) {
    s.unexpected++;
    if (problems.length < 20)
      problems.push(`${route}: ${status} ${JSON.stringify(body).slice(0, 200)}`);
  }
  stats.set(route, s);
  return { status, body };
}

const json = (body, token) => ({
  method: 'POST',
  headers: {
    'Content-Type': 'application/json',
    ...(token ? { Authorization: `Bearer ${token}` } : {}),
  },
  body: JSON.stringify(body),
});

async function simulate(base, n, deadline) {
  const email = `soak.${Date.now()}.${n}@example.com`;
  const dead = [];
  await request(base, 'register', '/auth/register', json({ email, password: PASSWORD }), [201]);
  const signIn = async () => {
    const res = await request(
      base,
      'login',
      '/auth/login',
      json({ email, password: PASSWORD }),
      [200],
    );
    return res.status === 200 ? res.body : null;
  };
  let tokens = await signIn();
  while (Date.now() < deadline && tokens) {
    const roll = Math.random();
    if (roll < 0.55) {
      await request(
        base,
        'users/me',
        '/users/me',
        { headers: { Authorization: `Bearer ${tokens.access_token}` } },
        [200],
      );
    } else if (roll < 0.8) {
      const res = await request(
        base,
        'refresh',
        '/auth/refresh',
        json({ refresh_token: tokens.refresh_token }),
        [200],
      );
      if (res.status === 200) tokens = res.body;
    } else if (roll < 0.9) {
      // Two tabs refresh the same token at once: both must get the same successor.
      const tab = () =>
        request(
          base,
          'refresh (parallel)',
          '/auth/refresh',
          json({ refresh_token: tokens.refresh_token }),
          [200],
        );
      const [a, b] = await Promise.all([tab(), tab()]);
      if (a.status === 200 && b.status === 200 && a.body.refresh_token !== b.body.refresh_token) {
        problems.push(`two different successors for one token (user ${n})`);
      }
      if (a.status === 200) tokens = a.body;
    } else {
      await request(
        base,
        'logout',
        '/auth/logout',
        json({ refresh_token: tokens.refresh_token }, tokens.access_token),
        [204],
      );
      dead.push(tokens.refresh_token);
      tokens = await signIn();
    }
  }
  return { tokens, dead };
}

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

let worker;
const started = Date.now();
try {
  const vars = { LOG_LEVEL: 'warn' };
  for (const name of ['REGISTER', 'LOGIN', 'REFRESH']) vars[`RATE_LIMIT_${name}`] = unlimited;
  worker = await startAuthWorker({ name: 'soak', vars });
  console.log(`soak: ${USERS} users for ${SECONDS} s against ${worker.url}`);
  const deadline = Date.now() + SECONDS * 1000;
  const users = await Promise.all(
    Array.from({ length: USERS }, (_, n) => simulate(worker.url, n, deadline)),
  );

  // Every live session still refreshes; every logged-out one does not.
  let live = 0;
  let liveBroken = 0;
  let deadChecked = 0;
  let deadAlive = 0;
  for (const { tokens, dead } of users) {
    if (tokens) {
      live++;
      const res = await request(
        worker.url,
        'final: live refresh',
        '/auth/refresh',
        json({ refresh_token: tokens.refresh_token }),
        [200],
      );
      if (res.status !== 200) liveBroken++;
    }
    for (const token of dead) {
      deadChecked++;
      const res = await request(
        worker.url,
        'final: dead refresh',
        '/auth/refresh',
        json({ refresh_token: token }),
        [401],
      );
      if (res.status !== 401) deadAlive++;
    }
  }

  const all = [...stats.values()];
  const total = all.reduce((n, s) => n + s.count, 0);
  const fiveXX = all.reduce((n, s) => n + s.fiveXX, 0);
  const unexpected = all.reduce((n, s) => n + s.unexpected, 0);
  const seconds = (Date.now() - started) / 1000;
  console.log('\nroute                 requests   p50 ms   p99 ms   unexpected   5xx');
  for (const [route, s] of stats) {
    console.log(
      `${route.padEnd(21)} ${String(s.count).padStart(8)} ${percentile(s.latencies, 50).toFixed(1).padStart(8)} ${percentile(s.latencies, 99).toFixed(1).padStart(8)} ${String(s.unexpected).padStart(12)} ${String(s.fiveXX).padStart(5)}`,
    );
  }
  const everything = all.flatMap((s) => s.latencies);
  console.log(
    `\n${total} requests in ${seconds.toFixed(0)} s (${(total / seconds).toFixed(0)} req/s), p99 ${percentile(everything, 99).toFixed(1)} ms, ` +
      `${unexpected} unexpected, ${fiveXX} 5xx, ${devServerRestarts} dev-server restarts retried; live sessions ${live} (${liveBroken} broken), logged-out tokens ${deadChecked} (${deadAlive} still alive)`,
  );
  for (const p of problems) console.log(`  ! ${p}`);
  const ok =
    fiveXX === 0 &&
    unexpected === 0 &&
    liveBroken === 0 &&
    deadAlive === 0 &&
    problems.length === 0;
  console.log(ok ? 'soak: PASS' : 'soak: FAIL');
  process.exitCode = ok ? 0 : 1;
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  await worker?.stop();
  killAllNow();
}
