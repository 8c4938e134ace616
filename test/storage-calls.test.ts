// Storage calls per route (issue 10): how many D1 round trips and KV operations each request of
// the benchmarked routes makes, counted by Proxies around the real bindings. Locally one D1 round
// trip costs about as much as a bare request and one KV read about a quarter of one, so a new
// call on a hot path is a regression these exact counts catch before a benchmark does.
import { env } from 'cloudflare:workers';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import type { AppEnv } from '../src/env';
import { requireAuth } from '../src/middleware/bearer';
import { requestContext } from '../src/middleware/context';
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import worker from '../src/index';
import { forgetStoredKeys } from '../src/keys/ring';
import { bearer, call, countingKv, json, register, signedIn, uniqueEmail } from './helpers';
import { Browser } from './pages/browser';

type Usage = {
  /** One per `first`/`all`/`run`/`raw`/`exec` call and one per `batch`, whatever its size. */
  d1RoundTrips: number;
  /** Round trips whose statements all only read (SELECT). */
  d1Reads: number;
  /** Round trips with at least one INSERT, UPDATE, DELETE or other write. */
  d1Writes: number;
  /** `get` (a bulk get of several keys is one operation), `getWithMetadata`, `list`. */
  kvReads: number;
  /** `put`, `delete`. */
  kvWrites: number;
};

const READ_ONLY = /^\s*select\b/i;
const STATEMENT_RUNS = new Set(['first', 'all', 'run', 'raw']);
/** Real D1 and KV bindings that count what goes through them; statements are unwrapped for batch. */
function countingBindings() {
  const usage: Usage = { d1RoundTrips: 0, d1Reads: 0, d1Writes: 0, kvReads: 0, kvWrites: 0 };
  const sqlLog: string[][] = [];
  const originals = new WeakMap<object, D1PreparedStatement>();
  const sqlOf = new WeakMap<object, string>();

  const roundTrip = (sql: string[]) => {
    usage.d1RoundTrips++;
    if (sql.every((s) => READ_ONLY.test(s))) usage.d1Reads++;
    else usage.d1Writes++;
    sqlLog.push(sql);
  };

  const forward = (target: object, prop: string | symbol) => {
    const value = Reflect.get(target, prop, target);
    return typeof value === 'function' ? value.bind(target) : value;
  };

  const statement = (real: D1PreparedStatement, sql: string): D1PreparedStatement => {
    const proxy = new Proxy(real, {
      get(target, prop) {
        if (prop === 'bind') {
          return (...values: unknown[]) => statement(target.bind(...values), sql);
        }
        if (typeof prop === 'string' && STATEMENT_RUNS.has(prop)) {
          return (...args: unknown[]) => {
            roundTrip([sql]);
            return (target[prop as 'all'] as (...a: unknown[]) => unknown)(...args);
          };
        }
        return forward(target, prop);
      },
    });
    originals.set(proxy, real);
    sqlOf.set(proxy, sql);
    return proxy;
  };

  const counted = <T extends D1Database | D1DatabaseSession>(db: T): T =>
    new Proxy(db, {
      get(target, prop) {
        if (prop === 'prepare') return (sql: string) => statement(target.prepare(sql), sql);
        if (prop === 'batch') {
          return (statements: D1PreparedStatement[]) => {
            roundTrip(statements.map((s) => sqlOf.get(s) ?? '?'));
            return target.batch(statements.map((s) => originals.get(s) ?? s));
          };
        }
        // Read replication (src/replicas): a session's calls count like the binding's; which
        // go to the primary is pinned in test/replicas/.
        if (prop === 'withSession' && 'withSession' in target) {
          return (constraint?: string) => counted(target.withSession(constraint));
        }
        return forward(target, prop);
      },
    });

  const DB = new Proxy(env.DB, {
    get(target, prop) {
      if (prop === 'prepare' || prop === 'batch' || prop === 'withSession') {
        return Reflect.get(counted(target), prop);
      }
      if (prop === 'exec') {
        return (sql: string) => {
          roundTrip([sql]);
          return target.exec(sql);
        };
      }
      if (prop === 'dump') {
        throw new Error(`storage-calls: D1 ${String(prop)} is not counted yet; teach this test`);
      }
      return forward(target, prop);
    },
  });
  // The second session shard (docs/sharding.md): src/shards finds it on the module's env.
  const SESSIONS_1 = counted(env.SESSIONS_1);
  const { kv: KV } = countingKv(usage);
  return { bindings: { DB, KV }, usage, sqlLog, SESSIONS_1 };
}

/**
 * One request through the worker with counting bindings; deferred work (waitUntil) included.
 * The isolate's signing-key ring is read first (uncounted): it costs one D1 read per isolate per
 * ring TTL (30 s), pinned apart below, not one per request.
 */
