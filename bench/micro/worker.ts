// In-worker micro benchmarks: the limits the routes are compared to. Each request runs one
// operation `n` times in a row, with the project's own code (src/crypto), inside workerd.
// Timing is done by the client (bench/lib/micro-client.mjs): in workerd, Date.now() only
// advances after I/O, so a worker cannot time its own CPU work. The client times n = lo and
// n = hi and takes the slope, which cancels the HTTP and request overhead.
import { Hono } from 'hono';
import { loadConfig } from '../../src/config';
import { keyRing, signAccessToken, verifyAccessToken } from '../../src/crypto/jwt';
import { hashPassword, verifyPassword } from '../../src/crypto/password';
import { database } from '../../src/db/client';
import type { AppEnv } from '../../src/env';
import worker from '../../src/index';
import { logRequest } from '../../src/logger';
import { signIn } from '../../src/pages/sign-in';
import { LEGACY_HASHES } from './legacy-hashes';

const PASSWORD = 'correct horse battery staple';
const SUBJECT = {
  userId: '0190d2c4-0000-7000-8000-000000000001',
  sessionId: '0190d2c4-0000-7000-8000-000000000002',
  role: 'user' as const,
  emailVerified: true,
};
const MAX_N = 100_000;

type BenchEnv = Parameters<typeof loadConfig>[0] & { DB: D1Database; KV: KVNamespace };

// The sign-in page's routes with the one variable they read (the worker's requestContext sets it,
// and its access log is measured on its own by /log).
const signInPage = new Hono<AppEnv>()
  .use(async (c, next) => {
    c.set('config', loadConfig(c.env));
    await next();
  })
  .route('/', signIn);

// The worker's env at LOG_LEVEL=info (this one runs at warn), made once per env object so the
// config stays cached as it is in the worker.
const atInfo = new WeakMap<object, Env>();
const infoEnv = (env: BenchEnv) => {
  let out = atInfo.get(env);
  if (!out) atInfo.set(env, (out = { ...env, LOG_LEVEL: 'info' } as unknown as Env));
  return out;
};

// Is `env` the same object on every request? src/config.ts caches the parsed config per env
// object, so a new object per request would mean a full zod parse per request.
let previousEnv: BenchEnv | undefined;