async function measure(path: string, init: RequestInit = {}) {
  await call('/.well-known/jwks.json');
  const { bindings, usage, sqlLog, SESSIONS_1 } = countingBindings();
  const shard = env.SESSIONS_1;
  Object.assign(env, { SESSIONS_1 });
  try {
    const res = await call(path, init, bindings);
    await res.arrayBuffer();
    return { status: res.status, usage, sqlLog };
  } finally {
    Object.assign(env, { SESSIONS_1: shard });
  }
}

/** A signed-in user whose sessions live on shard `n` (docs/sharding.md). */
async function signedInOnShard(n: number) {
  const { email, password, user } = await register(uniqueEmail('shard'));
  await env.DB.prepare('UPDATE users SET session_shard = ? WHERE id = ?').bind(n, user.id).run();
  const res = await call('/auth/login', json({ email, password }));
  const tokens = (await res.json()) as { refresh_token: string; session_id: string };
  return { email, password, tokens };
}

const none: Usage = { d1RoundTrips: 0, d1Reads: 0, d1Writes: 0, kvReads: 0, kvWrites: 0 };

/**
 * The rate limiter's KV traffic depends on the clock: it reads and writes a client's counter at
 * most once a second per isolate (test/abuse/rate-limit.test.ts pins that), and the tests share
 * one client address. So routes behind a limit are checked with at most one of each.
 */
function withoutRateLimit(usage: Usage) {
  expect(usage.kvReads).toBeLessThanOrEqual(1);
  expect(usage.kvWrites).toBeLessThanOrEqual(1);
  return { ...usage, kvReads: 0, kvWrites: 0 };
}

describe('storage calls per route', () => {
  it('GET /health/live touches no storage', async () => {
    const { status, usage } = await measure('/health/live');
    expect(status).toBe(200);
    expect(usage).toEqual(none);
  });

  it('GET /health/ready: one D1 read and one KV read (the baseline of the throughput targets)', async () => {
    const { status, usage } = await measure('/health/ready');
    expect(status).toBe(200);
    expect(usage).toEqual({ ...none, d1RoundTrips: 1, d1Reads: 1, kvReads: 1 });
  });

  it('GET /.well-known/jwks.json, 200 and 304, and the discovery document touch no storage', async () => {
    const full = await measure('/.well-known/jwks.json');
    expect(full.status).toBe(200);
    expect(full.usage).toEqual(none);
    const etag = (await call('/.well-known/jwks.json')).headers.get('ETag')!;
    const cached = await measure('/.well-known/jwks.json', { headers: { 'If-None-Match': etag } });
    expect(cached.status).toBe(304);
    expect(cached.usage).toEqual(none);
    const discovery = await measure('/.well-known/openid-configuration');
    expect(discovery.usage).toEqual(none);
  });

  it('a cold isolate reads its signing-key ring from D1 once, then not again within the TTL', async () => {
    forgetStoredKeys();
    const cold = countingBindings();
    expect((await call('/.well-known/jwks.json', {}, cold.bindings)).status).toBe(200);
    expect(cold.usage).toEqual({ ...none, d1RoundTrips: 1, d1Reads: 1 });
    const warm = countingBindings();
    expect((await call('/.well-known/jwks.json', {}, warm.bindings)).status).toBe(200);
    expect(warm.usage).toEqual(none);
  });

  it('the bearer check alone (signature, claims, revocation) is one KV read and no D1 call', async () => {
    const { tokens } = await signedIn();
    const app = new Hono<AppEnv>()
      .use(requestContext)
      .get('/probe', requireAuth, (c) => c.text(c.var.auth.sub));
    const { bindings, usage } = countingBindings();
    const res = await app.request('/probe', bearer(tokens.access_token), { ...env, ...bindings });
    expect(res.status).toBe(200);
    expect(usage).toEqual({ ...none, kvReads: 1 });
  });

  it('GET /users/me, warm profile cache: no D1 call, one KV read (revocation and profile)', async () => {
    const { tokens } = await signedIn();
    await call('/users/me', bearer(tokens.access_token));
    const { status, usage } = await measure('/users/me', bearer(tokens.access_token));
    expect(status).toBe(200);
    expect(usage).toEqual({ ...none, kvReads: 1 });
  });

  it('GET /users/me, profile not cached: one D1 read, one KV read, one KV write (the fill)', async () => {
    const { tokens } = await signedIn();
    const { status, usage } = await measure('/users/me', bearer(tokens.access_token));
    expect(status).toBe(200);
    expect(usage).toEqual({ ...none, d1RoundTrips: 1, d1Reads: 1, kvReads: 1, kvWrites: 1 });
  });

  it('POST /auth/refresh on shard 1: the batch of the shard and the read of the user, in parallel', async () => {
    const { tokens } = await signedInOnShard(1);
    expect(tokens.session_id.startsWith('1.')).toBe(true);
    const { status, usage, sqlLog } = await measure(
      '/auth/refresh',
      json({ refresh_token: tokens.refresh_token }),
    );
    expect(status).toBe(200);
    // Two calls, one round trip of waiting: both start before either is awaited (rotation.ts).
    expect(sqlLog).toHaveLength(2);
    expect(sqlLog.find((s) => s.length > 1)).toHaveLength(4);
    expect(withoutRateLimit(usage)).toEqual({ ...none, d1RoundTrips: 2, d1Reads: 1, d1Writes: 1 });
  });

  it('POST /auth/login on shard 1: the two batches of the main database and the insert in the shard', async () => {
    const { email, password } = await signedInOnShard(1);
    const { status, usage, sqlLog } = await measure('/auth/login', json({ email, password }));
    expect(status).toBe(200);
    // The shard's insert runs beside the second batch (store.ts, openSession).
    expect(sqlLog).toHaveLength(3);
    expect(withoutRateLimit(usage)).toEqual({ ...none, d1RoundTrips: 3, d1Writes: 3 });
  });

  it('POST /auth/refresh: one D1 batch of four statements; KV only for the rate limit', async () => {
    const { tokens } = await signedInOnShard(0);
    const { status, usage, sqlLog } = await measure(
      '/auth/refresh',
      json({ refresh_token: tokens.refresh_token }),
    );
    expect(status).toBe(200);
    expect(sqlLog).toHaveLength(1);
    expect(sqlLog[0]).toHaveLength(4);
    expect(withoutRateLimit(usage)).toEqual({ ...none, d1RoundTrips: 1, d1Writes: 1 });
  });

  it('POST /auth/login: two D1 batches (claim the attempt, open the session) and the rate limit', async () => {
    const { email, password } = await signedInOnShard(0);
    const { status, usage } = await measure('/auth/login', json({ email, password }));
    expect(status).toBe(200);
    expect(withoutRateLimit(usage)).toEqual({ ...none, d1RoundTrips: 2, d1Writes: 2 });
  });

  it('a wrong password is as costly in storage as a right one: two D1 batches', async () => {
    const { email } = await signedIn();
    const { status, usage } = await measure(
      '/auth/login',
      json({ email, password: 'not the right passphrase' }),
    );
    expect(status).toBe(401);
    expect(withoutRateLimit(usage)).toEqual({ ...none, d1RoundTrips: 2, d1Writes: 2 });
  });

  it('GET /sign-in touches no storage when nobody is signed in (the form token is an HMAC)', async () => {
    const { status, usage } = await measure('/sign-in');
    expect(status).toBe(200);
    expect(usage).toEqual(none);
  });

  it('POST /sign-in: the two D1 batches of POST /auth/login and the rate limit', async () => {
    const { email, password } = await signedInOnShard(0);
    const b = new Browser();
    await b.get('/sign-in');
    const { bindings, usage } = countingBindings();
    const res = await b.post('/sign-in', { email, password }, { overrides: bindings });
    expect(res.status).toBe(303);
    expect(withoutRateLimit(usage)).toEqual({ ...none, d1RoundTrips: 2, d1Writes: 2 });
  });

  it.each(['/auth/email/resend', '/auth/password/forgot'])(
    '%s answers after the same storage calls for every address (C3, C4)',
    async (path) => {
      const unverified = await register();
      const verified = await register();
      await env.DB.prepare('UPDATE users SET email_verified_at = 1 WHERE id = ?')
        .bind(verified.user.id)
        .run();
      const before: Usage[] = [];
      for (const email of [uniqueEmail('nobody'), unverified.email, verified.email]) {
        const { bindings, usage } = countingBindings();
        const ctx = createExecutionContext();
        const request = new Request(`https://auth.test${path}`, json({ email }));
        const res = await worker.fetch(request, { ...env, ...bindings } as Env, ctx);
        // What the response waited for, before anything deferred runs.
        before.push(withoutRateLimit({ ...usage }));
        expect(res.status).toBe(202);
        await waitOnExecutionContext(ctx);
      }
      // Unknown, unverified and verified: the response waited for exactly the same calls (the
      // lookup that starts the deferred work is already in flight, for every address alike).
      expect(before[1]).toEqual(before[0]);
      expect(before[2]).toEqual(before[0]);
      expect(before[0]!.d1Writes + before[0]!.kvWrites).toBe(0);
    },
  );
});