export default {
  async fetch(request: Request, env: BenchEnv, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    const n = Math.max(0, Math.min(MAX_N, Number(url.searchParams.get('n') ?? '1') | 0));
    const config = loadConfig(env);
    let checksum = 0;
    switch (url.pathname) {
      case '/noop':
        break;
      // One PBKDF2 hash as login and register compute it: pepper HMAC, key import, 100,000
      // iterations of PBKDF2-HMAC-SHA-512.
      case '/pbkdf2':
        for (let i = 0; i < n; i++) {
          checksum += (await hashPassword(PASSWORD, config.PASSWORD_PEPPER)).length;
        }
        break;
      // One access token as login and refresh mint it (the key ring is imported once per isolate).
      case '/sign':
        for (let i = 0; i < n; i++) {
          checksum += (await signAccessToken(config, SUBJECT, Date.now())).length;
        }
        break;
      // One signature and claims check as the bearer middleware does it (revocation excluded).
      case '/verify': {
        const token = await signAccessToken(config, SUBJECT, Date.now());
        for (let i = 0; i < n; i++) {
          const claims = await verifyAccessToken(config, token, Date.now());
          if (!claims) return new Response('verify failed', { status: 500 });
          checksum += claims.sub.length;
        }
        break;
      }
      // One local storage round trip of each kind the routes make.
      case '/d1-read':
        for (let i = 0; i < n; i++)
          checksum += (await env.DB.prepare('SELECT 1 AS one').first<number>('one'))!;
        break;
      // A small write batch like refresh's and login's: an UPSERT and a read, one transaction.
      case '/d1-write': {
        await env.DB.exec(
          'CREATE TABLE IF NOT EXISTS bench (k TEXT PRIMARY KEY, v INTEGER NOT NULL)',
        );
        for (let i = 0; i < n; i++) {
          const [, read] = await env.DB.batch([
            env.DB.prepare(
              'INSERT INTO bench (k, v) VALUES (?1, 1) ON CONFLICT (k) DO UPDATE SET v = v + 1',
            ).bind(`k${i % 16}`),
            env.DB.prepare('SELECT v FROM bench WHERE k = ?1').bind(`k${i % 16}`),
          ]);
          checksum += read!.results.length;
        }
        break;
      }
      // The revocation lookup's shape: one bulk get of two keys.
      case '/kv-read':
        for (let i = 0; i < n; i++) checksum += (await env.KV.get(['a', 'b'])).size;
        break;
      // Diagnostics: per-request costs on the hot path, each in isolation.
      case '/env': {
        const same = previousEnv === env;
        previousEnv = env;
        return Response.json({ sameEnvAsPreviousRequest: same });
      }
      // What loadConfig costs when its cache misses (a new env object).
      case '/config-parse':
        for (let i = 0; i < n; i++) checksum += loadConfig({ ...env }).ACCESS_TOKEN_TTL;
        break;
      // The key-ring lookup every sign, verify and JWKS request makes.
      case '/keyring':
        for (let i = 0; i < n; i++) checksum += (await keyRing(config)).jwks.keys.length;
        break;
      // database() on a binding it has not seen (a new object each time): building a drizzle
      // instance with the schema, which src/db/client.ts now does once per binding and isolate.
      case '/drizzle':
        for (let i = 0; i < n; i++) checksum += database({} as D1Database) ? 1 : 0;
        break;
      // A deadline armed and cleared, as around every guarded D1 or KV call and each readiness
      // probe.
      case '/timer':
        for (let i = 0; i < n; i++) {
          const timer = setTimeout(() => undefined, 10_000);
          clearTimeout(timer);
          checksum++;
        }
        break;
      // The access-log line every request writes at LOG_LEVEL=info (this worker runs at warn, so
      // the logger is made at info here).
      case '/log':
        for (let i = 0; i < n; i++)
          logRequest('info', crypto.randomUUID(), 'GET', '/bench', 200, 0);
        break;
      // The worker's own CPU for GET /health/live at LOG_LEVEL=info, through its real fetch:
      // every middleware, the route match, the handler and the access-log line. All the bare
      // runtime row does not do (bench/README.md, "Request floor").
      case '/floor':
        for (let i = 0; i < n; i++) {
          const res = await worker.fetch(
            new Request('http://127.0.0.1/health/live'),
            infoEnv(env),
            ctx,
          );
          checksum += (await res.text()).length;
        }
        break;
      // GET /sign-in for a first visit, as its handler serves it: no session cookie (so no
      // storage call), a new form-token cookie and its HMAC, the page rendered to HTML.
      case '/sign-in-page':
        for (let i = 0; i < n; i++) {
          const res = await signInPage.request('/sign-in', {}, env as unknown as Env);
          if (res.status !== 200) return new Response(`sign-in ${res.status}`, { status: 500 });
          checksum += (await res.text()).length;
        }
        break;
      default: {
        // One first sign-in's check of an imported hash, through the same verifyPassword every
        // sign-in path calls (the rehash that follows is one /pbkdf2).
        const legacy = LEGACY_HASHES[url.pathname.slice(1) as keyof typeof LEGACY_HASHES];
        if (!legacy) return new Response('not found', { status: 404 });
        for (let i = 0; i < n; i++) {
          const check = await verifyPassword(PASSWORD, legacy.hash, config.PASSWORD_PEPPER);
          if (!check.valid) return new Response('legacy verify failed', { status: 500 });
          checksum++;
        }
      }
    }
    return Response.json({ op: url.pathname.slice(1), n, checksum });
  },
};
